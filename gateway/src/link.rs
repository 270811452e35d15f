//! The link to the broker: holds `GET /api/v1/gateway/stream` open with the gateway's credential and
//! hands on each `state` event; when the broker cannot be reached it says so and tries again with a
//! growing pause, while the agent keeps enforcing what it has.

use daypass_proto::api::GatewayState;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The link as the health endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "broker", rename_all = "snake_case")]
pub enum LinkStatus {
    Connecting,
    Connected,
    Unreachable { since: String, error: String },
}

/// Takes the next complete server-sent event out of `buf`: a `state` event's `GatewayState`, an
/// error for a `state` event that does not parse, nothing for comments and other events.
pub fn take_event(buf: &mut String) -> Option<Result<GatewayState, String>> {
    loop {
        let end = buf.find("\n\n")?;
        let frame: String = buf.drain(..end + 2).collect();
        let mut event = "message";
        let mut data = String::new();
        for line in frame.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = if e.trim() == "state" { "state" } else { "other" };
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if event == "state" || (event == "message" && !data.is_empty()) {
            return Some(
                serde_json::from_str(&data)
                    .map_err(|e| format!("a state event that is not a gateway state: {e}")),
            );
        }
    }
}

/// Runs for ever: connects, forwards states, reconnects. Pauses 1 s after a failure, doubling to 30 s.
pub async fn run(
    client: reqwest::Client,
    url: String,
    token: secrecy::SecretString,
    states: mpsc::Sender<GatewayState>,
    status: watch::Sender<LinkStatus>,
) {
    use secrecy::ExposeSecret as _;
    let mut pause = Duration::from_secs(1);
    loop {
        let result: Result<(), String> = async {
            let mut resp = client
                .get(&url)
                .bearer_auth(token.expose_secret())
                .send()
                .await
                .map_err(|e| format!("cannot reach the broker: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!(
                    "the broker answered {} (check the gateway's name and credential)",
                    resp.status()
                ));
            }
            let _ = status.send(LinkStatus::Connected);
            pause = Duration::from_secs(1);
            let mut buf = String::new();
            loop {
                while let Some(event) = take_event(&mut buf) {
                    match event {
                        Ok(state) => {
                            if states.send(state).await.is_err() {
                                return Ok(());
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "ignored an event from the broker"),
                    }
                }
                match resp.chunk().await {
                    Ok(Some(chunk)) => buf.push_str(&String::from_utf8_lossy(&chunk)),
                    Ok(None) => return Err("the broker closed the stream".into()),
                    Err(e) => return Err(format!("the stream broke: {e}")),
                }
            }
        }
        .await;
        if states.is_closed() {
            return;
        }
        let error = result.err().unwrap_or_default();
        let since = match &*status.borrow() {
            LinkStatus::Unreachable { since, .. } => since.clone(),
            _ => crate::clock::now().to_string(),
        };
        tracing::warn!(%error, retry_in_s = pause.as_secs(), "broker unreachable: enforcing the grants held, each until its own end");
        let _ = status.send(LinkStatus::Unreachable { since, error });
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_events_are_taken_whole_and_everything_else_is_skipped() {
        let state = r#"{"gateway":"gw","revision":3,"generated_at":"2026-11-24T12:00:00Z","grants":[],"seal":{"payload":"","signature":"","key_id":""}}"#;
        let mut buf = format!(": keep-alive\n\nevent: state\ndata: {state}\n\nevent: state\ndata: {{\"gatew");
        let first = take_event(&mut buf).unwrap().unwrap();
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
}
