//! The enforcing loop's state machine: it holds the grants last accepted from the broker, and at
//! every new state, delta or timer tick makes the applied peers and allow entries match what those
//! grants ask for at `now`. Without the broker it keeps enforcing what it has, each grant until its
//! own `not_after`, never longer.

use crate::firewall::{apply_changes, Firewall, FirewallError};
use crate::plan::{changes, client_of, desired, Changes, Desired};
use crate::verify::{problem, sealed, Refused, Source, Verifier};
use daypass_proto::api::{grants_digest, GatewayDelta, GatewayState, StateSeal};
use daypass_proto::{Grant, Signed};
use ed25519_dalek::VerifyingKey;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where peers go: the WireGuard interface, or a recorder in unit tests.
pub trait PeerTable: Send {
    fn apply(&mut self, changes: &Changes) -> Result<(), String>;
}

#[cfg(unix)]
impl PeerTable for crate::wireguard::WireGuard {
    fn apply(&mut self, changes: &Changes) -> Result<(), String> {
        crate::wireguard::WireGuard::apply(self, changes).map_err(|e| e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    #[error("firewall: {0}")]
    Firewall(#[from] FirewallError),
    #[error("WireGuard: {0}")]
    Peers(String),
    /// The whole state was refused; the grants held are enforced as before.
    #[error("the state was refused: {0}")]
    StateRefused(String),
    /// A delta that does not apply to the state held (another base, or it does not lead to the
    /// state its seal names): nothing of it is taken, and the whole state must be asked for.
    #[error("the delta does not apply: {0}")]
    DeltaRefused(String),
}

/// The state held as the broker sealed it, kept to be written to disk.
#[derive(Debug)]
struct Held {
    /// (epoch, revision) of its seal: an older state is refused.
    order: (i64, i64),
    issued_at: OffsetDateTime,
    seal: Signed<StateSeal>,
    /// Every grant the seal names, by id (whether enforced here or not).
    named: BTreeSet<Uuid>,
    /// The signed envelopes of those grants.
    envelopes: BTreeMap<Uuid, Arc<Signed<Grant>>>,
}

/// The state held, as a `GatewayState` (what the state file holds); its grants are shared with the
/// agent, not copied.
#[derive(Debug, serde::Serialize)]
pub struct HeldState {
    pub gateway: String,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub grants: Vec<Arc<Signed<Grant>>>,
    pub seal: Signed<StateSeal>,
}

pub struct Agent {
    gateway: String,
    broker_key: VerifyingKey,
    verifier: Verifier,
    grants: BTreeMap<Uuid, Grant>,
    /// The grants of each client (tunnel address), so a delta plans only the clients it touches.
    by_client: HashMap<Ipv4Addr, BTreeSet<Uuid>>,
    /// When each grant starts and ends: the next moment something changes on its own.
    moments: BTreeSet<(OffsetDateTime, Uuid)>,
    held: Option<Held>,
    applied: Desired,
}

/// What a reconcile did, for logs and the health endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub changes: Changes,
    pub refused: Vec<String>,
    /// When the agent must look again even if nothing arrives.
    pub next_change: Option<OffsetDateTime>,
}

/// States and deltas taken but not enforced yet: taken one after the other as they arrive, then
/// enforced together (`Agent::enforce_pending`), so a burst of revisions costs one plan and one
/// kernel update.
#[derive(Debug, Default)]
pub struct Pending {
    /// A whole state was taken: everything is planned again.
    whole: bool,
    /// The clients (tunnel addresses) whose grants the deltas changed.
    touched: BTreeSet<Ipv4Addr>,
    refused: Vec<Refused>,
}

impl Agent {
    /// An agent starting with these peers on the interface and empty firewall sets (the caller
    /// flushes them): the first reconcile removes the peers no grant asks for and keeps the others,
    /// so their sessions survive a restart.
    pub fn new(gateway: &str, broker_key: VerifyingKey, present: Vec<crate::plan::Peer>) -> Self {
        let applied = Desired {
            peers: present
                .into_iter()
                .map(|p| (p, OffsetDateTime::UNIX_EPOCH))
                .collect(),
            allows: Default::default(),
        };
        Agent {
            gateway: gateway.into(),
            broker_key,
            verifier: Verifier::new(broker_key),
            grants: BTreeMap::new(),
            by_client: HashMap::new(),
            moments: BTreeSet::new(),
            held: None,
            applied,
        }
    }

    pub fn revision(&self) -> Option<i64> {
        self.held.as_ref().map(|h| h.order.1)
    }

    /// What is applied: peers, allow entries, grants enforced at `now`, revision held.
    pub fn applied(&self, now: OffsetDateTime) -> crate::metrics::Applied {
        crate::metrics::Applied {
            peers: self.applied.peers.len(),
            allows: self.applied.allows.len(),
            grants: self.active(now),
            revision: self.revision(),
        }
    }

    /// Whether grant `id` is held (enforced in its time).
    pub fn holds(&self, id: &Uuid) -> bool {
        self.grants.contains_key(id)
    }

    /// Grants being enforced now.
    pub fn active(&self, now: OffsetDateTime) -> usize {
        self.grants
            .values()
            .filter(|g| g.not_before <= now && now < g.not_after)
            .count()
    }

    /// The grants live at `now` for the device with this WireGuard key.
    pub fn grants_of_peer(&self, public_key: &str, now: OffsetDateTime) -> Vec<uuid::Uuid> {
        self.grants
            .values()
            .filter(|g| g.not_before <= now && now < g.not_after)
            .filter(|g| g.device.wireguard_public_key == public_key)
            .map(|g| g.id)
            .collect()
    }

    /// The state held, whole and as the broker sealed it (for the file that outlives a restart).
    pub fn held_state(&self) -> Option<HeldState> {
        let held = self.held.as_ref()?;
        Some(HeldState {
            gateway: self.gateway.clone(),
            revision: held.order.1,
            generated_at: held.issued_at,
            grants: held.envelopes.values().cloned().collect(),
            seal: held.seal.clone(),
        })
    }

    /// Takes a state from the broker (or from disk at start) and enforces it. A state older than
    /// the one held, or whose seal does not hold, is refused whole: the grants held stay as they are
    /// (a revocation is a grant missing from a newer state, so an old state must never win).
    pub fn receive(
        &mut self,
        state: &GatewayState,
        source: Source,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let mut pending = Pending::default();
        self.take_state(state, source, now, &mut pending)?;
        self.enforce_pending(pending, now, fw, peers)
    }

    /// Enforces what the state files kept: the whole state and the deltas journaled after it,
    /// planned once (so the peers both ask for are never removed in between), stopping at a delta
    /// that does not apply (the broker's whole state will follow).
    pub fn restore(
        &mut self,
        kept: &crate::store::Kept,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let mut pending = Pending::default();
        self.take_state(&kept.state, Source::Disk, now, &mut pending)?;
        for delta in &kept.deltas {
            if let Err(e) = self.take_delta(delta, Source::Disk, now, &mut pending) {
                tracing::warn!(error = %e, revision = delta.revision, "the journal stops here");
                break;
            }
        }
        self.enforce_pending(pending, now, fw, peers)
    }

    /// Takes one event of the broker's stream, to be enforced with the rest of `pending`.
    pub fn take(
        &mut self,
        event: &crate::link::StreamEvent,
        now: OffsetDateTime,
        pending: &mut Pending,
    ) -> Result<(), EnforceError> {
        match event {
            crate::link::StreamEvent::State(s) => self.take_state(s, Source::Broker, now, pending),
            crate::link::StreamEvent::Delta(d) => self.take_delta(d, Source::Broker, now, pending),
        }
    }

    /// Enforces what the states and deltas taken since the last enforcement changed, at once:
    /// everything after a whole state, else only the clients the deltas touched.
    pub fn enforce_pending(
        &mut self,
        pending: Pending,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let mut outcome = if pending.whole {
            self.tick(now, fw, peers)?
        } else {
            self.reconcile(&pending.touched, now, fw, peers)?
        };
        outcome.refused = reasons(pending.refused);
        Ok(outcome)
    }

    /// Verifies a whole state and holds it, to be enforced with `pending`.
    pub fn take_state(
        &mut self,
        state: &GatewayState,
        source: Source,
        now: OffsetDateTime,
        pending: &mut Pending,
    ) -> Result<(), EnforceError> {
        let order = self.held.as_ref().map(|h| h.order);
        let seal = sealed(
            (&state.gateway, state.revision),
            &state.seal,
            &self.broker_key,
            &self.gateway,
            order,
            source,
            now,
        )
        .map_err(EnforceError::StateRefused)?;
        let mut refused = Vec::new();
        let mut envelopes = BTreeMap::new();
        let mut verified = Vec::new();
        for (checked, signed) in self
            .verifier
            .verified(&state.grants)
            .into_iter()
            .zip(&state.grants)
        {
            match checked {
                Ok(g) => {
                    envelopes.insert(g.id, Arc::new(signed.clone()));
                    verified.push(g);
                }
                Err(why) => refused.push(why),
            }
        }
        // A seal names its grants by list (as first sent) or by digest (a state rebuilt from deltas).
        let named: BTreeSet<Uuid> = match &seal.digest {
            Some(digest) => {
                let ids: BTreeSet<Uuid> = envelopes.keys().copied().collect();
                if grants_digest(&ids) != *digest || !refused.is_empty() {
                    return Err(EnforceError::StateRefused(
                        "its grants are not the ones its seal names".to_string(),
                    ));
                }
                ids
            }
            None => seal.grants.iter().copied().collect(),
        };
        let (verified, smuggled): (Vec<Grant>, Vec<Grant>) =
            verified.into_iter().partition(|g| named.contains(&g.id));
        for g in &smuggled {
            envelopes.remove(&g.id);
        }
        refused.extend(smuggled.into_iter().map(|g| Refused {
            grant: Some(g.id),
            reason: "not named in the state's seal".to_string(),
        }));
        let enforceable = self.enforceable(verified, &mut refused, now);
        (self.grants, self.by_client, self.moments) = Default::default();
        for g in enforceable {
            self.hold(g);
        }
        self.held = Some(Held {
            order: seal.order(),
            issued_at: seal.issued_at,
            seal: state.seal.clone(),
            named,
            envelopes,
        });
        pending.whole = true;
        pending.refused.extend(refused);
        Ok(())
    }

    /// Takes a delta from the broker: it must start from the revision held and lead to the state
    /// its seal names, or nothing of it is taken. Only the clients whose grants it touches are
    /// planned again.
    pub fn receive_delta(
        &mut self,
        delta: &GatewayDelta,
        source: Source,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let mut pending = Pending::default();
        self.take_delta(delta, source, now, &mut pending)?;
        self.enforce_pending(pending, now, fw, peers)
    }

    /// Checks a delta and holds the state it leads to, to be enforced with `pending` (which gains
    /// the clients it touches). A delta refused leaves what is held and `pending` as they were.
    pub fn take_delta(
        &mut self,
        delta: &GatewayDelta,
        source: Source,
        now: OffsetDateTime,
        pending: &mut Pending,
    ) -> Result<(), EnforceError> {
        let Some(held) = &self.held else {
            return Err(EnforceError::DeltaRefused("no state is held yet".into()));
        };
        let seal = sealed(
            (&delta.gateway, delta.revision),
            &delta.seal,
            &self.broker_key,
            &self.gateway,
            Some(held.order),
            source,
            now,
        )
        .map_err(EnforceError::StateRefused)?;
        if (seal.epoch, delta.base_revision) != held.order {
            return Err(EnforceError::DeltaRefused(format!(
                "it starts from revision {} (epoch {}), the state held is revision {} (epoch {})",
                delta.base_revision, seal.epoch, held.order.1, held.order.0
            )));
        }
        let mut added = Vec::with_capacity(delta.added.len());
        for signed in &delta.added {
            let grant = signed.verify(&self.broker_key).map_err(|e| {
                EnforceError::DeltaRefused(format!("a grant's signature does not hold ({e})"))
            })?;
            added.push((grant, signed));
        }
        let mut named = held.named.clone();
        for id in &delta.ended {
            named.remove(id);
        }
        named.extend(added.iter().map(|(g, _)| g.id));
        if seal.digest.as_deref() != Some(grants_digest(&named).as_str()) {
            return Err(EnforceError::DeltaRefused(
                "it does not lead to the state its seal names".into(),
            ));
        }

        // Taken: the held state moves on, and what its changes touch is planned again.
        let touched = &mut pending.touched;
        let held = self.held.as_mut().expect("checked above");
        held.order = seal.order();
        held.issued_at = seal.issued_at;
        held.seal = delta.seal.clone();
        held.named = named;
        for id in &delta.ended {
            held.envelopes.remove(id);
        }
        for (g, signed) in &added {
            held.envelopes.insert(g.id, Arc::new((*signed).clone()));
        }
        for id in &delta.ended {
            if let Some(g) = self.release(id) {
                touched.extend(client_of(&g));
            }
        }
        let added: Vec<Grant> = added.into_iter().map(|(g, _)| g).collect();
        touched.extend(added.iter().filter_map(client_of));
        for g in self.enforceable(added, &mut pending.refused, now) {
            self.hold(g);
        }
        Ok(())
    }

    /// When a held grant next starts or ends after `now`.
    fn next_change(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.moments
            .range((now + time::Duration::NANOSECOND, Uuid::nil())..)
            .next()
            .map(|(at, _)| *at)
    }

    /// Enforces `grant` from now on (planned at the next reconcile).
    fn hold(&mut self, grant: Grant) {
        if let Some(client) = client_of(&grant) {
            self.by_client.entry(client).or_default().insert(grant.id);
        }
        self.moments.insert((grant.not_before, grant.id));
        self.moments.insert((grant.not_after, grant.id));
        self.grants.insert(grant.id, grant);
    }

    /// Stops enforcing a grant (planned at the next reconcile); the grant, if it was held.
    fn release(&mut self, id: &Uuid) -> Option<Grant> {
        let grant = self.grants.remove(id)?;
        self.moments.remove(&(grant.not_before, grant.id));
        self.moments.remove(&(grant.not_after, grant.id));
        if let Some(client) = client_of(&grant) {
            if let Some(ids) = self.by_client.get_mut(&client) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_client.remove(&client);
                }
            }
        }
        Some(grant)
    }

