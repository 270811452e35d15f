//! The enforcing loop's state machine: it holds the grants last accepted from the broker, and at
//! every new state or timer tick makes the applied peers and allow entries match what those grants
//! ask for at `now`. Without the broker it keeps enforcing what it has, each grant until its own
//! `not_after`, never longer.

use crate::firewall::{apply_changes, Firewall, FirewallError};
use crate::plan::{changes, desired, next_change, Changes, Desired};
use crate::verify::{sealed, Source, Verifier};
use daypass_proto::api::GatewayState;
use daypass_proto::Grant;
use ed25519_dalek::VerifyingKey;
use time::OffsetDateTime;

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
}

pub struct Agent {
    gateway: String,
    broker_key: VerifyingKey,
    verifier: Verifier,
    grants: Vec<Grant>,
    revision: Option<i64>,
    /// (epoch, revision) of the seal of the state held: an older one is refused.
    held: Option<(i64, i64)>,
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
            grants: vec![],
            revision: None,
            held: None,
            applied,
        }
    }

    pub fn revision(&self) -> Option<i64> {
        self.revision
    }

    /// What is applied: peers, allow entries, grants enforced at `now`, revision held.
    pub fn applied(&self, now: OffsetDateTime) -> crate::metrics::Applied {
        crate::metrics::Applied {
            peers: self.applied.peers.len(),
            allows: self.applied.allows.len(),
            grants: self.active(now),
            revision: self.revision,
        }
    }

    /// Grants being enforced now.
    pub fn active(&self, now: OffsetDateTime) -> usize {
        self.grants
            .iter()
            .filter(|g| g.not_before <= now && now < g.not_after)
            .count()
    }

    /// The grants live at `now` for the device with this WireGuard key.
    pub fn grants_of_peer(&self, public_key: &str, now: OffsetDateTime) -> Vec<uuid::Uuid> {
        self.grants
            .iter()
            .filter(|g| g.not_before <= now && now < g.not_after)
            .filter(|g| g.device.wireguard_public_key == public_key)
            .map(|g| g.id)
            .collect()
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
        let seal = sealed(state, &self.broker_key, &self.gateway, self.held, source, now)
            .map_err(EnforceError::StateRefused)?;
        let (grants, mut refused) = self.verifier.accepted(state, &self.gateway, now);
        let (grants, smuggled): (Vec<Grant>, Vec<Grant>) = grants
            .into_iter()
            .partition(|g| seal.grants.binary_search(&g.id).is_ok());
        refused.extend(smuggled.into_iter().map(|g| crate::verify::Refused {
            grant: Some(g.id),
            reason: "not named in the state's seal".to_string(),
        }));
        self.grants = grants;
        self.revision = Some(state.revision);
        self.held = Some(seal.order());
        let mut outcome = self.tick(now, fw, peers)?;
        outcome.refused = refused
            .into_iter()
            .map(|r| match r.grant {
                Some(id) => format!("grant {id}: {}", r.reason),
                None => r.reason,
            })
            .collect();
        Ok(outcome)
    }

    /// Makes what is applied match the held grants at `now`: grants that started are added, the
    /// peers of grants that ended are removed (their allow entries already expired in the kernel).
    pub fn tick(
        &mut self,
        now: OffsetDateTime,
        fw: &dyn Firewall,
        peers: &mut dyn PeerTable,
    ) -> Result<Outcome, EnforceError> {
        self.grants.retain(|g| g.not_after > now);
        let (want, skipped) = desired(&self.grants, now);
        let c = changes(&self.applied, &want, now);
        if !c.is_empty() {
            apply_changes(fw, &c)?;
            peers.apply(&c).map_err(EnforceError::Peers)?;
            self.applied = want;
        }
        Ok(Outcome {
            changes: c,
            refused: skipped
                .into_iter()
                .map(|s| format!("grant {}: {}", s.grant, s.reason))
                .collect(),
            next_change: next_change(&self.grants, now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::grant;
    use daypass_proto::Signed;
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
