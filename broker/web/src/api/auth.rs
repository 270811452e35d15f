//! The bearer-token extractor: resolves `Authorization: Bearer …` to a `Caller` for every handler
//! (passkey sessions arrive already resolved by `session_signature`).

use crate::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use daypass_broker_core::domain::token::Scope;
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
        let (caller, scopes) = state.broker.authenticate(&token).await?;
        if let Some(scopes) = scopes {
            let needed = route_scope(&parts.method, parts.uri.path());
            if !needed.is_some_and(|s| scopes.contains(&s)) {
                let held: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "out-of-scope",
                    format!(
                        "this token is limited to {}, and this call is outside them: ask an admin for a token with the scope it needs",
                        held.join(", ")
                    ),
                ));
            }
        }
        Ok(Authed(caller))
    }
}

/// The scope a call needs when made with a scoped token; `None`: no scoped token may make it.
pub fn route_scope(method: &Method, path: &str) -> Option<Scope> {
    if method != Method::GET {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(3).collect();
    match segments.as_slice() {
        ["reports", "access"] => Some(Scope::ReportsRead),
        ["audit", "verify" | "entries"] => Some(Scope::AuditRead),
        ["grants"] | ["grants", _] | ["grants", _, "evidence"] => Some(Scope::GrantsRead),
        ["posture", "failing"] | ["devices", _, "posture"] => Some(Scope::PostureRead),
        _ => None,
    }
}
