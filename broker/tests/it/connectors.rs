//! Ticket connectors against a local ticket server that answers with the shapes Jira documents
//! (and a generic JSON service), including their credentials and failure modes.

use crate::support::{ask, Db, Harness, Options};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use daypass_broker_core::domain::ticket::TicketProblem;
use daypass_broker_core::tickets::{
    HttpJsonSettings, HttpJsonTickets, JiraSettings, JiraTickets, TicketConnector, TicketSystemError,
};
use daypass_broker_core::ServiceError;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Issues the server knows, by key; editable while it runs.
type Issues = Arc<Mutex<HashMap<String, Value>>>;

#[derive(Clone)]
struct TicketServer {
    issues: Issues,
    expected_auth: String,
}

fn jira_issue(key: &str, status: &str, category: &str, assignee: Option<Value>) -> Value {
    json!({
        "id": "10001", "key": key, "self": format!("http://jira/rest/api/3/issue/{key}"),
        "fields": {
            "summary": "Rotate certificates",
            "status": { "name": status, "statusCategory": { "key": category, "name": status } },
            "assignee": assignee.unwrap_or(Value::Null),
        }
    })
}

async fn jira_issue_handler(
    State(s): State<TicketServer>,
    headers: HeaderMap,
    Path((_v, key)): Path<(String, String)>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(s.expected_auth.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errorMessages": ["You are not authenticated."]})),
        );
    }
    match s.issues.lock().unwrap().get(&key) {
        Some(issue) => (StatusCode::OK, Json(issue.clone())),
        None => (
            StatusCode::NOT_FOUND,
            Json(
                json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}),
            ),
        ),
    }
}

async fn generic_handler(
    State(s): State<TicketServer>,
    Path(key): Path<String>,
) -> (StatusCode, Json<Value>) {
    match s.issues.lock().unwrap().get(&key) {
        Some(t) => (StatusCode::OK, Json(t.clone())),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such ticket"}))),
    }
}

async fn start(expected_auth: &str) -> (String, Issues) {
    let issues: Issues = Arc::default();
    let state = TicketServer {
        issues: issues.clone(),
        expected_auth: expected_auth.into(),
    };
    let app = Router::new()
        .route("/rest/api/{v}/issue/{key}", get(jira_issue_handler))
        .route("/tickets/{key}", get(generic_handler))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), issues)
}

fn jira(base: &str, email: Option<&str>, token: &str, api_version: u8) -> JiraTickets {
    JiraTickets::new(JiraSettings {
        base_url: base.into(),
        api_version,
        email: email.map(Into::into),
        token: token.to_string().into(),
        ca_file: None,
    })
    .unwrap()
}

#[tokio::test]
async fn jira_cloud_basic_auth_reads_status_category_and_account_id() {
    // Basic base64("bot@acme.test:cloud-token")
    let (base, issues) = start("Basic Ym90QGFjbWUudGVzdDpjbG91ZC10b2tlbg==").await;
    issues.lock().unwrap().insert(
        "OPS-7".into(),
        jira_issue(
            "OPS-7",
            "In Review",
            "indeterminate",
            Some(json!({"accountId": "5b10ac8d82e05b22cc7d4ef5"})),
        ),
    );
    issues
        .lock()
        .unwrap()
        .insert("OPS-8".into(), jira_issue("OPS-8", "Closed", "done", None));
    let c = jira(&base, Some("bot@acme.test"), "cloud-token", 3);
    let t = c.fetch("OPS-7").await.unwrap().unwrap();
    assert_eq!(
        (t.done, t.assignee.as_deref(), t.status.as_str()),
        (false, Some("5b10ac8d82e05b22cc7d4ef5"), "In Review")
    );
    assert!(c.fetch("OPS-8").await.unwrap().unwrap().done);
    assert_eq!(c.fetch("OPS-404").await.unwrap(), None);
    let wrong = jira(&base, Some("bot@acme.test"), "stale", 3)
        .fetch("OPS-7")
        .await
        .unwrap_err();
    assert!(matches!(wrong, TicketSystemError::Unauthorized(401)), "{wrong}");
}

#[tokio::test]
async fn jira_data_center_bearer_token_reads_username() {
    let (base, issues) = start("Bearer pat-123").await;
    issues.lock().unwrap().insert(
        "OPS-9".into(),
        jira_issue(
            "OPS-9",
            "In Progress",
            "indeterminate",
            Some(json!({"name": "ana", "emailAddress": "ana@example.com"})),
        ),
    );
    let t = jira(&base, None, "pat-123", 2)
        .fetch("OPS-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.assignee.as_deref(), Some("ana"));
}

#[tokio::test]
async fn unreachable_ticket_system_refuses_new_access() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let h = Harness::with(
        Db::Sqlite,
        Options {
            tickets: Some(Arc::new(jira(&dead, None, "x", 2))),
            ..Options::default()
        },
    )
    .await;
    let err = h.refused("db", "OPS-1", "1h").await;
    assert!(
        matches!(err, ServiceError::TicketSystem(TicketSystemError::Unreachable(_))),
        "{err}"
    );
    assert_eq!(h.count("grants").await, 0);
}

