//! The gateways: each follows a broker's stream as `daypass-gateway` does (its link, failing over
//! between brokers, and its agent verifying and planning every state and delta), without a kernel:
//! the firewall scripts and peer changes it would apply are dropped (the gateway's `deltas`
//! benchmark measures that part on nftables and wireguard-go). Each notes when a grant revoked at
//! the broker leaves what it enforces.

use daypass_gateway::agent::{Agent, EnforceError, PeerTable, Pending};
use daypass_gateway::firewall::{Firewall, FirewallError};
use daypass_gateway::link::{self, LinkStatus};
use daypass_gateway::plan::Changes;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use uuid::Uuid;

/// Revocations on their way to their gateway, and how long those that arrived took.
#[derive(Default)]
pub struct Revocations {
    /// Grant → (its gateway's index, when the revocation was sent).
    sent: Mutex<HashMap<Uuid, (usize, Instant)>>,
    reached: Mutex<Vec<Duration>>,
    /// Deltas a gateway could not apply (each makes it ask for the whole state again): 0 expected.
    pub refused: std::sync::atomic::AtomicUsize,
}

impl Revocations {
    /// Notes that grant `id` of gateway `gateway` is being revoked now.
    pub fn sending(&self, gateway: usize, id: Uuid) {
        self.sent.lock().unwrap().insert(id, (gateway, Instant::now()));
    }

    /// Forgets a revocation whose call failed.
    pub fn failed(&self, id: &Uuid) {
        self.sent.lock().unwrap().remove(id);
    }

    /// The times from sending to the gateway no longer enforcing, and how many are still on their way.
    pub fn take(&self) -> (Vec<Duration>, usize) {
        let reached = std::mem::take(&mut *self.reached.lock().unwrap());
        (reached, self.sent.lock().unwrap().len())
    }
}

struct NoKernel;

impl Firewall for NoKernel {
    fn apply(&self, _script: &str) -> Result<(), FirewallError> {
        Ok(())
    }
}

impl PeerTable for NoKernel {
    fn apply(&mut self, _changes: &Changes) -> Result<(), String> {
        Ok(())
    }
}

/// Gateway `index` (`gw{index}`) following `brokers` (comma-separated, its own order) with its
/// stream credential; runs until the process ends.
pub fn follow(
    index: usize,
    brokers: &str,
    credential: SecretString,
    broker_key: ed25519_dalek::VerifyingKey,
    client: reqwest::Client,
    revocations: Arc<Revocations>,
) -> anyhow::Result<()> {
    let (events, mut arrived) = mpsc::channel(link::EVENTS_QUEUED);
    let (status, _) = watch::channel(LinkStatus::Connecting);
    let resync = Arc::new(Notify::new());
    tokio::spawn(link::run(
        client,
        daypass_https::Brokers::parse(brokers)?,
        "/api/v1/gateway/stream?deltas=true".into(),
        credential,
        events,
        status,
        resync.clone(),
    ));
    tokio::spawn(async move {
        let mut agent = Agent::new(&format!("gw{index}"), broker_key, vec![]);
        while let Some(first) = arrived.recv().await {
            let mut pending = Pending::default();
            for event in link::arrived(first, &mut arrived) {
                if let Err(e) = agent.take(&event, daypass_gateway::clock::now(), &mut pending) {
                    revocations
                        .refused
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if matches!(e, EnforceError::DeltaRefused(_)) {
                        resync.notify_one();
                    }
                }
            }
            let now = daypass_gateway::clock::now();
            let _ = agent.enforce_pending(pending, now, &NoKernel, &mut NoKernel);
            let mut sent = revocations.sent.lock().unwrap();
            // Revoked grants are seconds old, so held: one no longer held has been revoked here.
            let gone: Vec<(Uuid, Instant)> = sent
                .iter()
                .filter(|(id, (g, _))| *g == index && !agent.holds(id))
                .map(|(id, (_, at))| (*id, *at))
                .collect();
            for (id, at) in gone {
                sent.remove(&id);
                revocations.reached.lock().unwrap().push(at.elapsed());
            }
        }
    });
    Ok(())
}
