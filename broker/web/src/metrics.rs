//! `GET /metrics`: the broker's Prometheus metrics in the OpenMetrics text format, on a listener of
//! its own (`metrics_listen`), apart from the API that contractors reach.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use daypass_broker_core::Broker;

/// The content type Prometheus asks for and this exposition is.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn metrics_router(broker: Broker) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(broker)
}

async fn scrape(State(broker): State<Broker>) -> Response {
    match broker.metrics_text().await {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics could not be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("metrics could not be read: {e}\n"),
            )
                .into_response()
        }
    }
}
