//! Jira connector: REST API v2 (Data Center, personal access token) or v3 (Cloud, email + API token).

use super::{read_json, send_error, TicketConnector, TicketSystemError};
use crate::domain::ticket::Ticket;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraSettings {
    /// e.g. `https://acme.atlassian.net` or `https://jira.internal`.
    pub base_url: String,
    /// 2 (Data Center / Server) or 3 (Cloud).
    #[serde(default = "default_api_version")]
    pub api_version: u8,
    /// Cloud: the account email, used with the API token in Basic auth. Absent: the token is a Bearer PAT.
    pub email: Option<String>,
    pub token: SecretString,
    pub ca_file: Option<PathBuf>,
}

fn default_api_version() -> u8 {
    3
}

pub struct JiraTickets {
    settings: JiraSettings,
    client: reqwest::Client,
}

impl JiraTickets {
    pub fn new(settings: JiraSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            matches!(settings.api_version, 2 | 3),
            "jira api_version must be 2 or 3, not {}",
            settings.api_version
        );
        let client = super::http_client(settings.ca_file.as_deref())?;
        Ok(JiraTickets { settings, client })
    }
}

/// Reads the fields Daypass needs from a Jira issue body (same shape in v2 and v3).
pub fn ticket_from_issue(key: &str, issue: &Value, browse_base: &str) -> Result<Ticket, TicketSystemError> {
    let fields = issue
        .get("fields")
        .ok_or_else(|| TicketSystemError::Unexpected("issue has no `fields`".into()))?;
    let status = fields
        .pointer("/status/name")
        .and_then(Value::as_str)
        .ok_or_else(|| TicketSystemError::Unexpected("issue has no `fields.status.name`".into()))?;
    let category = fields
        .pointer("/status/statusCategory/key")
        .and_then(Value::as_str)
        .unwrap_or("");
    let assignee = fields.get("assignee").filter(|a| !a.is_null()).and_then(|a| {
        ["accountId", "name", "emailAddress", "key"]
            .iter()
            .find_map(|f| a.get(*f).and_then(Value::as_str))
            .map(str::to_string)
    });
    let issue_key = issue.get("key").and_then(Value::as_str).unwrap_or(key);
    Ok(Ticket {
        key: issue_key.to_string(),
        summary: fields
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        status: status.to_string(),
        done: category == "done",
        assignee,
        url: Some(format!(
            "{}/browse/{issue_key}",
            browse_base.trim_end_matches('/')
        )),
    })
}

#[async_trait::async_trait]
impl TicketConnector for JiraTickets {
    async fn fetch(&self, key: &str) -> Result<Option<Ticket>, TicketSystemError> {
        let s = &self.settings;
        let url = format!(
            "{}/rest/api/{}/issue/{}?fields=summary,status,assignee",
            s.base_url.trim_end_matches('/'),
            s.api_version,
            super::url_segment(key)
        );
        let req = self.client.get(url).header("Accept", "application/json");
        let req = match &s.email {
            Some(email) => req.basic_auth(email, Some(s.token.expose_secret())),
            None => req.bearer_auth(s.token.expose_secret()),
        };
        let body = read_json(req.send().await.map_err(send_error)?).await?;
        body.map(|issue| ticket_from_issue(key, &issue, &s.base_url))
            .transpose()
    }

    fn name(&self) -> &'static str {
        "jira"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloud_issue_in_done_category_is_done_and_names_the_account_id() {
        let issue = json!({"key": "OPS-7", "fields": {"summary": "s",
            "status": {"name": "Closed", "statusCategory": {"key": "done"}},
            "assignee": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Ana"}}});
        let t = ticket_from_issue("OPS-7", &issue, "https://acme.atlassian.net/").unwrap();
        assert!(t.done);
        assert_eq!(t.assignee.as_deref(), Some("5b10ac8d82e05b22cc7d4ef5"));
        assert_eq!(t.url.as_deref(), Some("https://acme.atlassian.net/browse/OPS-7"));
    }

    #[test]
    fn data_center_issue_uses_the_username_and_unassigned_is_none() {
        let issue = json!({"key": "OPS-8", "fields": {"summary": "s",
            "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            "assignee": {"name": "ana", "emailAddress": "ana@example.com"}}});
        let t = ticket_from_issue("OPS-8", &issue, "https://jira").unwrap();
        assert!(!t.done);
        assert_eq!(t.assignee.as_deref(), Some("ana"));
        let unassigned = json!({"fields": {"status": {"name": "Open", "statusCategory": {"key": "new"}}, "assignee": null}});
        assert_eq!(
            ticket_from_issue("OPS-9", &unassigned, "https://jira")
                .unwrap()
                .assignee,
            None
        );
    }

    #[test]
    fn body_without_status_is_an_error_not_an_open_ticket() {
        assert!(ticket_from_issue("OPS-1", &json!({"fields": {}}), "https://jira").is_err());
    }
}
