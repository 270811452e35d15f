//! The gateway's health endpoint (loopback): whether it reaches the broker, the revision it
//! enforces, how many grants are active, and the last error. 200 while enforcing, 503 when the last
//! attempt to enforce failed.

use crate::link::LinkStatus;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub gateway: String,
    #[serde(flatten)]
    pub link: LinkStatus,
    pub revision: Option<i64>,
    pub active_grants: usize,
    /// The last failure to apply peers or firewall entries, cleared by the next success.
    pub enforce_error: Option<String>,
}

pub type Shared = Arc<Mutex<Health>>;

pub fn router(health: Shared) -> Router {
    Router::new().route(
        "/health",
        get(move || {
            let h = health.lock().unwrap_or_else(|p| p.into_inner()).clone();
            async move {
                let code = if h.enforce_error.is_some() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                };
                (code, Json(h))
            }
        }),
    )
}
