//! Handlers for passkeys: enrollment from an invite, sign-in to a device-bound session, step-up,
//! sign-out, and the caller's own passkeys.

use super::Authed;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::peer::PeerAddress;
use crate::AppState;
use axum::extract::State;
use daypass_broker_core::{Finisher, FromApp, StepUp};
use daypass_proto::api::{CeremonyAnswer, Challenge, EnrollStart, PasskeyView, SessionIssued, SignInStart};
use daypass_proto::Problem;
use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;

fn app_finisher(answer: &CeremonyAnswer) -> Finisher<'_> {
    Finisher::App {
        code_verifier: answer.code_verifier.as_deref(),
    }
}

/// Starts enrolling a passkey and binding a device, from an invite code.
#[utoipa::path(post, path = "/api/v1/passkeys/enroll/start", request_body = EnrollStart,
    responses((status = 200, body = Challenge), (status = 403, description = "unknown, used or expired invite", body = Problem),
        (status = 409, description = "the account is inactive, or the device exists already", body = Problem),
        (status = 429, description = "too many ceremonies started from this address (see Retry-After)", body = Problem)))]
pub async fn enroll_start(
    State(s): State<AppState>,
    peer: PeerAddress,
    ApiJson(body): ApiJson<EnrollStart>,
) -> ApiResult<Challenge> {
    peer.admit_ceremony(&s.broker)?;
    let code = SecretString::from(body.invite.trim().to_string());
    let app = FromApp {
        device: body.device,
        code_challenge: body.code_challenge,
    };
    Ok(ApiJson(s.broker.enroll_start(&code, Some(app)).await?))
}

/// Finishes enrollment with the authenticator's answer: a session on the new device.
#[utoipa::path(post, path = "/api/v1/passkeys/enroll/finish", request_body = CeremonyAnswer,
    responses((status = 200, body = SessionIssued), (status = 403, description = "the answer, the ceremony or the PKCE verifier is refused", body = Problem),
        (status = 409, description = "this passkey is registered already", body = Problem)))]
pub async fn enroll_finish(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<SessionIssued> {
    let opened = s
        .broker
        .enroll_finish(body.ceremony, &body.credential, app_finisher(&body))
        .await?;
    Ok(ApiJson(opened.issued()))
}

/// Starts signing in with a passkey, for a session bound to an enrolled device.
#[utoipa::path(post, path = "/api/v1/passkeys/sign-in/start", request_body = SignInStart,
    responses((status = 200, body = Challenge), (status = 403, body = Problem),
        (status = 429, description = "too many sign-ins started for this person or from this address (see Retry-After)", body = Problem)))]
pub async fn sign_in_start(
    State(s): State<AppState>,
    peer: PeerAddress,
    ApiJson(body): ApiJson<SignInStart>,
) -> ApiResult<Challenge> {
    peer.admit_ceremony(&s.broker)?;
    let app = FromApp {
        device: body.device.as_str(),
        code_challenge: body.code_challenge.clone(),
    };
    Ok(ApiJson(s.broker.sign_in_start(&body.person, Some(app)).await?))
}

#[utoipa::path(post, path = "/api/v1/passkeys/sign-in/finish", request_body = CeremonyAnswer,
    responses((status = 200, body = SessionIssued), (status = 403, description = "the answer, the ceremony or the PKCE verifier is refused", body = Problem)))]
pub async fn sign_in_finish(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<SessionIssued> {
    let opened = s
        .broker
        .sign_in_finish(body.ceremony, &body.credential, app_finisher(&body))
        .await?;
    Ok(ApiJson(opened.issued()))
}

/// Starts a fresh passkey confirmation within the caller's session (before approving).
#[utoipa::path(post, path = "/api/v1/passkeys/step-up/start", security(("bearer" = [])),
    responses((status = 200, body = Challenge), (status = 403, body = Problem)))]
pub async fn step_up_start(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Challenge> {
    Ok(ApiJson(s.broker.step_up_start(&caller).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SteppedUp {
    pub passkey: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
}

#[utoipa::path(post, path = "/api/v1/passkeys/step-up/finish", security(("bearer" = [])), request_body = CeremonyAnswer,
    responses((status = 200, body = SteppedUp), (status = 403, body = Problem)))]
pub async fn step_up_finish(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<CeremonyAnswer>,
) -> ApiResult<SteppedUp> {
    let StepUp { passkey, at } = s
        .broker
        .step_up_finish(&caller, body.ceremony, &body.credential)
        .await?;
    Ok(ApiJson(SteppedUp { passkey, at }))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/passkeys/sign-out", security(("bearer" = [])),
    responses((status = 200, description = "signed out"), (status = 403, description = "only a passkey session can be signed out", body = Problem)))]
pub async fn sign_out(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<serde_json::Value> {
    s.broker.end_session(&caller).await?;
    Ok(ApiJson(serde_json::json!({ "signed_out": true })))
}

/// The caller's passkeys.
#[utoipa::path(get, path = "/api/v1/passkeys", security(("bearer" = [])), responses((status = 200, body = Vec<PasskeyView>)))]
pub async fn mine(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Vec<PasskeyView>> {
    Ok(ApiJson(s.broker.passkeys(&caller).await?))
}

/// Revokes a passkey (the caller's own; admins: anyone's); sessions it opened end.
#[utoipa::path(post, path = "/api/v1/passkeys/{id}/revoke", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PasskeyView), (status = 404, body = Problem)))]
pub async fn revoke(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<PasskeyView> {
    Ok(ApiJson(s.broker.revoke_passkey(&caller, &id).await?))
}
