//! The passkey ceremonies the broker's pages run in the browser: sign-in and enrollment from an
//! invite (each ending in the session cookie), step-up, and adding another passkey (both inside a
//! session, with its CSRF token). JSON in and out, like the API.

use super::visitor::{session_cookie, Visitor};
use crate::peer::PeerAddress;
use crate::{ApiJson, ApiResult, AppState};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use daypass_broker_core::{Finisher, Opened};
use daypass_proto::api::{CeremonyAnswer, Challenge, PasskeyView};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInStart {
    pub person: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollStart {
    pub invite: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddStart {
    pub name: String,
}

/// The session cookie for a session just opened, and where the page goes next.
fn signed_in(state: &AppState, opened: Opened) -> Response {
    let cookie = session_cookie(&opened.token, opened.session.expires_at, state.broker.now());
    (
        [(SET_COOKIE, cookie)],
        ApiJson(json!({ "person": opened.session.person, "next": "/console" })),
    )
        .into_response()
}

pub async fn sign_in_start(
    State(s): State<AppState>,
    peer: PeerAddress,
    ApiJson(body): ApiJson<SignInStart>,
) -> ApiResult<Challenge> {
    peer.admit_ceremony(&s.broker)?;
    Ok(ApiJson(s.broker.sign_in_start(body.person.trim(), None).await?))
}

pub async fn sign_in_finish(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> Result<Response, crate::ApiError> {
    let opened = s
        .broker
        .sign_in_finish(body.ceremony, &body.credential, Finisher::Browser)
        .await?;
    Ok(signed_in(&s, opened))
}

pub async fn enroll_start(
    State(s): State<AppState>,
    peer: PeerAddress,
    ApiJson(body): ApiJson<EnrollStart>,
) -> ApiResult<Challenge> {
    peer.admit_ceremony(&s.broker)?;
    let code = SecretString::from(body.invite.trim().to_string());
    Ok(ApiJson(s.broker.enroll_start(&code, None).await?))
}

pub async fn enroll_finish(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> Result<Response, crate::ApiError> {
    let opened = s
        .broker
        .enroll_finish(body.ceremony, &body.credential, Finisher::Browser)
        .await?;
    Ok(signed_in(&s, opened))
}

pub async fn step_up_start(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
) -> ApiResult<Challenge> {
    visitor.confirm_header(&headers)?;
    Ok(ApiJson(s.broker.step_up_start(&visitor.caller).await?))
}

pub async fn step_up_finish(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<serde_json::Value> {
    visitor.confirm_header(&headers)?;
    let step_up = s
        .broker
        .step_up_finish(&visitor.caller, body.ceremony, &body.credential)
        .await?;
    Ok(ApiJson(json!(step_up)))
}

pub async fn add_start(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddStart>,
) -> ApiResult<Challenge> {
    visitor.confirm_header(&headers)?;
    Ok(ApiJson(
        s.broker.add_passkey_start(&visitor.caller, &body.name).await?,
    ))
}

pub async fn add_finish(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<PasskeyView> {
    visitor.confirm_header(&headers)?;
    Ok(ApiJson(
        s.broker
            .add_passkey_finish(&visitor.caller, body.ceremony, &body.credential)
            .await?,
    ))
}
