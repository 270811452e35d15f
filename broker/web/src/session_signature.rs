//! Device-bound sessions at the door: a request with a passkey session token (`Bearer dps_…`) has
//! its body read (up to 1 MiB) and its `Daypass-Signature` checked against the session's device
//! before any handler runs; the resolved caller travels on in the request's extensions.

use crate::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use daypass_broker_core::SignedRequest;
use secrecy::SecretString;

pub const SESSION_PREFIX: &str = "Bearer dps_";
const MAX_BODY: usize = 1024 * 1024;

pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_session = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(SESSION_PREFIX));
    if !is_session {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "invalid-body",
                "the body is larger than 1 MiB",
            )
            .into_response()
        }
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let token = header(AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| SecretString::from(t.trim().to_string()))
        .unwrap_or_else(|| SecretString::from(String::new()));
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI's authority.
    let host = header(HOST.as_str())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let signed = SignedRequest {
        signature: header(daypass_proto::request_signature::HEADER),
        method: parts.method.as_str(),
        host: &host,
        path_and_query: &path,
        body: &bytes,
    };
    match state.broker.authenticate_session(&token, signed).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Err(refused) => ApiError::from(refused).into_response(),
    }
}