    /// The grants enforceable here; the others go to `refused`, with the reason.
    fn enforceable(&self, grants: Vec<Grant>, refused: &mut Vec<Refused>, now: OffsetDateTime) -> Vec<Grant> {
        grants
            .into_iter()
            .filter(|g| match problem(g, &self.gateway, now) {
                None => true,
                Some(reason) => {
                    refused.push(Refused {
                        grant: Some(g.id),
                        reason,
                    });
                    false
                }
            })
            .collect()
    }

    /// Makes what is applied for these clients match their grants at `now`.
    fn reconcile(
        &mut self,
        clients: &BTreeSet<Ipv4Addr>,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let theirs = clients
            .iter()
            .filter_map(|c| self.by_client.get(c))
            .flatten()
            .filter_map(|id| self.grants.get(id));
        let (want, skipped) = desired(theirs, now);
        let was = self.applied.part(clients);
        let c = changes(&was, &want, now);
        if !c.is_empty() {
            enforce(&c, fw, peers)?;
            self.applied.replace_part(&was, want);
        }
        Ok(Outcome {
            changes: c,
            refused: skipped
                .into_iter()
                .map(|s| format!("grant {}: {}", s.grant, s.reason))
                .collect(),
            next_change: self.next_change(now),
        })
    }

    /// Makes what is applied match the held grants at `now`: grants that started are added, the
    /// peers of grants that ended are removed (their allow entries already expired in the kernel).
    pub fn tick(
        &mut self,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        let over: Vec<Uuid> = self
            .grants
            .values()
            .filter(|g| g.not_after <= now)
            .map(|g| g.id)
            .collect();
        for id in &over {
            self.release(id);
        }
        let (want, skipped) = desired(self.grants.values(), now);
        let c = changes(&self.applied, &want, now);
        if !c.is_empty() {
            enforce(&c, fw, peers)?;
            self.applied = want;
        }
        Ok(Outcome {
            changes: c,
            refused: skipped
                .into_iter()
                .map(|s| format!("grant {}: {}", s.grant, s.reason))
                .collect(),
            next_change: self.next_change(now),
        })
    }
}

