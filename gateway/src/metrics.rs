//! The gateway's Prometheus metrics, served beside `/health`: peers and allow entries applied,
//! grants enforced, the revision held, how long each reconcile took, and the broker link.

use crate::link::LinkStatus;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Reconcile latency buckets, in seconds (100 µs … 2.5 s).
const RECONCILE_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

pub struct GatewayMetrics {
    registry: Registry,
    peers: Gauge,
    allow_entries: Gauge,
    grants: Gauge,
    revision: Gauge,
    reconcile_seconds: Histogram,
    enforce_failures: Counter,
    states_refused: Counter,
    broker_connected: Gauge,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        let m = GatewayMetrics {
            registry: Registry::with_prefix("daypass_gateway"),
            peers: Gauge::default(),
            allow_entries: Gauge::default(),
            grants: Gauge::default(),
            revision: Gauge::default(),
            reconcile_seconds: Histogram::new(RECONCILE_BUCKETS),
            enforce_failures: Counter::default(),
            states_refused: Counter::default(),
            broker_connected: Gauge::default(),
        };
        let mut r = m.registry;
        r.register(
            "peers",
            "WireGuard peers applied on the interface",
            m.peers.clone(),
        );
        r.register(
            "allow_entries",
            "Firewall allow entries (device, address, protocol, port) applied",
            m.allow_entries.clone(),
        );
        r.register("grants_active", "Grants enforced now", m.grants.clone());
        r.register(
            "state_revision",
            "Revision of the broker state held (-1 before any)",
            m.revision.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Time to verify, plan and apply a state or a timed change",
            m.reconcile_seconds.clone(),
        );
        r.register(
            "enforce_failures",
            "Reconciles that could not apply peers or firewall entries",
            m.enforce_failures.clone(),
        );
        r.register(
            "states_refused",
            "States from the broker refused (older than held, or a seal that does not hold)",
            m.states_refused.clone(),
        );
        r.register(
            "broker_connected",
            "1 while the broker's state stream is connected, else 0",
            m.broker_connected.clone(),
        );
        m.revision.set(-1);
        GatewayMetrics { registry: r, ..m }
    }
}

impl GatewayMetrics {
    /// One reconcile done (or failed) in `took`, leaving this much applied.
    pub fn reconciled(&self, took: Duration, ok: bool, applied: Applied) {
        self.reconcile_seconds.observe(took.as_secs_f64());
        if !ok {
            self.enforce_failures.inc();
        }
        self.peers.set(applied.peers as i64);
        self.allow_entries.set(applied.allows as i64);
        self.grants.set(applied.grants as i64);
        self.revision.set(applied.revision.unwrap_or(-1));
    }

    pub fn state_refused(&self) {
        self.states_refused.inc();
    }

    pub fn link(&self, status: &LinkStatus) {
        self.broker_connected
            .set(i64::from(matches!(status, LinkStatus::Connected { .. })));
    }

    /// The OpenMetrics text exposition.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// What is applied after a reconcile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Applied {
    pub peers: usize,
    pub allows: usize,
    pub grants: usize,
    pub revision: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_with_its_type_and_ends_with_eof() {
        let m = GatewayMetrics::default();
        m.link(&LinkStatus::Connected {
            via: "https://broker.example:8443".into(),
        });
        m.reconciled(
            Duration::from_millis(3),
            true,
            Applied {
                peers: 2,
                allows: 5,
                grants: 3,
                revision: Some(7),
            },
        );
        let text = m.text();
        for line in [
            "# TYPE daypass_gateway_peers gauge",
            "daypass_gateway_peers 2",
            "daypass_gateway_allow_entries 5",
            "daypass_gateway_grants_active 3",
            "daypass_gateway_state_revision 7",
            "daypass_gateway_broker_connected 1",
            "# TYPE daypass_gateway_reconcile_duration_seconds histogram",
            "daypass_gateway_reconcile_duration_seconds_count 1",
            "daypass_gateway_reconcile_duration_seconds_bucket{le=\"0.005\"} 1",
            "daypass_gateway_reconcile_duration_seconds_bucket{le=\"0.0025\"} 0",
            "daypass_gateway_enforce_failures_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert_eq!(text.lines().last(), Some("# EOF"));
    }
}
