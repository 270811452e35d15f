//! Telling approvers that a request waits: an incoming-webhook POST with a Slack-compatible body
//! (`{"text": …}`, which Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible connectors take),
//! linking to the approvals page. Sent after the request is stored, beside it: a slow or failing chat
//! server never holds up or fails a request; a failure is logged (without the URL, which is a secret).

use super::Broker;
use crate::domain::directory::Person;
use crate::domain::request::AccessRequest;
use daypass_proto::duration::spoken_duration;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{json, Value};

/// Where waiting requests are announced.
#[derive(Clone)]
pub struct Notifier {
    url: SecretString,
    client: reqwest::Client,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier(webhook URL hidden)")
    }
}

impl Notifier {
    /// A webhook at `url`: HTTPS, or plain HTTP to this machine only.
    pub fn new(url: SecretString) -> Result<Notifier, String> {
        let parsed = reqwest::Url::parse(url.expose_secret())
            .map_err(|e| format!("approval_webhook is not a URL: {e}"))?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err("approval_webhook must be an https:// URL (plain http only to this machine)".into());
        }
        let client = crate::tickets::http_client(None).map_err(|e| format!("approval_webhook: {e:#}"))?;
        Ok(Notifier { url, client })
    }
}

/// The message for a request that waits: who, what, for how long, on which ticket, why, and where
/// to decide (Slack's `<url|label>` link syntax). What people typed is escaped, so a reason cannot
/// add a link, a mention or formatting of its own.
fn waiting_message(request: &AccessRequest, requester: &Person, console: &str) -> Value {
    json!({
        "text": format!(
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
    })
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
        self.post_to_chat(
            waiting_message(request, requester, &self.origin()),
            format!("request {}", request.id),
        );
    }

    /// Tells the channel something staff must know (e.g. an invite for an account with standing).
    pub(super) fn announce(&self, text: String) {
        self.post_to_chat(
            json!({ "text": slack_escaped(&text) }),
            "an announcement".to_string(),
        );
    }

    fn post_to_chat(&self, body: Value, about: String) {
        let Some(notifier) = self.0.settings.approval_webhook.clone() else {
            return;
        };
        tokio::spawn(async move {
            let sent = notifier
                .client
                .post(notifier.url.expose_secret())
                .json(&body)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            match sent {
                Ok(_) => tracing::info!(%about, "chat notified"),
                Err(e) => tracing::warn!(%about, error = %e.without_url(), "the approval webhook failed"),
            }
        });
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
        let text = waiting_message(&request, &ana, "https://broker.example")["text"]
            .as_str()
            .unwrap()
            .to_string();
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
}