#[tokio::test]
async fn broker_on_jira_grants_for_assigned_open_issue_and_ends_it_when_the_issue_closes() {
    let (base, issues) = start("Bearer pat-123").await;
    issues.lock().unwrap().insert(
        "OPS-1".into(),
        jira_issue(
            "OPS-1",
            "In Progress",
            "indeterminate",
            Some(json!({"name": "ana"})),
        ),
    );
    issues.lock().unwrap().insert(
        "OPS-2".into(),
        jira_issue(
            "OPS-2",
            "In Progress",
            "indeterminate",
            Some(json!({"name": "ben"})),
        ),
    );
    let h = Harness::with(
        Db::Sqlite,
        Options {
            tickets: Some(Arc::new(jira(&base, None, "pat-123", 2))),
            ..Options::default()
        },
    )
    .await;
    let ana = h.person("ana").await;
    let not_mine = h
        .broker
        .create_request(&ana, ask("db", "OPS-2", "1h"))
        .await
        .unwrap_err();
    assert!(
        matches!(&not_mine, ServiceError::Ticket(TicketProblem::NotAssignee { assignee, .. }) if assignee == "ben"),
        "{not_mine}"
    );
    let missing = h
        .broker
        .create_request(&ana, ask("db", "OPS-3", "1h"))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ServiceError::Ticket(TicketProblem::NotFound(k)) if k == "OPS-3"),
        "{missing}"
    );
    let gid = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap()
        .grant_id
        .unwrap();

    // The poll finds nothing to end while the issue is open…
    assert!(h.broker.poll_tickets().await.unwrap().is_empty());
    // …without waiting for the audit head, which another writer holds: a poll that ends nothing
    // does not take the write lock (every ticket, every minute, on every broker).
    let other = daypass_broker_core::Store::open(&h.url).await.unwrap();
    let holding = other.change().await.unwrap();
    let polled = tokio::time::timeout(std::time::Duration::from_secs(5), h.broker.poll_tickets()).await;
    assert!(polled
        .expect("the poll waited for the write lock")
        .unwrap()
        .is_empty());
    drop(holding);
    // …and ends the grant once Jira says done.
    issues.lock().unwrap().insert(
        "OPS-1".into(),
        jira_issue("OPS-1", "Done", "done", Some(json!({"name": "ana"}))),
    );
    assert_eq!(h.broker.poll_tickets().await.unwrap(), vec![gid]);
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

#[tokio::test]
async fn generic_http_connector_maps_fields_by_pointer() {
    let (base, issues) = start("unused").await;
    issues.lock().unwrap().insert(
        "T-1".into(),
        json!({"ticket": {"state": "WORKING", "owner": {"login": "ana"}, "title": "fix"}}),
    );
    issues.lock().unwrap().insert(
        "T-2".into(),
        json!({"ticket": {"state": "Resolved", "owner": null}}),
    );
    issues.lock().unwrap().insert("T-3".into(), json!({"ticket": {}}));
    let settings: HttpJsonSettings = toml::from_str(&format!(
        "url = \"{base}/tickets/{{key}}\"\nstatus_pointer = \"/ticket/state\"\nassignee_pointer = \"/ticket/owner/login\"\nsummary_pointer = \"/ticket/title\""
    ))
    .unwrap();
    let c = HttpJsonTickets::new(settings).unwrap();
    let t1 = c.fetch("T-1").await.unwrap().unwrap();
    assert_eq!(
        (t1.done, t1.assignee.as_deref(), t1.summary.as_str()),
        (false, Some("ana"), "fix")
    );
    let t2 = c.fetch("T-2").await.unwrap().unwrap();
    assert!(t2.done && t2.assignee.is_none());
    assert!(
        matches!(
            c.fetch("T-3").await.unwrap_err(),
            TicketSystemError::Unexpected(_)
        ),
        "no status is an error, never an open ticket"
    );
    assert_eq!(c.fetch("T-404").await.unwrap(), None);
}

/// A key typed in another case, or a moved issue's old key, is kept as Jira spells it now, so the
/// webhook that names the issue finds the grant.
#[tokio::test]
async fn grants_keep_the_ticket_key_as_the_ticket_system_spells_it() {
    let (base, issues) = start("Bearer pat-123").await;
    let moved = jira_issue(
        "NEW-5",
        "In Progress",
        "indeterminate",
        Some(json!({"name": "ana"})),
    );
    issues.lock().unwrap().insert("OPS-9".into(), moved.clone());
    issues.lock().unwrap().insert("NEW-5".into(), moved);
    let h = Harness::with(
        Db::Sqlite,
        Options {
            tickets: Some(Arc::new(jira(&base, None, "pat-123", 2))),
            ..Options::default()
        },
    )
    .await;
    let ana = h.person("ana").await;
    let view = h
        .broker
        .create_request(&ana, ask("db", "OPS-9", "1h"))
        .await
        .unwrap();
    assert_eq!(view.ticket, "NEW-5");
    let gid = view.grant_id.unwrap();
    issues.lock().unwrap().insert(
        "NEW-5".into(),
        jira_issue("NEW-5", "Done", "done", Some(json!({"name": "ana"}))),
    );
    let outcome = h.broker.recheck_ticket("NEW-5", "tickets:webhook").await.unwrap();
    assert_eq!(outcome.grants_ended, vec![gid]);
}
