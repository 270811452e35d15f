//! The link to the broker: holds `GET /api/v1/gateway/stream?deltas=true` open with the gateway's
//! credential and hands on each `state` and `delta` event; when the broker cannot be reached it says
//! so and tries again with a growing pause, while the agent keeps enforcing what it has. Asked to
//! (a delta that did not apply), it reconnects at once, which brings the whole state first.

use daypass_proto::api::{GatewayDelta, GatewayState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

/// What the broker's stream brings.
#[derive(Debug)]
pub enum StreamEvent {
    State(GatewayState),
    Delta(GatewayDelta),
}

/// The link as the health endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "broker", rename_all = "snake_case")]
pub enum LinkStatus {
    Connecting,
    /// Following the stream of the broker at `via` (its base URL).
    Connected {
        via: String,
    },
    Unreachable {
        since: String,
        error: String,
    },
}

/// Events from the broker waiting to be enforced; also the most enforced in one batch.
pub const EVENTS_QUEUED: usize = 64;

/// `first` and whatever else has arrived behind it, at most `EVENTS_QUEUED`: under a steady flow
/// a batch must still end.
pub fn arrived(first: StreamEvent, events: &mut mpsc::Receiver<StreamEvent>) -> Vec<StreamEvent> {
    let mut batch = vec![first];
    while batch.len() < EVENTS_QUEUED {
        match events.try_recv() {
            Ok(more) => batch.push(more),
            Err(_) => break,
        }
    }
    batch
}

/// Takes the next complete server-sent event out of `buf`: a `state` or `delta` event's body, an
/// error for one that does not parse, nothing for comments and other events.
pub fn take_event(buf: &mut String) -> Option<Result<StreamEvent, String>> {
    loop {
        let end = buf.find("\n\n")?;
        let frame: String = buf.drain(..end + 2).collect();
        let mut event = "message";
        let mut data = String::new();
        for line in frame.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = match e.trim() {
                    "state" => "state",
                    "delta" => "delta",
                    _ => "other",
                };
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        return Some(match event {
            "delta" => serde_json::from_str(&data)
                .map(StreamEvent::Delta)
                .map_err(|e| format!("a delta event that is not a gateway delta: {e}")),
            "state" => state(&data),
            "message" if !data.is_empty() => state(&data),
            _ => continue,
        });
    }
}

fn state(data: &str) -> Result<StreamEvent, String> {
    serde_json::from_str(data)
        .map(StreamEvent::State)
        .map_err(|e| format!("a state event that is not a gateway state: {e}"))
}

/// How a stream that was open ended.
enum Ended {
    /// The agent asked for the whole state again.
    Resync,
    /// The broker went away after sending something (killed, restarted, the network).
    Broke(String),
}

/// Runs for ever: follows one broker's stream, forwarding its events. A broker whose stream breaks is
/// left for the next one at once; one that cannot be reached is too, and once every broker has
/// failed in a row the link pauses 1 s, doubling to 30 s, before trying them all again.
pub async fn run(
    client: reqwest::Client,
    brokers: daypass_https::Brokers,
    path: String,
    token: secrecy::SecretString,
    events: mpsc::Sender<StreamEvent>,
    status: watch::Sender<LinkStatus>,
    resync: Arc<Notify>,
) {
    let mut pause = Duration::from_secs(1);
    let mut failed_in_a_row = 0;
    let mut at = 0;
    loop {
        let base = brokers.base(at).to_string();
        let result = follow(&client, (&base, &path), &token, &events, &status, &resync).await;
        if events.is_closed() {
            return;
        }
        match result {
            Ok(Ended::Resync) => {
                tracing::info!(broker = %base, "asking the broker for the whole state again");
                continue;
            }
            Ok(Ended::Broke(error)) => {
                brokers.answered(at);
                tracing::warn!(broker = %base, %error, "the broker's stream ended; following the next broker");
                (failed_in_a_row, pause) = (0, Duration::from_secs(1));
                at += 1;
                continue;
            }
            Err(error) => {
                tracing::warn!(broker = %base, %error, "cannot follow this broker");
                at += 1;
                failed_in_a_row += 1;
                if failed_in_a_row < brokers.len() {
                    continue;
                }
                failed_in_a_row = 0;
                let since = match &*status.borrow() {
                    LinkStatus::Unreachable { since, .. } => since.clone(),
                    _ => crate::clock::now().to_string(),
                };
                tracing::warn!(%error, retry_in_s = pause.as_secs(), "no broker reachable: enforcing the grants held, each until its own end");
                let _ = status.send(LinkStatus::Unreachable { since, error });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Follows one broker's stream until it ends; an error when it could not be opened, or ended before
/// sending anything.
async fn follow(
    client: &reqwest::Client,
    (base, path): (&str, &str),
    token: &secrecy::SecretString,
    events: &mpsc::Sender<StreamEvent>,
    status: &watch::Sender<LinkStatus>,
    resync: &Notify,
) -> Result<Ended, String> {
    use secrecy::ExposeSecret as _;
    let mut resp = client
        .get(format!("{base}{path}"))
        .bearer_auth(token.expose_secret())
        .send()
        .await
        .map_err(|e| format!("cannot reach the broker: {}", daypass_https::failure(e)))?;
    if !resp.status().is_success() {
        return Err(format!(
            "the broker answered {} (check the gateway's name and credential)",
            resp.status()
        ));
    }
    let _ = status.send(LinkStatus::Connected {
        via: base.to_string(),
    });
    let mut buf = String::new();
    let mut sent = false;
    loop {
        while let Some(event) = take_event(&mut buf) {
            match event {
                Ok(event) => {
                    if events.send(event).await.is_err() {
                        return Ok(Ended::Resync);
                    }
                    sent = true;
                }
                Err(e) => tracing::warn!(error = %e, "ignored an event from the broker"),
            }
        }
        let chunk = tokio::select! {
            chunk = resp.chunk() => chunk,
            () = resync.notified() => return Ok(Ended::Resync),
        };
        let broke = match chunk {
            Ok(Some(chunk)) => {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                continue;
            }
            Ok(None) => "the broker closed the stream".to_string(),
            Err(e) => format!("the stream broke: {}", daypass_https::failure(e)),
        };
        return if sent { Ok(Ended::Broke(broke)) } else { Err(broke) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_takes_what_has_arrived_and_ends_under_a_steady_flow() {
        let state = r#"{"gateway":"gw","revision":1,"generated_at":"2026-11-24T12:00:00Z","grants":[],"seal":{"payload":"","signature":"","key_id":""}}"#;
        let event = || StreamEvent::State(serde_json::from_str(state).unwrap());
        let (tx, mut rx) = mpsc::channel(2 * EVENTS_QUEUED);
        for _ in 0..3 {
            tx.try_send(event()).unwrap();
        }
        assert_eq!(
            arrived(event(), &mut rx).len(),
            4,
            "the first and the three behind it"
        );
        for _ in 0..2 * EVENTS_QUEUED - 1 {
            tx.try_send(event()).unwrap();
        }
        assert_eq!(arrived(event(), &mut rx).len(), EVENTS_QUEUED);
        assert_eq!(rx.len(), EVENTS_QUEUED, "the rest waits for the next batch");
    }

    #[test]
    fn state_events_are_taken_whole_and_everything_else_is_skipped() {
        let state = r#"{"gateway":"gw","revision":3,"generated_at":"2026-11-24T12:00:00Z","grants":[],"seal":{"payload":"","signature":"","key_id":""}}"#;
        let mut buf = format!(": keep-alive\n\nevent: state\ndata: {state}\n\nevent: state\ndata: {{\"gatew");
        let Ok(StreamEvent::State(first)) = take_event(&mut buf).unwrap() else {
            panic!("a state event is a state")
        };
        assert_eq!(first.revision, 3);
        assert!(
            take_event(&mut buf).is_none(),
            "the second event is not complete yet"
        );
        buf.push_str("ay\": 1}\n\n");
        assert!(
            take_event(&mut buf).unwrap().is_err(),
            "a malformed state is reported, not applied"
        );
        assert!(buf.is_empty());
    }

    /// A broker on loopback that answers one stream with one `state` event at `revision`, then
    /// closes it (`stay` false) or holds it open.
    async fn broker(revision: i64, stay: bool) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request).await;
                let state = format!(
                    r#"{{"gateway":"gw","revision":{revision},"generated_at":"2026-11-24T12:00:00Z","grants":[],"seal":{{"payload":"","signature":"","key_id":""}}}}"#
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nevent: state\ndata: {state}\n\n"
                );
                conn.write_all(answer.as_bytes()).await.unwrap();
                if stay {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_broker_that_goes_away_or_cannot_be_reached_is_left_for_the_next_at_once() {
        // Nothing listens on the first; the second sends a state and goes away; the third stays.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let staying = broker(2, true).await;
        let list = format!("{dead},{},{staying}", broker(1, false).await);
        let brokers = daypass_https::Brokers::parse(&list).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let (status_tx, status) = watch::channel(LinkStatus::Connecting);
        let started = std::time::Instant::now();
        let link = tokio::spawn(run(
            daypass_https::builder(daypass_https::Trust::PublicAnd(None))
                .unwrap()
                .build()
                .unwrap(),
            brokers.clone(),
            "/api/v1/gateway/stream?deltas=true".into(),
            secrecy::SecretString::from("dpg_test".to_string()),
            tx,
            status_tx,
            Arc::new(Notify::new()),
        ));
        let mut revisions = Vec::new();
        while revisions.len() < 2 {
            let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            let StreamEvent::State(s) = event else {
                panic!("only states here")
            };
            revisions.push(s.revision);
        }
        assert_eq!(revisions, [1, 2]);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no pause between brokers: {:?}",
            started.elapsed()
        );
        assert_eq!(*status.borrow(), LinkStatus::Connected { via: staying });
        link.abort();
    }
}
