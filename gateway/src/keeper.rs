//! Keeps the enforced state on disk from a thread of its own, in the order it was enforced, so the
//! enforcing loop never waits for the disk: each delta is appended to the journal, and the whole state
//! is written when one arrives from the broker and after every `JOURNAL_LIMIT` deltas (a snapshot
//! that shares the signed grants with the agent, so taking it copies no grant).

use crate::agent::{Agent, HeldState};
use crate::store::StateFile;
use daypass_proto::api::GatewayDelta;
use std::sync::mpsc;

/// Deltas kept in the journal before the whole state is written again.
pub const JOURNAL_LIMIT: usize = 256;

enum Write {
    Delta(GatewayDelta),
    Whole(HeldState),
}

/// What one batch of the enforcing loop took, to be kept.
#[derive(Debug, Default)]
pub struct Taken {
    any: bool,
    whole: bool,
    deltas: Vec<GatewayDelta>,
}

impl Taken {
    /// A whole state was taken: what came before it no longer needs keeping.
    pub fn whole(&mut self) {
        self.any = true;
        self.whole = true;
        self.deltas.clear();
    }

    pub fn delta(&mut self, delta: GatewayDelta) {
        self.any = true;
        if !self.whole {
            self.deltas.push(delta);
        }
    }

    /// Whether anything was taken at all.
    pub fn any(&self) -> bool {
        self.any
    }
}

pub struct Keeper {
    writes: mpsc::Sender<Write>,
    thread: std::thread::JoinHandle<()>,
    /// Deltas sent to the journal since the last whole state.
    journaled: usize,
}

impl Keeper {
    /// Starts the writing thread for `file`.
    pub fn start(file: StateFile) -> Keeper {
        let (writes, queue) = mpsc::channel();
        let thread = std::thread::spawn(move || write_in_order(&file, &queue));
        Keeper {
            writes,
            thread,
            journaled: 0,
        }
    }

    /// Keeps what a batch took, the agent having enforced it.
    pub fn keep(&mut self, taken: Taken, agent: &Agent) {
        let whole = taken.whole || self.journaled + taken.deltas.len() >= JOURNAL_LIMIT;
        if whole {
            if let Some(state) = agent.held_state() {
                self.journaled = 0;
                let _ = self.writes.send(Write::Whole(state));
            }
            return;
        }
        self.journaled += taken.deltas.len();
        for d in taken.deltas {
            let _ = self.writes.send(Write::Delta(d));
        }
    }
}

impl Keeper {
    /// Waits until everything handed over is written.
    pub fn finish(self) {
        drop(self.writes);
        let _ = self.thread.join();
    }
}

/// Writes what arrives, in order; a whole state waiting further on makes everything before it moot.
fn write_in_order(file: &StateFile, queue: &mpsc::Receiver<Write>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let from = batch
            .iter()
            .rposition(|w| matches!(w, Write::Whole(_)))
            .unwrap_or(0);
        for write in &batch[from..] {
            let kept = match write {
                Write::Delta(d) => file.append(d),
                Write::Whole(state) => file.save(state),
            };
            if let Err(e) = kept {
                tracing::warn!(error = %e, "could not keep the state on disk");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Source;
    use daypass_proto::api::{GatewayState, StateSeal};
    use time::OffsetDateTime;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[6; 32])
    }

    /// An agent holding an empty state at `revision`.
    fn agent_at(revision: i64) -> Agent {
        struct Nothing;
        impl crate::firewall::Firewall for Nothing {
            fn apply(&self, _: &str) -> Result<(), crate::firewall::FirewallError> {
                Ok(())
            }
        }
        impl crate::agent::PeerTable for Nothing {
            fn apply(&mut self, _: &crate::plan::Changes) -> Result<(), String> {
                Ok(())
            }
        }
        let now = crate::clock::now();
        let state = GatewayState {
            gateway: "gw".into(),
            revision,
            generated_at: now,
            grants: vec![],
            seal: StateSeal::sign("gw", (0, revision), now, [], &key()),
        };
        let mut agent = Agent::new("gw", key().verifying_key(), vec![]);
        agent
            .receive(&state, Source::Broker, now, &Nothing, &mut Nothing)
            .unwrap();
        agent
    }

    fn delta(revision: i64) -> GatewayDelta {
        GatewayDelta {
            gateway: "gw".into(),
            base_revision: revision - 1,
            revision,
            generated_at: OffsetDateTime::UNIX_EPOCH,
            added: vec![],
            ended: vec![],
            seal: StateSeal::sign_digest(
                "gw",
                (0, revision),
                OffsetDateTime::UNIX_EPOCH,
                &Default::default(),
                &key(),
            ),
        }
    }

    #[test]
    fn deltas_are_journaled_in_order_and_folded_into_a_whole_state_every_so_often() {
        let dir = tempfile::tempdir().unwrap();
        let mut keeper = Keeper::start(StateFile::in_dir(dir.path()));
        let mut taken = Taken::default();
        taken.delta(delta(2));
        taken.whole();
        keeper.keep(taken, &agent_at(3));
        for r in 4..6 {
            let mut taken = Taken::default();
            taken.delta(delta(r));
            keeper.keep(taken, &agent_at(3));
        }
        keeper.finish();
        let kept = StateFile::in_dir(dir.path()).load().unwrap().unwrap();
        assert_eq!(
            kept.state.revision, 3,
            "the delta before the whole state is not kept"
        );
        assert_eq!(kept.deltas.iter().map(|d| d.revision).collect::<Vec<_>>(), [4, 5]);

        // A full journal: the whole state is written instead, and the journal starts again.
        let mut keeper = Keeper::start(StateFile::in_dir(dir.path()));
        let held = agent_at(9);
        for r in 0..JOURNAL_LIMIT as i64 {
            let mut taken = Taken::default();
            taken.delta(delta(10 + r));
            keeper.keep(taken, &held);
        }
        keeper.finish();
        let kept = StateFile::in_dir(dir.path()).load().unwrap().unwrap();
        assert_eq!(kept.state.revision, 9);
        assert_eq!(kept.deltas.len(), 0);
    }
}
