//! The gateway link: a gateway reads its desired state, or holds a stream that pushes each new revision,
//! and reports the devices it saw connect.

use super::Authed;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use daypass_broker_core::{Broker, Caller, StreamHeld, StreamNext};
use daypass_proto::api::{GatewayConnects, GatewayState};
use daypass_proto::Problem;
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

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

/// What a gateway asks of its stream.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// `true`: after the first whole state, send `delta` events (what changed since the revision
    /// the gateway holds) instead of the whole state at every revision.
    #[serde(default)]
    deltas: bool,
}

/// Server-sent events: a `state` event (a `GatewayState` JSON) now, then at every new revision either
/// the whole state again or, when asked for with `deltas=true`, a `delta` event (a `GatewayDelta`
/// JSON: the grants added and ended, and the seal of the state it leads to). A gateway that cannot
/// apply a delta reconnects, and gets the whole state first.
#[utoipa::path(get, path = "/api/v1/gateway/stream", security(("bearer" = [])), params(StreamQuery),
    responses((status = 200, description = "text/event-stream of `state` events carrying GatewayState and, with deltas=true, `delta` events carrying GatewayDelta", content_type = "text/event-stream"),
              (status = 404, description = "the gateway is no longer registered", body = Problem)))]
pub async fn stream(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let gateway = gateway_name(caller)?;
    let (first, held) = s.broker.gateway_state_held(&gateway).await?;
    tracing::info!(gateway = %gateway, revision = first.revision, deltas = query.deltas, "gateway connected");
    let wake = s.broker.gateway_changes();
    let init = Link {
        _open: s.broker.gateway_stream_opened(),
        broker: s.broker.clone(),
        gateway,
        wake,
        deltas: query.deltas,
        held,
        pending: Some(StreamNext::Full(first)),
        pacer: Pacer { last_read: None },
    };
    let events = futures::stream::unfold(init, |mut link| async move {
        let next = link.next_event().await;
        Some((Ok(next), link))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event<T: serde::Serialize>(kind: &str, revision: i64, body: &T) -> Event {
    Event::default()
        .event(kind)
        .id(revision.to_string())
        .data(serde_json::to_string(body).unwrap_or_default())
}

struct Link {
    /// Counts the stream in the metrics until the gateway goes.
    _open: daypass_broker_core::StreamOpen,
    broker: Broker,
    gateway: String,
    wake: broadcast::Receiver<String>,
    deltas: bool,
    /// What the gateway holds once the events sent so far are applied.
    held: StreamHeld,
    pending: Option<StreamNext>,
    pacer: Pacer,
}

/// The least time between two reads of one gateway's changes by its stream. A change after a quiet
/// spell is read at once; under a run of them, one within this time of the last read waits for the
/// rest of it, and goes out with the others in one delta (one read, one seal) instead of one delta
/// each. A gateway so hears at most 40 deltas a second, each change at most 25 ms late.
const STREAM_SPACING: Duration = Duration::from_millis(25);

/// Spaces a stream's reads of its gateway's changes (`STREAM_SPACING`): the first read after a quiet
/// spell is at once, any other waits until `STREAM_SPACING` after the last.
struct Pacer {
    last_read: Option<Instant>,
}

impl Pacer {
    /// When a read wanted `now` may be, if not now.
    fn next_read(&self, now: Instant) -> Option<Instant> {
        let at = self.last_read? + STREAM_SPACING;
        (at > now).then_some(at)
    }

    fn read_at(&mut self, now: Instant) {
        self.last_read = Some(now);
    }
}

impl Link {
    /// Waits for this gateway's next revision, and says what it brings.
    async fn next_event(&mut self) -> Event {
        loop {
            match self.pending.take() {
                Some(StreamNext::Full(state)) => return event("state", state.revision, &state),
                Some(StreamNext::Delta(delta)) => return event("delta", delta.revision, &delta),
                Some(StreamNext::Unchanged) | None => {}
            }
            let woken = tokio::time::timeout(self.broker.stream_recheck(), self.wake.recv()).await;
            let relevant = match woken {
                Ok(Ok(name)) => name == self.gateway,
                // Lagged, closed or timed out: re-read to be safe.
                _ => true,
            };
            if relevant {
                if let Some(at) = self.pacer.next_read(Instant::now()) {
                    tokio::time::sleep_until(at).await;
                }
                self.pass_over_queued_wakes();
                self.pacer.read_at(Instant::now());
                match self.read_next().await {
                    Ok(next) => self.pending = Some(next),
                    Err(e) => {
                        tracing::warn!(gateway = %self.gateway, error = %e, "could not read gateway state")
                    }
                }
            }
        }
    }

    /// Drops the wakes already queued: they were sent after commits the coming read sees, so under
    /// load one read answers a burst of them instead of one read each.
    fn pass_over_queued_wakes(&mut self) {
        use broadcast::error::TryRecvError;
        while let Ok(_) | Err(TryRecvError::Lagged(_)) = self.wake.try_recv() {}
    }

    async fn read_next(&mut self) -> Result<StreamNext, daypass_broker_core::ServiceError> {
        if self.deltas {
            return self.broker.gateway_next(&self.gateway, &mut self.held).await;
        }
        // Whole states only: a new one when the revision moved.
        let (state, held) = self.broker.gateway_state_held(&self.gateway).await?;
        if held.revision == self.held.revision {
            return Ok(StreamNext::Unchanged);
        }
        self.held = held;
        Ok(StreamNext::Full(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_waits_only_within_the_spacing_of_the_last() {
        assert_eq!(STREAM_SPACING, Duration::from_millis(25));
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut pacer = Pacer { last_read: None };
        assert_eq!(pacer.next_read(start), None, "the first read is at once");
        pacer.read_at(start);
        assert_eq!(
            pacer.next_read(ms(5)),
            Some(ms(25)),
            "5 ms after a read: wait for the rest"
        );
        assert_eq!(pacer.next_read(ms(25)), None, "the spacing passed");
        assert_eq!(pacer.next_read(ms(400)), None, "after a quiet spell");
        pacer.read_at(ms(400));
        assert_eq!(pacer.next_read(ms(410)), Some(ms(425)));
    }
}
