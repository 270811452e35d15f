//! The broker's static files (style sheet, scripts) and the passkey ceremony page a contractor's
//! browser opens for the Daypass app (system-browser sign-in). Compiled in, served with a strict
//! Content-Security-Policy: scripts and styles from the broker only, the ceremony page's answer
//! posted only to the app's loopback address.

use crate::{ApiError, ApiJson, ApiResult, AppState};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use daypass_proto::api::Challenge;
use uuid::Uuid;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   form-action http://127.0.0.1:* http://localhost:*; base-uri 'none'; frame-ancestors 'none'";

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}

fn script(body: &'static str) -> impl IntoResponse {
    page("text/javascript; charset=utf-8", body)
}

/// The options of a waiting ceremony, for the page (public: a challenge and credential ids).
async fn ceremony(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Challenge> {
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid-path",
            "the ceremony id is not a UUID",
        )
    })?;
    Ok(ApiJson(s.broker.ceremony_options(id).await?))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/passkeys/ceremony",
            get(|| async { page("text/html; charset=utf-8", include_str!("../pages/ceremony.html")) }),
        )
        .route(
            "/static/ceremony.js",
            get(|| async { script(include_str!("../pages/ceremony.js")) }),
        )
        .route(
            "/static/webauthn.js",
            get(|| async { script(include_str!("../pages/webauthn.js")) }),
        )
        .route(
            "/static/console.js",
            get(|| async { script(include_str!("../pages/console.js")) }),
        )
        .route(
            "/static/page.css",
            get(|| async { page("text/css; charset=utf-8", include_str!("../pages/page.css")) }),
        )
        .route("/api/v1/passkeys/ceremonies/{id}", get(ceremony))
}
