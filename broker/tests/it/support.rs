//! Test harness: a broker on a fresh SQLite file or a fresh PostgreSQL database, a fake clock,
//! and a seeded organisation.

use daypass_broker_core::clock::FakeClock;
use daypass_broker_core::domain::directory::{Person, Role};
use daypass_broker_core::domain::entitlement::Entitlement;
use daypass_broker_core::domain::policy::{ApprovalPolicy, AutoApprove};
use daypass_broker_core::domain::ticket::Ticket;
use daypass_broker_core::tickets::{BuiltinTickets, TicketConnector};
use daypass_broker_core::Store;
use daypass_broker_core::{Broker, BrokerSettings, DeviceSpec, PersonSpec, ResourceSpec};
use daypass_proto::api::{AccessRequestView, CreateAccessRequest};
use daypass_proto::{PortRange, Protocol};
use ed25519_dalek::SigningKey;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::macros::datetime;
use time::OffsetDateTime;

/// Monday noon UTC: inside any business-hours window.
pub const T0: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

#[derive(Debug, Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub broker: Broker,
    pub clock: FakeClock,
    pub key: SigningKey,
    pub url: String,
    _dir: tempfile::TempDir,
}

/// PostgreSQL for tests: `.ci/run` (README's test command) starts a server and sets this variable.
/// Running without it is an error, never a silent skip.
fn postgres_admin_url() -> String {
    std::env::var("DAYPASS_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("DAYPASS_TEST_POSTGRES_URL is not set: run the tests with `bash scripts/test.sh`, which starts PostgreSQL")
    })
}

