//! The broker's service: each operation loads what it needs, asks the pure domain, and commits the
//! change together with its audit entries. Storage (`store`, private to this crate), ticket
//! connectors, the passkey relying party, the sweep and notifications live here; HTTP does not.

pub use daypass_broker_domain as domain;

mod access;
mod admin;
mod approval_queue;
mod audit;
mod auth;
pub mod clock;
mod evidence;
mod grants;
mod helpdesk;
mod listings;
mod notify;
mod overview;
mod passkeys;
mod posture;
mod report;
mod sessions;
mod store;
mod sweep;
pub mod tickets;

pub use admin::{DeviceSpec, PersonSpec, ResourceSpec};
pub use approval_queue::{PendingDecision, ResourceLine, TicketNow};
pub use audit::{syslog_line, VerifyOutcome};
pub use auth::{Caller, SignedRequest};
pub use evidence::EvidenceBundle;
pub use helpdesk::{DeviceCard, Found};
pub use notify::Notifier;
pub use overview::Overview;
pub use passkeys::{Finisher, FromApp, PasskeySettings, RelyingParty};
pub use posture::PostureNonce;
pub use sessions::{Opened, StepUp};
pub use store::{redact_url, AuditFilter, GatewayRecord, PostureRecord, Store, StoreError};

use crate::clock::Clock;
use crate::domain::decision::AccessRefusal;
use crate::domain::entitlement::MatrixRefusal;
use crate::domain::policy::ApprovalRefusal;
use crate::domain::request::RequestRefusal;
use crate::domain::ticket::TicketProblem;
use crate::tickets::{TicketConnector, TicketSystemError};
use ed25519_dalek::SigningKey;
use ipnet::Ipv4Net;
use std::sync::Arc;
use time::OffsetDateTime;

/// How the broker judges device posture.
#[derive(Debug, Clone)]
pub struct PostureSettings {
    pub policy: daypass_posture::policy::Policy,
    /// The signed baseline and the key it must be signed with; without it patch checks are unknown.
    pub baseline: Option<(
        daypass_proto::Signed<daypass_posture::baseline::Baseline>,
        ed25519_dalek::VerifyingKey,
    )>,
    /// Requests for resources with any of these tags need a fresh, compliant report from the device.
    pub required_tags: std::collections::BTreeSet<String>,
    /// Stricter policies for some tags (production may demand more than staging): a request for a
    /// resource with such a tag needs a fresh report that passes this policy as well as `policy`.
    pub tag_policies: std::collections::BTreeMap<String, daypass_posture::policy::Policy>,
    /// Auto-approval only for a device with a fresh report that passes `policy`; without one the
    /// request waits for approvers, who see why.
    pub auto_approve_requires_report: bool,
    /// How old that report may be.
    pub max_age: time::Duration,
}

impl PostureSettings {
    /// The posture policies a request for resources with these tags must pass, labelled for
    /// refusals: the organisation's, then each requested tag's own; `None` when no tag gates it.
    pub fn gating(&self, tags: &[String]) -> Option<Vec<(String, &daypass_posture::policy::Policy)>> {
        let gated = tags
            .iter()
            .any(|t| self.required_tags.contains(t) || self.tag_policies.contains_key(t));
        if !gated {
            return None;
        }
        let mut rules = vec![("the organisation's policy".to_string(), &self.policy)];
        let tagged: std::collections::BTreeSet<&String> = tags.iter().collect();
        rules.extend(tagged.into_iter().filter_map(|t| {
            self.tag_policies
                .get(t)
                .map(|p| (format!("the policy for {t}"), p))
        }));
        Some(rules)
    }
}

impl Default for PostureSettings {
    fn default() -> Self {
        PostureSettings {
            policy: Default::default(),
            baseline: None,
            required_tags: Default::default(),
            tag_policies: Default::default(),
            auto_approve_requires_report: true,
            max_age: time::Duration::minutes(15),
        }
    }
}

/// Tunables that are policy rather than code.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// How long a request waits for approval before it expires.
    pub pending_ttl_seconds: i64,
    /// Whether the requester must be the ticket's assignee.
    pub require_ticket_assignee: bool,
    /// Devices get their tunnel address from this network.
    pub tunnel_network: Ipv4Net,
    pub posture: PostureSettings,
    pub passkeys: PasskeySettings,
    /// Where waiting requests are announced (a Slack-compatible incoming webhook).
    pub approval_webhook: Option<Notifier>,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            pending_ttl_seconds: crate::domain::request::DEFAULT_PENDING_TTL_SECONDS,
            require_ticket_assignee: true,
            tunnel_network: "100.96.0.0/16".parse().expect("constant network"),
            posture: PostureSettings::default(),
            passkeys: PasskeySettings::default(),
            approval_webhook: None,
        }
    }
}

struct Inner {
    store: Store,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    tickets: Arc<dyn TicketConnector>,
    settings: BrokerSettings,
}

/// The broker service; cheap to clone, shared by the HTTP API, the CLI and background tasks.
#[derive(Clone)]
pub struct Broker(Arc<Inner>);

impl Broker {
    pub fn new(
        store: Store,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        tickets: Arc<dyn TicketConnector>,
        settings: BrokerSettings,
    ) -> Self {
        Broker(Arc::new(Inner {
            store,
            key,
            clock,
            tickets,
            settings,
        }))
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    /// Wakes when a gateway's desired state may have changed (with the gateway's name).
    pub fn gateway_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.0.store.subscribe_gateway_changes()
    }

    /// With PostgreSQL, hears other brokers' gateway changes too (a no-op on SQLite).
    pub async fn listen_for_other_brokers(&self) -> ServiceResult<()> {
        Ok(self.0.store.listen_for_other_brokers().await?)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.0.clock.now()
    }

    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.0.key.verifying_key()
    }

    pub fn ticket_connector_name(&self) -> &'static str {
        self.0.tickets.name()
    }
}

/// Everything an operation can refuse with; the API maps each to a status and problem type.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    NotEntitled(#[from] MatrixRefusal),
    #[error(transparent)]
    Ticket(#[from] TicketProblem),
    #[error(transparent)]
    Approval(#[from] ApprovalRefusal),
    #[error(transparent)]
    Request(#[from] RequestRefusal),
    #[error("{0}")]
    Posture(String),
    #[error(
        "these resources are sensitive: confirm with your passkey (within {max_age_minutes} minutes) and ask again"
    )]
    StepUpNeeded { max_age_minutes: i64 },
    #[error(transparent)]
    TicketSystem(#[from] TicketSystemError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccessRefusal> for ServiceError {
    fn from(refused: AccessRefusal) -> Self {
        match refused {
            AccessRefusal::Matrix(m) => ServiceError::NotEntitled(m),
            AccessRefusal::Ticket(t) => ServiceError::Ticket(t),
            AccessRefusal::Posture { reason } => ServiceError::Posture(reason),
            AccessRefusal::StepUpNeeded { max_age_minutes } => ServiceError::StepUpNeeded { max_age_minutes },
            missing @ AccessRefusal::MissingPolicy(_) => ServiceError::Conflict(missing.to_string()),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::Database(e))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
