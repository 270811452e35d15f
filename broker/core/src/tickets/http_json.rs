//! Generic HTTP connector: GET a URL per ticket and read status and assignee from the JSON by pointer.

use super::{read_json, send_error, TicketConnector, TicketSystemError};
use crate::domain::ticket::Ticket;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonSettings {
    /// URL with `{key}` where the ticket key goes, e.g. `https://tickets.internal/api/tickets/{key}`.
    pub url: String,
    pub token: Option<SecretString>,
    /// JSON pointers (RFC 6901) into the answer.
    #[serde(default = "default_status_pointer")]
    pub status_pointer: String,
    #[serde(default = "default_assignee_pointer")]
    pub assignee_pointer: String,
    #[serde(default = "default_summary_pointer")]
    pub summary_pointer: String,
    /// Status values (case-insensitive) that mean the work is finished.
    #[serde(default = "default_done_values")]
    pub done_values: Vec<String>,
    pub ca_file: Option<PathBuf>,
}

fn default_status_pointer() -> String {
    "/status".into()
}
fn default_assignee_pointer() -> String {
    "/assignee".into()
}
fn default_summary_pointer() -> String {
    "/summary".into()
}
fn default_done_values() -> Vec<String> {
    ["done", "closed", "resolved", "cancelled", "canceled"]
        .map(String::from)
        .to_vec()
}

pub struct HttpJsonTickets {
    settings: HttpJsonSettings,
    client: reqwest::Client,
}

impl HttpJsonTickets {
    pub fn new(settings: HttpJsonSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.url.contains("{key}"),
            "tickets.url must contain {{key}}: {}",
            settings.url
        );
        let client = super::http_client(settings.ca_file.as_deref())?;
        Ok(HttpJsonTickets { settings, client })
    }

    fn ticket_from(&self, key: &str, body: &Value) -> Result<Ticket, TicketSystemError> {
        let s = &self.settings;
        let text = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
        let status = text(&s.status_pointer).ok_or_else(|| {
            TicketSystemError::Unexpected(format!("no string at {} in the ticket JSON", s.status_pointer))
        })?;
        Ok(Ticket {
            key: key.to_string(),
            summary: text(&s.summary_pointer).unwrap_or_default(),
            done: s.done_values.iter().any(|d| d.eq_ignore_ascii_case(&status)),
            status,
            assignee: text(&s.assignee_pointer).filter(|a| !a.is_empty()),
            url: None,
        })
    }
}

#[async_trait::async_trait]
impl TicketConnector for HttpJsonTickets {
    async fn fetch(&self, key: &str) -> Result<Option<Ticket>, TicketSystemError> {
        let mut req = self
            .client
            .get(self.settings.url.replace("{key}", &super::url_segment(key)))
            .header("Accept", "application/json");
        if let Some(token) = &self.settings.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let body = read_json(req.send().await.map_err(send_error)?).await?;
        body.map(|b| self.ticket_from(key, &b)).transpose()
    }

    fn name(&self) -> &'static str {
        "http"
    }
}
