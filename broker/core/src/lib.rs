//! The broker's service: each operation loads what it needs, asks the pure domain, and commits the
//! change together with its audit entries. Storage (`store`, private to this crate), ticket
//! connectors, the passkey relying party, the sweep, notifications, the SIEM feed and the metrics
//! live here; HTTP does not.

pub use daypass_broker_domain as domain;

mod access;
mod admin;
mod anomaly;
mod audit;
mod auth;
pub mod clock;
mod emergency;
mod error;
mod geoip;
mod helpdesk;
mod metrics;
mod notify;
mod passkeys;
mod posture;
mod rate_limit;
mod replay;
mod report;
mod reviews;
mod scim;
mod settings;
mod siem;
mod store;
pub mod tickets;
mod witness;

pub use access::{EvidenceBundle, PendingDecision, ResourceLine, StreamHeld, StreamNext, TicketNow};
pub use admin::{BaselineHealth, DeviceSpec, Overview, PersonSpec, ResourceSpec};
pub use anomaly::AnomalySettings;
pub use audit::{syslog_line, VerifyOutcome};
pub use auth::{Caller, SignedRequest};
pub use error::{Conflict, Forbidden, InvalidInput, Missing, ServiceError, ServiceResult, Unauthenticated};
pub use geoip::CountryDb;
pub use helpdesk::{DeviceCard, Found};
pub use metrics::StreamOpen;
pub use notify::Notifier;
pub use passkeys::{Finisher, FromApp, Opened, PasskeySettings, RelyingParty, StepUp};
pub use posture::PostureNonce;
pub use rate_limit::{RateLimit, TooMany};
pub use reviews::{CampaignProgress, CampaignSpec, DeskItem, EvidenceItem, ReviewEvidence};
pub use scim::{ListPage, ListQuery, ScimClient};
pub use settings::{BrokerSettings, PostureSettings};
pub use siem::{HttpCollector, SinkConfig, SyslogTls};
pub use store::{redact_url, ApiToken, AuditFilter, GatewayRecord, PostureRecord, Store, StoreError};
pub use witness::{read_checkpoints, AuditWitness};

use crate::clock::Clock;
use crate::tickets::TicketConnector;
use ed25519_dalek::SigningKey;
use std::sync::Arc;
use time::OffsetDateTime;

struct Inner {
    store: Store,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    tickets: Arc<dyn TicketConnector>,
    settings: BrokerSettings,
    /// The settings' posture baseline with its signature checked once, at start (its expiry is
    /// checked at each judgement: `posture_baseline`).
    baseline: posture::Baselines,
    limits: rate_limit::BrokerLimits,
    seen_nonces: replay::SeenNonces,
    matrix: access::MatrixCopy,
    reports: access::ReportCopies,
    metrics: metrics::BrokerMetrics,
    /// When the sweep last looked for silent devices (unix seconds): it reads every live grant, so
    /// it runs every `SILENCE_CHECK`, not every second.
    silence_checked: std::sync::atomic::AtomicI64,
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
        let baseline = posture::Baselines::new(match &settings.posture.baseline {
            Some((signed, key)) => daypass_posture::baseline::verify_signature(signed, key),
            None => Err(daypass_posture::baseline::BaselineProblem::Missing),
        });
        Broker(Arc::new(Inner {
            store,
            key,
            clock,
            tickets,
            settings,
            baseline,
            limits: rate_limit::BrokerLimits::default(),
            seen_nonces: replay::SeenNonces::default(),
            matrix: access::MatrixCopy::default(),
            reports: access::ReportCopies::default(),
            metrics: metrics::BrokerMetrics::default(),
            silence_checked: std::sync::atomic::AtomicI64::new(i64::MIN),
        }))
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    /// Wakes when a gateway's desired state may have changed (with the gateway's name).
    pub fn gateway_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.0.store.subscribe_gateway_changes()
    }

    /// How often a gateway's stream re-reads its revision without being woken. On SQLite another
    /// process (the CLI's emergency stop, revocations) cannot wake this one, so it looks often (one
    /// indexed read per stream); on PostgreSQL NOTIFY wakes it and this only covers a lost one.
    pub fn stream_recheck(&self) -> std::time::Duration {
        match self.0.store.backend() {
            store::Backend::Sqlite => std::time::Duration::from_millis(250),
            store::Backend::Postgres => std::time::Duration::from_secs(2),
        }
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

    /// How many places outside the database keep each audit checkpoint.
    pub fn audit_witness_places(&self) -> usize {
        self.0.settings.audit_witness.places()
    }

    pub fn ticket_connector_name(&self) -> &'static str {
        self.0.tickets.name()
    }
}
