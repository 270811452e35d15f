//! Collectors over HTTP: Splunk's HTTP Event Collector (one JSON event per entry, `Authorization:
//! Splunk TOKEN`) and plain JSON lines (one entry per line, an optional bearer token). A batch is
//! delivered when the collector answers 2xx.

use super::{Collector, HttpCollector};
use crate::domain::audit::AuditEntry;
use daypass_https::Trust;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    SplunkHec,
    JsonLines,
}

pub struct HttpFeed {
    url: String,
    format: Format,
    token: Option<SecretString>,
    host: String,
    client: reqwest::Client,
}

impl HttpFeed {
    pub fn new(config: &HttpCollector, format: Format, token: Option<SecretString>) -> Result<Self, String> {
        let name = &config.name;
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| format!("siem {name:?}: url {:?}: {e}", config.url))?;
        if url.scheme() != "https"
            && !url
                .host_str()
                .is_some_and(|h| h == "localhost" || h.starts_with("127."))
        {
            return Err(format!(
                "siem {name:?}: {url} is not https: audit entries leave this machine only encrypted"
            ));
        }
        let client = daypass_https::builder(Trust::PublicAnd(config.ca_file.as_deref()))
            .and_then(|b| Ok(b.timeout(Duration::from_secs(10)).build()?))
            .map_err(|e| format!("siem {name:?}: {e:#}"))?;
        Ok(HttpFeed {
            url: config.url.clone(),
            format,
            token,
            host: super::host_name(),
            client,
        })
    }

    /// The request body for a batch.
    pub fn body(&self, entries: &[AuditEntry]) -> String {
        entries
            .iter()
            .map(|e| {
                let line = match self.format {
                    Format::SplunkHec => json!({
                        "time": e.at.unix_timestamp(), "host": self.host, "source": "daypass-broker",
                        "sourcetype": "daypass:audit", "event": e,
                    }),
                    Format::JsonLines => json!(e),
                };
                format!("{line}\n")
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Collector for HttpFeed {
    async fn send(&mut self, entries: &[AuditEntry]) -> Result<bool, String> {
        let mut request = self.client.post(&self.url).body(self.body(entries));
        request = match (self.format, &self.token) {
            (Format::SplunkHec, Some(t)) => {
                request.header("Authorization", format!("Splunk {}", t.expose_secret()))
            }
            (Format::JsonLines, Some(t)) => request.bearer_auth(t.expose_secret()),
            (_, None) => request,
        };
        let content_type = match self.format {
            Format::SplunkHec => "application/json",
            Format::JsonLines => "application/x-ndjson",
        };
        let answer = request
            .header("Content-Type", content_type)
            .send()
            .await
            .map_err(|e| format!("posting to {}: {}", self.url, e.without_url()))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(true);
        }
        let text = answer.text().await.unwrap_or_default();
        Err(format!(
            "{} answered {status}: {}",
            self.url,
            text.chars().take(200).collect::<String>()
        ))
    }

    async fn still_open(&mut self) -> bool {
        true
    }

    fn reset(&mut self) {}
}
