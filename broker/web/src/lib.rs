//! The broker over HTTP: one axum router that mounts the JSON API (`api`, with its OpenAPI
//! document), the staff console (`console`), SCIM provisioning (`scim`) and the static pages
//! (`assets`) side by side. They share the `state` and the `error` type of this layer and never
//! import each other; the door check of device-bound sessions (`session_signature`) stands in
//! front of all of them. `metrics` is the Prometheus endpoint, served on a listener of its own.

mod api;
mod assets;
mod console;
mod error;
mod metrics;
mod peer;
mod scim;
mod session_signature;
mod state;

pub use api::ApiDoc;
pub use error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
pub use metrics::metrics_router;
pub use state::AppState;

use axum::http::StatusCode;
use axum::Router;

/// The broker's whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        // People who type the broker's address land on the console (its sign-in when signed out).
        .route(
            "/",
            axum::routing::get(|| async { axum::response::Redirect::to("/console") }),
        )
        .merge(api::routes())
        .merge(assets::routes())
        .merge(console::routes(state.clone()))
        .merge(scim::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "no such endpoint: see /api/v1/openapi.json",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session_signature::check,
        ))
        .with_state(state)
}
