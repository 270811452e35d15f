//! Ticket connectors: where the broker asks whether a ticket exists, is open, and whom it is assigned to.

mod builtin;
mod http_json;
mod jira;

pub use builtin::BuiltinTickets;
pub use http_json::{HttpJsonSettings, HttpJsonTickets};
pub use jira::{JiraSettings, JiraTickets};

use crate::domain::ticket::Ticket;
use crate::store::Store;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TicketSystemError {
    #[error("the ticket system could not be reached ({0}); the ticket cannot be checked, so access is refused for now")]
    Unreachable(String),
    #[error("the ticket system refused the broker's credentials (HTTP {0}); an admin must fix the connector's token")]
    Unauthorized(u16),
    #[error("the ticket system answered something unexpected: {0}")]
    Unexpected(String),
    #[error("reading built-in tickets failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

#[async_trait::async_trait]
pub trait TicketConnector: Send + Sync {
    /// `Ok(None)` when the ticket does not exist.
    async fn fetch(&self, key: &str) -> Result<Option<Ticket>, TicketSystemError>;
    fn name(&self) -> &'static str;
    /// Whether its tickets are kept in the broker's database: then an access decision reads the
    /// ticket with its other inputs, in the same statement, instead of calling `fetch`.
    fn kept_in_store(&self) -> bool {
        false
    }
}

/// `[tickets]` in the broker's config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "connector", rename_all = "snake_case", deny_unknown_fields)]
pub enum TicketSettings {
    #[default]
    Builtin,
    Jira(JiraSettings),
    Http(HttpJsonSettings),
}

pub fn connector(settings: &TicketSettings, store: &Store) -> anyhow::Result<Arc<dyn TicketConnector>> {
    Ok(match settings {
        TicketSettings::Builtin => Arc::new(BuiltinTickets::new(store.clone())),
        TicketSettings::Jira(s) => Arc::new(JiraTickets::new(s.clone())?),
        TicketSettings::Http(s) => Arc::new(HttpJsonTickets::new(s.clone())?),
    })
}

/// An HTTPS client for a secret URL the broker posts to (`setting` names it in errors): HTTPS, or
/// plain HTTP to this machine only.
pub(crate) fn outbound_client(url: &secrecy::SecretString, setting: &str) -> Result<reqwest::Client, String> {
    use secrecy::ExposeSecret as _;
    let parsed =
        reqwest::Url::parse(url.expose_secret()).map_err(|e| format!("{setting} is not a URL: {e}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(format!(
            "{setting} must be an https:// URL (plain http only to this machine)"
        ));
    }
    http_client(None).map_err(|e| format!("{setting}: {e:#}"))
}

/// An HTTPS client trusting the public web roots plus, optionally, a private CA bundle (PEM).
pub fn http_client(extra_ca: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context as _;
    daypass_https::builder(daypass_https::Trust::PublicAnd(extra_ca))?
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .context("building the HTTP client")
}

/// Maps a ticket system's HTTP answer: 404 is "no such ticket", 401/403 a credential problem.
async fn read_json(resp: reqwest::Response) -> Result<Option<serde_json::Value>, TicketSystemError> {
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(TicketSystemError::Unauthorized(status.as_u16()));
    }
    if !status.is_success() {
        return Err(TicketSystemError::Unreachable(format!("HTTP {status}")));
    }
    resp.json::<serde_json::Value>()
        .await
        .map(Some)
        .map_err(|e| TicketSystemError::Unexpected(format!("body is not JSON: {e}")))
}

fn send_error(e: reqwest::Error) -> TicketSystemError {
    TicketSystemError::Unreachable(e.without_url().to_string())
}

/// A ticket key as one URL path segment: everything but RFC 3986's unreserved characters is
/// percent-encoded, so a key can never add a path or a query to a connector's URL (and
/// `validate_ticket_key` refuses `.` and `..`).
pub(crate) fn url_segment(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_stays_one_path_segment() {
        assert_eq!(super::url_segment("OPS-142"), "OPS-142");
        assert_eq!(super::url_segment("a/../b?x=1#y"), "a%2F..%2Fb%3Fx%3D1%23y");
        assert_eq!(super::url_segment("é"), "%C3%A9");
    }
}