/// Applies changes to the firewall and to the WireGuard peers side by side (each waits on its own
/// process: `nft`, or the WireGuard interface).
fn enforce(c: &Changes, fw: &dyn Firewall, peers: &mut dyn PeerTable) -> Result<(), EnforceError> {
    std::thread::scope(|s| {
        let firewall = s.spawn(|| apply_changes(fw, c));
        let peered = peers.apply(c).map_err(EnforceError::Peers);
        firewall.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        peered
    })
}

fn reasons(refused: Vec<Refused>) -> Vec<String> {
    refused
        .into_iter()
        .map(|r| match r.grant {
            Some(id) => format!("grant {id}: {}", r.reason),
            None => r.reason,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::grant;
    use ed25519_dalek::SigningKey;
    use std::sync::Mutex;
    use time::macros::datetime;
    use time::Duration;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    #[derive(Default)]
    struct Scripts(Mutex<Vec<String>>);
    impl Firewall for Scripts {
        fn apply(&self, script: &str) -> Result<(), FirewallError> {
            self.0.lock().unwrap().push(script.to_string());
            Ok(())
        }
    }

    #[derive(Default)]
    struct Peers(Vec<Changes>);
    impl PeerTable for Peers {
        fn apply(&mut self, c: &Changes) -> Result<(), String> {
            self.0.push(c.clone());
            Ok(())
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn state(revision: i64, grants: &[daypass_proto::Grant]) -> GatewayState {
        sealed_state((0, revision), NOW, grants, grants.iter().map(|g| g.id))
    }

    /// A state with its own seal: at `order`, issued at `issued_at`, naming `named`.
    fn sealed_state(
        order: (i64, i64),
        issued_at: OffsetDateTime,
        grants: &[daypass_proto::Grant],
        named: impl IntoIterator<Item = uuid::Uuid>,
    ) -> GatewayState {
        GatewayState {
            gateway: "gw-eu".into(),
            revision: order.1,
            generated_at: issued_at,
            grants: grants.iter().map(|g| Signed::sign(g, &key())).collect(),
            seal: daypass_proto::api::StateSeal::sign("gw-eu", order, issued_at, named, &key()),
        }
    }

    #[test]
    fn without_the_broker_a_grant_is_enforced_until_its_own_end_and_not_longer() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let g = grant("a", NOW, NOW + Duration::hours(1));
        let first = agent
            .receive_from_broker(&state(1, &[g]), NOW, &fw, &mut peers)
            .unwrap();
        assert_eq!(
            (first.changes.add_peers.len(), first.changes.add_allows.len()),
            (1, 1)
        );
        assert_eq!(first.next_change, Some(NOW + Duration::hours(1)));

        // No word from the broker for 59 minutes: nothing changes.
        let quiet = agent.tick(NOW + Duration::minutes(59), &fw, &mut peers).unwrap();
        assert!(quiet.changes.is_empty());
        assert_eq!(agent.active(NOW + Duration::minutes(59)), 1);

        // At not_after the peer goes; the kernel already dropped the entry, so none is deleted.
        let end = agent.tick(NOW + Duration::hours(1), &fw, &mut peers).unwrap();
        assert_eq!(
            (end.changes.remove_peers.len(), end.changes.remove_allows.len()),
            (1, 0)
        );
        assert_eq!(agent.active(NOW + Duration::hours(1)), 0);
    }

    #[test]
    fn a_restart_keeps_the_peers_still_granted_and_removes_the_rest() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let live = grant("live", NOW - Duration::hours(1), NOW + Duration::minutes(30));
        let (held, _) = crate::plan::desired(std::slice::from_ref(&live), NOW);
        let kept = held.peers.keys().next().unwrap().clone();
        let stale = crate::plan::Peer {
            public_key: "OLDKEY".into(),
            tunnel_address: "100.96.0.9/32".parse().unwrap(),
        };
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![kept, stale.clone()]);
        let out = agent
            .receive_from_broker(&state(3, &[live]), NOW, &fw, &mut peers)
            .unwrap();
        assert!(
            out.changes.add_peers.is_empty(),
            "the live peer is not touched: its session survives"
        );
        assert_eq!(out.changes.remove_peers, vec![stale]);
        assert_eq!(out.changes.add_allows.len(), 1, "the flushed entry is added back");
    }

    #[test]
    fn a_restart_never_adds_back_what_already_expired() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let over = grant("over", NOW - Duration::hours(2), NOW - Duration::minutes(1));
        let live = grant("live", NOW - Duration::hours(1), NOW + Duration::minutes(30));
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let out = agent
            .receive_from_broker(&state(7, &[over, live]), NOW, &fw, &mut peers)
            .unwrap();
        assert_eq!(out.changes.add_allows.len(), 1);
        assert_eq!(
            out.changes.add_allows[0].1,
            Duration::minutes(30),
            "only the time it has left"
        );
        assert_eq!(out.refused.len(), 1, "{:?}", out.refused);
    }

    #[test]
    fn an_older_state_is_refused_whole_and_what_is_held_stays() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let g = grant("a", NOW, NOW + Duration::hours(1));
        agent
            .receive_from_broker(&state(5, std::slice::from_ref(&g)), NOW, &fw, &mut peers)
            .unwrap();
        // An old state replayed (or from a broker restored without raising its epoch): the revoked
        // grant must not come back, and the newer state's grants must not go.
        let old = agent.receive_from_broker(&state(2, &[]), NOW, &fw, &mut peers);
        assert!(
            matches!(old, Err(EnforceError::StateRefused(ref why)) if why.contains("older")),
            "{old:?}"
        );
        assert_eq!((agent.active(NOW), agent.revision()), (1, Some(5)));
        // The same revision again (a reconnect) is taken.
        agent
            .receive_from_broker(&state(5, std::slice::from_ref(&g)), NOW, &fw, &mut peers)
            .unwrap();
    }

    #[test]
    fn a_broker_restored_with_a_raised_epoch_is_followed() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let g = grant("a", NOW, NOW + Duration::hours(1));
        agent
            .receive_from_broker(&state(5, std::slice::from_ref(&g)), NOW, &fw, &mut peers)
            .unwrap();
        let restored = sealed_state((1, 2), NOW, &[], []);
        let out = agent
            .receive_from_broker(&restored, NOW, &fw, &mut peers)
            .unwrap();
        assert_eq!(
            (out.changes.remove_peers.len(), out.changes.remove_allows.len()),
            (1, 1)
        );
        assert_eq!(agent.revision(), Some(2));
    }

    #[test]
    fn a_state_whose_seal_does_not_hold_is_refused() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let g = grant("a", NOW, NOW + Duration::hours(1));
        let mut forged = state(3, std::slice::from_ref(&g));
        forged.seal = daypass_proto::api::StateSeal::sign(
            "gw-eu",
            (0, 3),
            NOW,
            [g.id],
            &SigningKey::from_bytes(&[1; 32]),
        );
        let mut elsewhere = state(3, std::slice::from_ref(&g));
        elsewhere.seal = daypass_proto::api::StateSeal::sign("gw-us", (0, 3), NOW, [g.id], &key());
        let stale = sealed_state((0, 3), NOW - Duration::hours(1), std::slice::from_ref(&g), [g.id]);
        for refused in [forged, elsewhere, stale] {
            let r = agent.receive_from_broker(&refused, NOW, &fw, &mut peers);
            assert!(matches!(r, Err(EnforceError::StateRefused(_))), "{r:?}");
        }
        assert_eq!(agent.active(NOW), 0);
    }

    #[test]
    fn an_old_state_is_taken_from_disk_at_start_but_not_from_the_broker() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let g = grant("a", NOW - Duration::hours(1), NOW + Duration::hours(1));
        let held = sealed_state((0, 4), NOW - Duration::hours(1), std::slice::from_ref(&g), [g.id]);
        agent.receive(&held, Source::Disk, NOW, &fw, &mut peers).unwrap();
        assert_eq!(agent.active(NOW), 1);
    }

    #[test]
    fn a_grant_not_named_in_the_seal_is_dropped() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let named = grant("a", NOW, NOW + Duration::hours(1));
        let smuggled = grant("b", NOW, NOW + Duration::hours(1));
        let s = sealed_state((0, 1), NOW, &[named.clone(), smuggled.clone()], [named.id]);
        let out = agent.receive_from_broker(&s, NOW, &fw, &mut peers).unwrap();
        assert_eq!(agent.active(NOW), 1);
        assert!(
            out.refused
                .iter()
                .any(|r| r.contains(&smuggled.id.to_string()) && r.contains("seal")),
            "{:?}",
            out.refused
        );
    }

    #[test]
    fn the_next_change_is_the_nearest_start_or_end() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let grants = [
            grant("a", NOW, NOW + Duration::hours(2)),
            grant("b", NOW + Duration::hours(1), NOW + Duration::hours(3)),
        ];
        let out = agent
            .receive_from_broker(&state(1, &grants), NOW, &fw, &mut peers)
            .unwrap();
        assert_eq!(out.next_change, Some(NOW + Duration::hours(1)));
        assert_eq!(agent.next_change(NOW + Duration::hours(3)), None);
    }

    /// A grant for its own device at tunnel address 100.96.0.`host`.
    fn grant_of_device(id: &str, host: u8) -> Grant {
        let mut g = grant(id, NOW, NOW + Duration::hours(1));
        g.device.id = format!("device-{host}");
        g.device.wireguard_public_key = format!("KEY{host}");
        g.device.tunnel_address = format!("100.96.0.{host}/32");
        g
    }

    /// A delta from `base` to `revision` whose seal names `after`.
    fn delta(base: i64, revision: i64, added: &[Grant], ended: &[&Grant], after: &[&Grant]) -> GatewayDelta {
        let named: BTreeSet<Uuid> = after.iter().map(|g| g.id).collect();
        GatewayDelta {
            gateway: "gw-eu".into(),
            base_revision: base,
            revision,
            generated_at: NOW,
            added: added.iter().map(|g| Signed::sign(g, &key())).collect(),
            ended: ended.iter().map(|g| g.id).collect(),
            seal: StateSeal::sign_digest("gw-eu", (0, revision), NOW, &named, &key()),
        }
    }

    #[test]
    fn a_delta_changes_only_what_its_grants_ask_for() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let (a, b, c) = (
            grant_of_device("a", 2),
            grant_of_device("b", 3),
            grant_of_device("c", 4),
        );
        agent
            .receive_from_broker(&state(1, &[a.clone(), b.clone()]), NOW, &fw, &mut peers)
            .unwrap();
        let out = agent
            .receive_delta(
                &delta(1, 2, std::slice::from_ref(&c), &[&a], &[&b, &c]),
                Source::Broker,
                NOW,
                &fw,
                &mut peers,
            )
            .unwrap();
        let keys = |ps: &[crate::plan::Peer]| ps.iter().map(|p| p.public_key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&out.changes.add_peers), ["KEY4"]);
        assert_eq!(keys(&out.changes.remove_peers), ["KEY2"]);
        assert_eq!(out.changes.add_allows.len(), 1);
        assert_eq!(out.changes.remove_allows.len(), 1);
        assert_eq!(out.changes.add_allows[0].0.client.to_string(), "100.96.0.4");
        assert_eq!(out.changes.remove_allows[0].client.to_string(), "100.96.0.2");
        assert_eq!((agent.active(NOW), agent.revision()), (2, Some(2)));
        // The same as planning the whole state afresh.
        let (whole, _) = desired(&[b, c], NOW);
        assert_eq!(agent.applied, whole);
    }

    #[test]
    fn a_burst_of_deltas_taken_together_is_enforced_once_and_a_grant_that_came_and_went_never_is() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let (a, b, c) = (
            grant_of_device("a", 2),
            grant_of_device("b", 3),
            grant_of_device("c", 4),
        );
        agent
            .receive_from_broker(&state(1, std::slice::from_ref(&a)), NOW, &fw, &mut peers)
            .unwrap();
        let applies = (fw.0.lock().unwrap().len(), peers.0.len());
        let mut pending = Pending::default();
        for d in [
            delta(1, 2, std::slice::from_ref(&b), &[], &[&a, &b]),
            delta(2, 3, std::slice::from_ref(&c), &[&a], &[&b, &c]),
            delta(3, 4, &[], &[&b], &[&c]),
        ] {
            agent.take_delta(&d, Source::Broker, NOW, &mut pending).unwrap();
        }
        // A delta that does not follow on is refused, and leaves what was taken as it was.
        let stale = delta(2, 5, &[], &[&c], &[]);
        assert!(agent
            .take_delta(&stale, Source::Broker, NOW, &mut pending)
            .is_err());
        let out = agent.enforce_pending(pending, NOW, &fw, &mut peers).unwrap();
        assert_eq!(
            (fw.0.lock().unwrap().len(), peers.0.len()),
            (applies.0 + 1, applies.1 + 1),
            "one firewall script and one peer update for three revisions"
        );
        let keys = |ps: &[crate::plan::Peer]| ps.iter().map(|p| p.public_key.clone()).collect::<Vec<_>>();
        assert_eq!(
            keys(&out.changes.add_peers),
            ["KEY4"],
            "b's peer never came and went"
        );
        assert_eq!(keys(&out.changes.remove_peers), ["KEY2"]);
        assert_eq!((agent.active(NOW), agent.revision()), (1, Some(4)));
        let (whole, _) = desired(&[c], NOW);
        assert_eq!(agent.applied, whole);
    }

    #[test]
    fn a_restart_plans_the_kept_state_and_journal_at_once_so_a_journaled_peer_keeps_its_session() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let (a, b) = (grant_of_device("a", 2), grant_of_device("b", 3));
        let (with_b, _) = desired(std::slice::from_ref(&b), NOW);
        let present = with_b.peers.keys().cloned().collect();
        let kept = crate::store::Kept {
            state: state(1, std::slice::from_ref(&a)),
            deltas: vec![
                delta(1, 2, std::slice::from_ref(&b), &[], &[&a, &b]),
                // From a revision the journal never reached: the journal stops before it.
                delta(7, 8, &[], &[&a], &[&b]),
            ],
        };
        let mut agent = Agent::new("gw-eu", key().verifying_key(), present);
        let out = agent.restore(&kept, NOW, &fw, &mut peers).unwrap();
        assert!(out.changes.remove_peers.is_empty(), "{:?}", out.changes);
        assert_eq!(out.changes.add_peers.len(), 1, "only a's peer is new");
        assert_eq!((agent.active(NOW), agent.revision()), (2, Some(2)));
    }

    #[test]
    fn a_delta_that_does_not_apply_is_refused_whole() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let (a, b) = (grant_of_device("a", 2), grant_of_device("b", 3));
        agent
            .receive_from_broker(&state(5, std::slice::from_ref(&a)), NOW, &fw, &mut peers)
            .unwrap();
        let mut forged = delta(5, 6, std::slice::from_ref(&b), &[], &[&a, &b]);
        forged.added = vec![Signed::sign(&b, &SigningKey::from_bytes(&[1; 32]))];
        let refusals = [
            // From a revision the gateway does not hold (it missed one).
            delta(4, 6, std::slice::from_ref(&b), &[], &[&a, &b]),
            // Not leading to the state its seal names (a grant's end left out).
            delta(5, 6, std::slice::from_ref(&b), &[], &[&b]),
            // A grant the broker did not sign.
            forged,
        ];
        for d in refusals {
            let r = agent.receive_delta(&d, Source::Broker, NOW, &fw, &mut peers);
            assert!(matches!(r, Err(EnforceError::DeltaRefused(_))), "{r:?}");
        }
        // An older revision than the one held, even from the right base, is a replay.
        let replay = delta(5, 4, &[], &[&a], &[]);
        assert!(matches!(
            agent.receive_delta(&replay, Source::Broker, NOW, &fw, &mut peers),
            Err(EnforceError::StateRefused(_))
        ));
        assert_eq!((agent.active(NOW), agent.revision()), (1, Some(5)));
        assert_eq!(peers.0.len(), 1, "nothing was applied after the first state");
    }

    #[test]
    fn the_state_rebuilt_from_deltas_is_enforced_again_after_a_restart_and_only_untouched() {
        let (fw, mut peers) = (Scripts::default(), Peers::default());
        let mut agent = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let (a, b) = (grant_of_device("a", 2), grant_of_device("b", 3));
        agent
            .receive_from_broker(&state(1, std::slice::from_ref(&a)), NOW, &fw, &mut peers)
            .unwrap();
        agent
            .receive_delta(
                &delta(1, 2, std::slice::from_ref(&b), &[], &[&a, &b]),
                Source::Broker,
                NOW,
                &fw,
                &mut peers,
            )
            .unwrap();
        let file: GatewayState =
            serde_json::from_str(&serde_json::to_string(&agent.held_state().unwrap()).unwrap()).unwrap();
        let mut restarted = Agent::new("gw-eu", key().verifying_key(), vec![]);
        restarted
            .receive(&file, Source::Disk, NOW, &fw, &mut peers)
            .unwrap();
        assert_eq!((restarted.active(NOW), restarted.revision()), (2, Some(2)));

        // A file with a grant taken out no longer matches its seal: refused whole.
        let mut cut = file.clone();
        cut.grants.pop();
        let mut fresh = Agent::new("gw-eu", key().verifying_key(), vec![]);
        let r = fresh.receive(&cut, Source::Disk, NOW, &fw, &mut peers);
        assert!(matches!(r, Err(EnforceError::StateRefused(_))), "{r:?}");
        assert_eq!(fresh.active(NOW), 0);
    }

    impl Agent {
        fn receive_from_broker(
            &mut self,
            state: &GatewayState,
            now: OffsetDateTime,
            fw: &dyn Firewall,
            peers: &mut dyn PeerTable,
        ) -> Result<Outcome, EnforceError> {
            self.receive(state, Source::Broker, now, fw, peers)
        }
    }
}