/// A broker database opened directly, as someone with access to it (not through the broker).
pub async fn database(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("open the broker's database");
    if url.starts_with("sqlite:") {
        // Wait for the broker's own writer rather than fail while it commits.
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database(db: Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("broker.db").display()),
        Db::Postgres => {
            use sqlx::Connection as _;
            let admin = postgres_admin_url();
            let name = format!("dp_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b)
                .expect("URL has a database part");
            format!("{base}/{name}")
        }
    }
}

pub struct Options {
    pub tickets: Option<Arc<dyn TicketConnector>>,
    pub settings: BrokerSettings,
}

impl Default for Options {
    /// The scenarios here are about access, not posture or passkeys: their devices auto-approve
    /// without a report. The posture tests switch the requirement back on.
    fn default() -> Self {
        let mut settings = BrokerSettings::default();
        settings.posture.auto_approve_requires_report = false;
        // Likewise approvals by API token; the passkey tests switch the step-up requirement back on.
        settings.passkeys.approvals_require_step_up = false;
        Options {
            tickets: None,
            settings,
        }
    }
}

impl Harness {
    pub async fn new(db: Db) -> Harness {
        Harness::with(db, Options::default()).await
    }

    pub async fn with(db: Db, opts: Options) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = fresh_database(db, dir.path()).await;
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let clock = FakeClock::at(T0);
        let broker = open(&url, &key, &clock, opts).await;
        let h = Harness {
            broker,
            clock,
            key,
            url,
            _dir: dir,
        };
        seed(&h.broker).await;
        h
    }

    /// A second broker process on the same database (as several replicas share PostgreSQL).
    pub async fn replica(&self) -> Broker {
        open(&self.url, &self.key, &self.clock, Options::default()).await
    }

    pub async fn person(&self, id: &str) -> Person {
        self.broker.person(id).await.unwrap().expect("seeded person")
    }

    /// Ana (as stored now) asks for `resource` on `ticket`; the request must be accepted.
    pub async fn request(&self, resource: &str, ticket: &str, duration: &str) -> AccessRequestView {
        let ana = self.person("ana").await;
        self.broker
            .create_request(&ana, ask(resource, ticket, duration))
            .await
            .unwrap()
    }

    /// Ana (as stored now) asks for `resource` on `ticket`; the request must be refused.
    pub async fn refused(
        &self,
        resource: &str,
        ticket: &str,
        duration: &str,
    ) -> daypass_broker_core::ServiceError {
        let ana = self.person("ana").await;
        self.broker
            .create_request(&ana, ask(resource, ticket, duration))
            .await
            .unwrap_err()
    }

    /// Like `request`, and it must be auto-approved. Returns the grant id.
    pub async fn granted(&self, resource: &str, ticket: &str, duration: &str) -> uuid::Uuid {
        let view = self.request(resource, ticket, duration).await;
        view.grant_id
            .unwrap_or_else(|| panic!("expected an auto-approved grant, got {:?}", view.status))
    }

    pub async fn audit_head(&self) -> i64 {
        use sqlx::Row as _;
        let mut conn = self.database().await;
        sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>(0)
    }

    /// The broker's database opened directly, as someone with access to it (not through the broker).
    pub async fn database(&self) -> sqlx::AnyConnection {
        database(&self.url).await
    }

    /// Undoes a one-time upgrade with `undo` (the database as an older broker left it), then opens
    /// the database as a starting broker does, which upgrades it again.
    pub async fn upgrade_from_older(&self, undo: &[&str]) {
        let mut conn = self.database().await;
        for statement in undo {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        daypass_broker_core::Store::open(&self.url)
            .await
            .unwrap()
            .close()
            .await;
    }

    pub async fn actions(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.broker
            .export_audit(|e| {
                out.push(e.action.clone());
                Ok(())
            })
            .await
            .unwrap();
        out
    }

    /// What refused ceremonies were refused for, as the audit log says.
    pub async fn refusals(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.broker
            .export_audit(|e| {
                if let Some(why) = e.details["refused"].as_str() {
                    out.push(why.to_string());
                }
                Ok(())
            })
            .await
            .unwrap();
        out
    }

    pub async fn exec(&self, sql: &str) {
        let mut conn = self.database().await;
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row as _;
        let mut conn = self.database().await;
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>(0)
    }
}

async fn open(url: &str, key: &SigningKey, clock: &FakeClock, opts: Options) -> Broker {
    let store = Store::open(url).await.expect("open store");
    let tickets = opts
        .tickets
        .unwrap_or_else(|| Arc::new(BuiltinTickets::new(store.clone())));
    Broker::new(
        store,
        key.clone(),
        Arc::new(clock.clone()),
        tickets,
        opts.settings,
    )
}

pub const WG_KEY: &str = "YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=";
/// A second device's key (two live devices may not share one).
pub const OTHER_WG_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

pub fn spec(id: &str, roles: &[Role], groups: &[&str]) -> PersonSpec {
    PersonSpec {
        id: id.into(),
        name: id.to_uppercase(),
        email: format!("{id}@example.com"),
        company: "Acme Contracting".into(),
        roles: roles.iter().copied().collect(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        contract_end: None,
        ticket_identities: BTreeSet::new(),
    }
}

/// ana (contractor, group dba) may request `db` (auto-approved) and `prod` (two approvers: ben, cy).
/// dan is an approver outside the approver group. Tickets OPS-1 and OPS-2 are open and ana's.
pub async fn seed(b: &Broker) {
    let a = "test";
    b.put_person(a, spec("ana", &[Role::Contractor], &["dba"]))
        .await
        .unwrap();
    b.put_person(a, spec("ben", &[Role::Approver], &["approvers"]))
        .await
        .unwrap();
    b.put_person(a, spec("cy", &[Role::Approver], &["approvers"]))
        .await
        .unwrap();
    b.put_person(a, spec("dan", &[Role::Approver], &[]))
        .await
        .unwrap();
    b.put_person(a, spec("ida", &[Role::Admin], &[])).await.unwrap();
    b.put_person(a, spec("aud", &[Role::Auditor], &[])).await.unwrap();
    b.add_device(
        a,
        DeviceSpec {
            id: "ana-laptop".into(),
            person: "ana".into(),
            name: "laptop".into(),
            wireguard_public_key: WG_KEY.into(),
            report_public_key: None,
        },
    )
    .await
    .unwrap();
    b.put_gateway(a, "gw1", "127.0.0.1:51820", WG_KEY).await.unwrap();
    b.put_policy(
        a,
        ApprovalPolicy {
            name: "low-risk".into(),
            auto_approve: Some(AutoApprove {
                unless_tags: ["env:prod".to_string()].into(),
                hours_utc: None,
                max_duration_seconds: None,
            }),
            approvals_required: 1,
            approver_group: Some("approvers".into()),
        },
    )
    .await
    .unwrap();
    b.put_policy(
        a,
        ApprovalPolicy {
            name: "two".into(),
            auto_approve: None,
            approvals_required: 2,
            approver_group: Some("approvers".into()),
        },
    )
    .await
    .unwrap();
    for (name, addr, tags) in [
        ("db", "10.20.0.10", vec!["db:staging"]),
        ("prod", "10.20.0.20", vec!["env:prod"]),
    ] {
        b.put_resource(
            a,
            ResourceSpec {
                name: name.into(),
                address: addr.into(),
                protocol: Protocol::Tcp,
                ports: vec![PortRange::single(5432)],
                tags: tags.into_iter().map(String::from).collect(),
                gateway: "gw1".into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    }
    for (id, subject, selector, policy) in [
        ("dba", "group:dba", "tag:db:staging", "low-risk"),
        ("ana-prod", "person:ana", "resource:prod", "two"),
    ] {
        b.put_entitlement(
            a,
            Entitlement {
                id: id.into(),
                subject: subject.parse().unwrap(),
                selector: selector.parse().unwrap(),
                max_duration_seconds: 8 * 3600,
                policy: policy.into(),
            },
        )
        .await
        .unwrap();
    }
    for key in ["OPS-1", "OPS-2"] {
        b.put_builtin_ticket(
            a,
            Ticket {
                key: key.into(),
                summary: "work".into(),
                status: "In Progress".into(),
                done: false,
                assignee: Some("ana".into()),
                url: None,
            },
        )
        .await
        .unwrap();
    }
}

pub fn ask(resource: &str, ticket: &str, duration: &str) -> CreateAccessRequest {
    CreateAccessRequest {
        device: "ana-laptop".into(),
        resources: vec![resource.into()],
        ticket: ticket.into(),
        reason: "migrate the schema".into(),
        duration: duration.into(),
    }
}

/// Generates one test per backend for an async scenario `fn(Db)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::support::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::support::Db::Postgres).await })*
        }
    };
}

/// Sends a request through the router: status, JSON body (null when none), content type.
pub async fn send(
    app: &axum::Router,
    req: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, serde_json::Value, String) {
    use tower::ServiceExt as _;
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        ctype,
    )
}

/// An admin with a passkey session in the console, confirmed with the passkey `minutes_ago`.
pub fn console_admin(p: Person, now: time::OffsetDateTime, minutes_ago: i64) -> daypass_broker_core::Caller {
    let session = daypass_broker_core::domain::passkey::Session {
        person: p.id.clone(),
        device: None,
        passkey: "pk".into(),
        created_at: now,
        expires_at: now + time::Duration::hours(1),
        stepped_up_at: Some(now - time::Duration::minutes(minutes_ago)),
        ended_at: None,
    };
    let digest = format!("digest-of-{}", p.id);
    daypass_broker_core::Caller::Session {
        person: p,
        session,
        digest,
    }
}
