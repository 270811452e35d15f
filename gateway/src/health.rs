//! The gateway's health endpoint (loopback): whether it reaches the broker, the revision it
//! enforces, how many grants are active, and the last error. 200 while enforcing, 503 when the last
//! attempt to enforce failed. `/metrics` beside it serves the Prometheus metrics.

use crate::link::LinkStatus;
use crate::metrics::GatewayMetrics;
use axum::http::{header, StatusCode};
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

pub fn router(health: Shared, metrics: Arc<GatewayMetrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.text();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .route(
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
