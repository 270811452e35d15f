//! The gateway link: a gateway reads its desired state, or holds a stream that pushes each new revision,
//! and reports the devices it saw connect.

use super::Authed;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use daypass_broker_core::{Broker, Caller};
use daypass_proto::api::{GatewayConnects, GatewayState};
use daypass_proto::Problem;
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often a stream re-reads its revision even without a wake-up (covers missed notifications).
const RECHECK: Duration = Duration::from_secs(2);

fn gateway_name(caller: Caller) -> Result<String, ApiError> {
    match caller {
        Caller::Gateway(name) => Ok(name),
        Caller::Person(_) | Caller::Session { .. } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only gateway credentials may read gateway state",
        )),
    }
}

/// The calling gateway's desired state: every live signed grant for its resources.
#[utoipa::path(get, path = "/api/v1/gateway/state", security(("bearer" = [])),
    responses((status = 200, body = GatewayState), (status = 404, description = "the gateway is no longer registered", body = Problem)))]
pub async fn state(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<GatewayState> {
    Ok(ApiJson(s.broker.gateway_state(&gateway_name(caller)?).await?))
}

/// Devices that connected through the calling gateway, recorded in the audit log (so in each
/// grant's evidence); connects for grants that are not the gateway's, or at times outside the
/// grant, are refused and not recorded.
#[utoipa::path(post, path = "/api/v1/gateway/connects", security(("bearer" = [])), request_body = GatewayConnects,
    responses((status = 200, description = "how many were recorded"),
        (status = 400, description = "a connect outside its grant's time", body = Problem)))]
pub async fn connects(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<GatewayConnects>,
) -> ApiResult<serde_json::Value> {
    let gateway = gateway_name(caller)?;
    let recorded = s.broker.record_connects(&gateway, &body.connects).await?;
    Ok(ApiJson(serde_json::json!({ "recorded": recorded })))
}

/// Server-sent events: a `state` event (a `GatewayState` JSON) now and at every new revision.
#[utoipa::path(get, path = "/api/v1/gateway/stream", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `state` events carrying GatewayState", content_type = "text/event-stream"),
              (status = 404, description = "the gateway is no longer registered", body = Problem)))]
pub async fn stream(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let gateway = gateway_name(caller)?;
    let first = s.broker.gateway_state(&gateway).await?;
    tracing::info!(gateway = %gateway, revision = first.revision, "gateway connected");
    let wake = s.broker.gateway_changes();
    let init = Link {
        _open: s.broker.gateway_stream_opened(),
        broker: s.broker.clone(),
        gateway,
        wake,
        last_revision: None,
        pending: Some(first),
    };
    let events = futures::stream::unfold(init, |mut link| async move {
        let state = link.next_state().await;
        Some((Ok(event(&state)), link))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event(state: &GatewayState) -> Event {
    Event::default()
        .event("state")
        .id(state.revision.to_string())
        .data(serde_json::to_string(state).unwrap_or_default())
}

struct Link {
    /// Counts the stream in the metrics until the gateway goes.
    _open: daypass_broker_core::StreamOpen,
    broker: Broker,
    gateway: String,
    wake: broadcast::Receiver<String>,
    last_revision: Option<i64>,
    pending: Option<GatewayState>,
}

impl Link {
    /// Waits for this gateway's next revision.
    async fn next_state(&mut self) -> GatewayState {
        loop {
            if let Some(state) = self
                .pending
                .take()
                .filter(|s| Some(s.revision) != self.last_revision)
            {
                self.last_revision = Some(state.revision);
                return state;
            }
            let woken = tokio::time::timeout(RECHECK, self.wake.recv()).await;
            let relevant = match woken {
                Ok(Ok(name)) => name == self.gateway,
                // Lagged, closed or timed out: re-read to be safe.
                _ => true,
            };
            if relevant {
                match self.broker.gateway_state(&self.gateway).await {
                    Ok(s) => self.pending = Some(s),
                    Err(e) => {
                        tracing::warn!(gateway = %self.gateway, error = %e, "could not read gateway state")
                    }
                }
            }
        }
    }
}
