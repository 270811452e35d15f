//! Telling approvers that a request waits: an incoming-webhook POST with a Slack-compatible body
//! (`{"text": …}`, which Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible connectors take),
//! linking to the approvals page. Sent after the request is stored, beside it: a slow or failing chat
//! server never holds up or fails a request; a failure is logged (without the URL, which is a secret).
//! Messages that come in a burst are sent as one post (a line each), so a flood of requests is one
//! message in the channel, not hundreds.

use super::Broker;
use crate::domain::directory::Person;
use crate::domain::request::AccessRequest;
use daypass_proto::duration::spoken_duration;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a burst of messages is gathered into one post, and how many lines a post holds at most.
const BATCH_WINDOW: Duration = Duration::from_secs(2);
const BATCH_LINES: usize = 20;

/// Where waiting requests are announced.
#[derive(Clone)]
pub struct Notifier {
    url: SecretString,
    client: reqwest::Client,
    /// Lines waiting to be posted; the poster starts with the first line.
    outbox: Arc<OnceLock<mpsc::Sender<String>>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier(webhook URL hidden)")
    }
}

impl Notifier {
    /// A webhook at `url`: HTTPS, or plain HTTP to this machine only.
    pub fn new(url: SecretString) -> Result<Notifier, String> {
        let client = crate::tickets::outbound_client(&url, "approval_webhook")?;
        Ok(Notifier {
            url,
            client,
            outbox: Arc::default(),
        })
    }

    /// Queues one line (already in Slack's format) for the next post; never waits.
    pub fn send(&self, line: String) {
        let outbox = self.outbox.get_or_init(|| {
            let (lines, queue) = mpsc::channel(1024);
            tokio::spawn(post_in_batches(self.url.clone(), self.client.clone(), queue));
            lines
        });
        if outbox.try_send(line).is_err() {
            tracing::warn!("the chat notifications are backed up; a message was dropped");
        }
    }
}

/// Posts what comes in, a burst at a time.
async fn post_in_batches(url: SecretString, client: reqwest::Client, mut queue: mpsc::Receiver<String>) {
    while let Some(first) = queue.recv().await {
        let mut lines = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while lines.len() < BATCH_LINES {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(line)) => lines.push(line),
                _ => break,
            }
        }
        let sent = client
            .post(url.expose_secret())
            .json(&json!({ "text": lines.join("\n") }))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        match sent {
            Ok(_) => tracing::info!(messages = lines.len(), "chat notified"),
            Err(e) => tracing::warn!(error = %e.without_url(), "the approval webhook failed"),
        }
    }
}

/// The message for a request that waits: who, what, for how long, on which ticket, why, and where
/// to decide (Slack's `<url|label>` link syntax). What people typed is escaped, so a reason cannot
/// add a link, a mention or formatting of its own.
fn waiting_message(request: &AccessRequest, requester: &Person, console: &str) -> String {
    format!(
        "{} ({}) asks for {} for {} on {}: \"{}\". <{}/console/approvals#r-{}|Review it>",
        slack_escaped(&requester.name),
        slack_escaped(&requester.company),
        slack_escaped(&request.resources.join(", ")),
        spoken_duration(request.duration_seconds),
        slack_escaped(&request.ticket),
        slack_escaped(&request.reason),
        console,
        request.id
    )
}

/// Text as Slack's message format takes it literally: `&`, `<` and `>` as entities (its only
/// control characters; Mattermost and the others read the same entities).
fn slack_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Broker {
    /// Announces a request that waits for approval, if a webhook is configured.
    pub(super) fn announce_waiting(&self, request: &AccessRequest, requester: &Person) {
        if let Some(notifier) = &self.0.settings.approval_webhook {
            notifier.send(waiting_message(request, requester, &self.origin()));
        }
    }

    /// Tells the channel something staff must know (e.g. an invite for an account with standing).
    pub(super) fn announce(&self, text: String) {
        if let Some(notifier) = &self.0.settings.approval_webhook {
            notifier.send(slack_escaped(&text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::RequestState;

    #[test]
    fn what_people_typed_cannot_add_links_or_mentions() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let request = AccessRequest {
            id: uuid::Uuid::nil(),
            requester: "ana".into(),
            device: "ana-laptop".into(),
            resources: vec!["db".into()],
            ticket: "OPS-1".into(),
            reason: "<https://evil.example|Review it> <!channel> & more".into(),
            duration_seconds: 3600,
            policy: "p".into(),
            approvals_required: 1,
            approvals: vec![],
            created_at: now,
            expires_at: now,
            state: RequestState::Pending,
            ticket_snapshot: None,
            needs_approval_because: None,
        };
        let ana: Person = serde_json::from_value(serde_json::json!({
            "id": "ana", "name": "Ana <!here>", "email": "ana@example.com", "company": "Acme",
            "roles": ["contractor"], "groups": [], "contract_end": null, "disabled": false
        }))
        .unwrap();
        let text = waiting_message(&request, &ana, "https://broker.example");
        assert!(
            text.contains("&lt;https://evil.example|Review it&gt; &lt;!channel&gt; &amp; more"),
            "{text}"
        );
        assert!(text.contains("Ana &lt;!here&gt;"), "{text}");
        assert_eq!(text.matches('<').count(), 1, "only the broker's own link: {text}");
    }

    #[test]
    fn only_https_or_loopback_webhooks_are_accepted() {
        let url = |u: &str| SecretString::from(u.to_string());
        assert!(Notifier::new(url("https://hooks.slack.com/services/T/B/X")).is_ok());
        assert!(Notifier::new(url("http://127.0.0.1:9000/hook")).is_ok());
        assert!(Notifier::new(url("http://chat.example.com/hook"))
            .unwrap_err()
            .contains("https://"));
        assert!(Notifier::new(url("not a url")).is_err());
        let shown = format!(
            "{:?}",
            Notifier::new(url("https://hooks.slack.com/services/T/B/SECRET")).unwrap()
        );
        assert!(!shown.contains("SECRET"));
    }

    /// A chat server on loopback that records the body of every post.
    async fn chat_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let posts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = posts.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let n = stream.read(&mut chunk).await.unwrap();
                    request.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        kept.lock().unwrap().push(body.to_string());
                        break;
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
            }
        });
        (url, posts)
    }

    #[tokio::test]
    async fn a_burst_of_messages_is_one_post() {
        let (url, posts) = chat_server().await;
        let notifier = Notifier::new(SecretString::from(url)).unwrap();
        for i in 0..5 {
            notifier.send(format!("request {i} waits"));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while posts.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        let posts = posts.lock().unwrap().clone();
        assert_eq!(posts.len(), 1, "{posts:?}");
        let text: serde_json::Value = serde_json::from_str(&posts[0]).unwrap();
        let lines: Vec<&str> = text["text"].as_str().unwrap().lines().collect();
        assert_eq!(
            lines,
            [
                "request 0 waits",
                "request 1 waits",
                "request 2 waits",
                "request 3 waits",
                "request 4 waits"
            ]
        );
    }
}
