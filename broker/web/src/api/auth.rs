//! The bearer-token extractor: resolves `Authorization: Bearer …` to a `Caller` for every handler
//! (passkey sessions arrive already resolved by `session_signature`).

use crate::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use daypass_broker_core::Caller;
use secrecy::SecretString;

/// An authenticated caller; handlers that take it refuse anonymous requests with 401.
#[derive(Debug)]
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A passkey session was resolved (and its device signature checked) at the door.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Authed(caller.clone()));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthenticated("send `Authorization: Bearer TOKEN` (an admin issues tokens)")
            })?;
        if header.starts_with(crate::session_signature::SESSION_PREFIX) {
            return Err(ApiError::unauthenticated(
                "this session token was not checked: send it to /api/v1",
            ));
        }
        let token = header
            .strip_prefix("Bearer ")
            .map(|t| SecretString::from(t.trim().to_string()))
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must use the Bearer scheme")
            })?;
        let caller = state.broker.authenticate(&token).await?;
        Ok(Authed(caller))
    }
}
