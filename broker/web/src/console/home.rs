//! The signed-in person's own page: who they are and until when, their passkeys (revoke one, add
//! another) and devices (revoke a lost one, with a reason), and signing out.

use super::pages;
use super::visitor::{cleared_cookie, Visitor};
use super::{page, see_other, signed, Reason};
use crate::{ApiError, ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::json;

pub async fn home(State(s): State<AppState>, visitor: Visitor) -> Result<Response, ApiError> {
    let who = signed(&visitor)?;
    let passkeys = s.broker.passkeys(&visitor.caller).await?;
    let me = s.broker.me(visitor.caller.person()?).await?;
    Ok(page(pages::home(&who, &passkeys, &me.devices)))
}

/// The one field of the console's plain forms.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(s): State<AppState>,
    visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    visitor.confirm(Some(&form.csrf))?;
    s.broker.end_session(&visitor.caller).await?;
    let mut response = see_other("/console/sign-in");
    response.headers_mut().insert(SET_COOKIE, cleared_cookie());
    Ok(response)
}

pub async fn revoke_passkey(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    visitor.confirm(Some(&form.csrf))?;
    s.broker.revoke_passkey(&visitor.caller, &id).await?;
    Ok(see_other("/console"))
}

/// A person revokes one of their devices (lost, replaced): its grants end, its sessions stop.
pub async fn revoke_device(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[])?;
    let reason = body.given("the device is revoked (lost, replaced, …)")?;
    s.broker.revoke_device_as(&visitor.caller, &id, reason).await?;
    Ok(ApiJson(
        json!({ "message": format!("Device {id} is revoked: its access ended.") }),
    ))
}
