//! The broker's Prometheus metrics: counters and the decision-latency histogram kept as things
//! happen in this process, and gauges read from the database at each scrape (so every broker on a
//! shared database reports the same live grants, pending approvals and audit head).

use crate::domain::grant::GrantRecord;
use crate::store::{self, AuditRead};
use crate::{Broker, ServiceError, ServiceResult};
use daypass_proto::api::{AccessRequestView, RequestStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Compliance {
    compliant: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Sink {
    sink: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertRule {
    rule: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Action {
    action: &'static str,
}

/// Latency buckets for an access decision, in seconds (1 ms … 5 s).
const DECISION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub struct BrokerMetrics {
    registry: Registry,
    requests: Family<Outcome, Counter>,
    decision_seconds: Histogram,
    posture_reports: Family<Compliance, Counter>,
    holds: Family<Action, Counter>,
    gateway_streams: Gauge,
    live_grants: Gauge,
    suspended_grants: Gauge,
    pending_approvals: Gauge,
    audit_head: Gauge,
    audit_unsealed: Gauge,
    siem_lag: Family<Sink, Gauge>,
    siem_failures: Family<Sink, Counter>,
    alerts: Family<AlertRule, Counter>,
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        let m = BrokerMetrics {
            registry: Registry::with_prefix("daypass"),
            requests: Family::default(),
            decision_seconds: Histogram::new(DECISION_BUCKETS),
            posture_reports: Family::default(),
            holds: Family::default(),
            gateway_streams: Gauge::default(),
            live_grants: Gauge::default(),
            suspended_grants: Gauge::default(),
            pending_approvals: Gauge::default(),
            audit_head: Gauge::default(),
            audit_unsealed: Gauge::default(),
            siem_lag: Family::default(),
            siem_failures: Family::default(),
            alerts: Family::default(),
        };
        let mut registry = m.registry;
        registry.register(
            "access_requests",
            "Access requests this broker decided, by outcome (granted, pending, refused, invalid, error)",
            m.requests.clone(),
        );
        registry.register(
            "access_decision_duration_seconds",
            "Time from an access request's arrival to its decision being stored",
            m.decision_seconds.clone(),
        );
        registry.register(
            "posture_reports",
            "Signed posture reports this broker accepted, by the broker's verdict",
            m.posture_reports.clone(),
        );
        registry.register(
            "grant_holds",
            "Grants this broker suspended or resumed for their device's posture",
            m.holds.clone(),
        );
        registry.register(
            "gateway_streams",
            "Gateways holding this broker's state stream now",
            m.gateway_streams.clone(),
        );
        registry.register(
            "grants_live",
            "Grants neither ended nor past not_after (suspended ones included)",
            m.live_grants.clone(),
        );
        registry.register(
            "grants_suspended",
            "Live grants held because their device's posture failed or went silent",
            m.suspended_grants.clone(),
        );
        registry.register(
            "approvals_pending",
            "Access requests waiting for approvers",
            m.pending_approvals.clone(),
        );
        registry.register(
            "audit_head_sequence",
            "Sequence number of the newest audit entry",
            m.audit_head.clone(),
        );
        registry.register(
            "audit_unsealed_entries",
            "Audit entries after the last signed checkpoint",
            m.audit_unsealed.clone(),
        );
        registry.register(
            "siem_feed_lag_entries",
            "Audit entries a SIEM collector does not have yet (head minus the feed's cursor)",
            m.siem_lag.clone(),
        );
        registry.register(
            "siem_feed_failures",
            "Failed deliveries to a SIEM collector (each followed by a resend)",
            m.siem_failures.clone(),
        );
        registry.register("alerts", "Anomaly alerts raised, by rule", m.alerts.clone());
        for rule in crate::domain::anomaly::Rule::ALL {
            let _ = m.alerts.get_or_create(&AlertRule { rule: rule.name() });
        }
        // Every label value from the start, so a rate is defined before the first event.
        for outcome in ["granted", "pending", "refused", "invalid", "error"] {
            let _ = m.requests.get_or_create(&Outcome { outcome });
        }
        for compliant in ["true", "false"] {
            let _ = m.posture_reports.get_or_create(&Compliance { compliant });
        }
        for action in ["grant.suspended", "grant.resumed"] {
            let _ = m.holds.get_or_create(&Action { action });
        }
        BrokerMetrics { registry, ..m }
    }
}

impl BrokerMetrics {
    pub(crate) fn decided(&self, result: Result<&AccessRequestView, &ServiceError>, took: Duration) {
        let outcome = match result {
            Ok(v) if v.status == RequestStatus::Granted => "granted",
            Ok(v) if v.status == RequestStatus::Pending => "pending",
            Ok(_) => "refused",
            Err(ServiceError::Invalid(_)) => "invalid",
            Err(ServiceError::Store(_) | ServiceError::Internal(_) | ServiceError::TicketSystem(_)) => {
                "error"
            }
            Err(_) => "refused",
        };
        self.requests.get_or_create(&Outcome { outcome }).inc();
        self.decision_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn posture_report(&self, compliant: bool) {
        let compliant = if compliant { "true" } else { "false" };
        self.posture_reports
            .get_or_create(&Compliance { compliant })
            .inc();
    }

    pub(crate) fn alert_raised(&self, rule: &'static str) {
        self.alerts.get_or_create(&AlertRule { rule }).inc();
    }

    pub(crate) fn siem_failure(&self, sink: &str) {
        self.siem_failures
            .get_or_create(&Sink {
                sink: sink.to_string(),
            })
            .inc();
    }

    pub(crate) fn hold_changed(&self, action: &'static str) {
        self.holds.get_or_create(&Action { action }).inc();
    }
}

/// Counts one gateway stream for as long as it is kept.
pub struct StreamOpen(Gauge);

impl Drop for StreamOpen {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Broker {
    /// Marks a gateway's stream open until the returned guard is dropped.
    pub fn gateway_stream_opened(&self) -> StreamOpen {
        let gauge = self.0.metrics.gateway_streams.clone();
        gauge.inc();
        StreamOpen(gauge)
    }

    /// The OpenMetrics text exposition of every metric, the database's gauges read now.
    pub async fn metrics_text(&self) -> ServiceResult<String> {
        let now = self.now();
        let mut conn = self.store().read().await?;
        let open = store::open_grants(&mut conn).await?;
        let live: Vec<&GrantRecord> = open.iter().filter(|g| g.is_live(now)).collect();
        let pending = store::pending_requests(&mut conn)
            .await?
            .iter()
            .filter(|r| r.ensure_pending(now).is_ok())
            .count();
        let (head, _) = AuditRead::head(&mut conn).await?;
        let sealed = AuditRead::checkpoints(&mut conn)
            .await?
            .last()
            .map_or(0, |c| c.seq);
        drop(conn);
        let lag = self.siem_lag().await?;
        let m = &self.0.metrics;
        for (sink, behind) in lag {
            m.siem_lag.get_or_create(&Sink { sink }).set(behind);
        }
        m.live_grants.set(live.len() as i64);
        m.suspended_grants
            .set(live.iter().filter(|g| g.suspension().is_some()).count() as i64);
        m.pending_approvals.set(pending as i64);
        m.audit_head.set(head);
        m.audit_unsealed.set(head - sealed);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry)
            .map_err(|e| ServiceError::Internal(format!("encoding metrics: {e}")))?;
        Ok(text)
    }
}
