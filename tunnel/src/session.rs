//! One contractor session as a pure state machine: idle → requesting → pending approval → active →
//! expiring → closed. It takes events and `now` (the wall clock, read by the caller at every event
//! and tick) and says what to do; it never sleeps or reads a clock, so expiry holds across suspend,
//! clock changes and restarts: the first tick after any of them sees `now` past `not_after` and
//! closes at once.

use daypass_proto::Grant;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How long before `not_after` the contractor is warned, unless configured otherwise.
pub const DEFAULT_WARNING: Duration = Duration::minutes(10);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Idle,
    Requesting,
    PendingApproval {
        request: Uuid,
    },
    Active {
        grant: Grant,
    },
    /// Active, inside the warning window before `not_after`.
    Expiring {
        grant: Grant,
    },
    Closed {
        why: Closed,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closed {
    Expired,
    Revoked {
        reason: String,
    },
    Denied {
        reason: String,
    },
    /// The contractor disconnected.
    Disconnected,
    /// The request could not be made (broker refused or unreachable).
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The contractor asked for access; the request is on its way to the broker.
    RequestSent,
    /// The broker answered: waiting for approvers.
    AwaitingApproval {
        request: Uuid,
    },
    /// The broker granted (at once, or after approval).
    Granted(Box<Grant>),
    Denied {
        reason: String,
    },
    /// The request failed before the broker decided, or its grant could not be taken up (its tunnel
    /// did not come up).
    RequestFailed {
        reason: String,
    },
    Revoked {
        reason: String,
    },
    Disconnect,
    /// Time passed (a timer, a wake from suspend, a clock change).
    Tick,
}

/// What the service must do in the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bring the interface up with routes to exactly this grant's resources.
    BringUp(Box<Grant>),
    /// Remove the interface and its routes.
    TearDown,
    /// Tell the contractor how long is left.
    Warn { left: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub state: State,
    #[serde(with = "duration_seconds")]
    pub warning: Duration,
}

mod duration_seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.whole_seconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        i64::deserialize(d).map(Duration::seconds)
    }
}

impl Default for Session {
    fn default() -> Self {
        Session {
            state: State::Idle,
            warning: DEFAULT_WARNING,
        }
    }
}

impl Session {
    /// A session restored after a restart (the grant it was enforcing, if any): an expired one
    /// closes at once, and the caller removes any interface a crashed run left behind.
    pub fn resume(grant: Option<Grant>, warning: Duration, now: OffsetDateTime) -> (Session, Vec<Action>) {
        let mut s = Session {
            state: State::Idle,
            warning,
        };
        let mut actions = vec![Action::TearDown];
        if let Some(g) = grant {
            actions.extend(s.handle(Event::Granted(Box::new(g)), now));
        }
        (s, actions)
    }

    /// The grant in force, if the tunnel should be up.
    pub fn grant(&self) -> Option<&Grant> {
        match &self.state {
            State::Active { grant } | State::Expiring { grant } => Some(grant),
            _ => None,
        }
    }

    pub fn handle(&mut self, event: Event, now: OffsetDateTime) -> Vec<Action> {
        let up = self.grant().is_some();
        let close = |why: Closed| {
            (
                State::Closed { why },
                if up { vec![Action::TearDown] } else { vec![] },
            )
        };
        let (next, actions) = match (&self.state, event) {
            // A new request replaces nothing that is up: one session at a time.
            (State::Idle | State::Closed { .. }, Event::RequestSent) => (State::Requesting, vec![]),
            (State::Requesting, Event::AwaitingApproval { request }) => {
                (State::PendingApproval { request }, vec![])
            }
            (State::Requesting | State::PendingApproval { .. }, Event::Denied { reason }) => {
                close(Closed::Denied { reason })
            }
            // Also a grant whose tunnel could not come up: it is taken down again.
            (
                State::Requesting
                | State::PendingApproval { .. }
                | State::Active { .. }
                | State::Expiring { .. },
                Event::RequestFailed { reason },
            ) => close(Closed::Failed { reason }),
            // A grant is taken only for a request in flight (or a resumed session): one that arrives
            // after the contractor gave up does not bring a tunnel up by itself.
            (State::Idle | State::Requesting | State::PendingApproval { .. }, Event::Granted(grant)) => {
                if now >= grant.not_after {
                    close(Closed::Expired)
                } else {
                    let mut actions = vec![Action::BringUp(grant.clone())];
                    let (state, more) = Self::timed(*grant, now, self.warning, false);
                    actions.extend(more);
                    (state, actions)
                }
            }
            // The broker marks a grant ended once `not_after` has passed: heard before this
            // service's own tick, that is still the expiry, not a revocation.
            (State::Active { grant } | State::Expiring { grant }, Event::Revoked { reason }) => {
                if now >= grant.not_after {
                    close(Closed::Expired)
                } else {
                    close(Closed::Revoked { reason })
                }
            }
            (
                State::Active { .. }
                | State::Expiring { .. }
                | State::PendingApproval { .. }
                | State::Requesting,
                Event::Disconnect,
            ) => close(Closed::Disconnected),
            (State::Active { grant }, Event::Tick) => Self::timed(grant.clone(), now, self.warning, false),
            (State::Expiring { grant }, Event::Tick) => Self::timed(grant.clone(), now, self.warning, true),
            (state, _) => (state.clone(), vec![]),
        };
        self.state = next;
        actions
    }

    /// Where an up session stands at `now`: active, expiring (warning once on entry), or expired.
    fn timed(grant: Grant, now: OffsetDateTime, warning: Duration, warned: bool) -> (State, Vec<Action>) {
        let left = grant.not_after - now;
        if !left.is_positive() {
            (State::Closed { why: Closed::Expired }, vec![Action::TearDown])
        } else if left <= warning {
            let warn = if warned {
                vec![]
            } else {
                vec![Action::Warn { left }]
            };
            (State::Expiring { grant }, warn)
        } else {
            (State::Active { grant }, vec![])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_proto::{GrantDevice, GrantedResource};
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    fn grant(minutes: i64) -> Grant {
        Grant {
            id: Uuid::nil(),
            request_id: Uuid::nil(),
            person: "ana".into(),
            device: GrantDevice {
                id: "ana-laptop".into(),
                wireguard_public_key: "K".into(),
                tunnel_address: "100.96.0.2/32".into(),
            },
            gateway: "gw".into(),
            resources: vec![GrantedResource::tcp("db", "10.20.0.10", &[5432])],
            ticket: "OPS-1".into(),
            approvals: vec![],
            not_before: NOW,
            not_after: NOW + Duration::minutes(minutes),
        }
    }

    fn mins(m: i64) -> OffsetDateTime {
        NOW + Duration::minutes(m)
    }

    #[test]
    fn approval_path_brings_the_tunnel_up_warns_once_and_closes_at_not_after() {
        let mut s = Session::default();
        assert!(s.handle(Event::RequestSent, NOW).is_empty());
        s.handle(Event::AwaitingApproval { request: Uuid::nil() }, NOW);
        assert!(matches!(s.state, State::PendingApproval { .. }));
        assert_eq!(
            s.handle(Event::Granted(Box::new(grant(60))), mins(1)),
            vec![Action::BringUp(Box::new(grant(60)))]
        );
        assert!(s.handle(Event::Tick, mins(49)).is_empty());
        assert_eq!(
            s.handle(Event::Tick, mins(50)),
            vec![Action::Warn {
                left: Duration::minutes(10)
            }]
        );
        assert!(s.handle(Event::Tick, mins(55)).is_empty(), "warned once");
        assert_eq!(s.handle(Event::Tick, mins(60)), vec![Action::TearDown]);
        assert_eq!(s.state, State::Closed { why: Closed::Expired });
    }

    #[test]
    fn a_tunnel_that_does_not_come_up_is_taken_down_and_the_session_fails() {
        let mut s = Session::default();
        s.handle(Event::Granted(Box::new(grant(60))), NOW);
        let actions = s.handle(
            Event::RequestFailed {
                reason: "no wireguard-go".into(),
            },
            NOW,
        );
        assert_eq!(actions, vec![Action::TearDown]);
        assert_eq!(
            s.state,
            State::Closed {
                why: Closed::Failed {
                    reason: "no wireguard-go".into()
                }
            }
        );
    }

    #[test]
    fn a_wake_after_not_after_closes_at_once() {
        let mut s = Session::default();
        s.handle(Event::Granted(Box::new(grant(60))), NOW);
        // The laptop slept through the end (or the clock jumped): the first tick closes it.
        assert_eq!(s.handle(Event::Tick, mins(300)), vec![Action::TearDown]);
        assert_eq!(s.state, State::Closed { why: Closed::Expired });
    }

    #[test]
    fn a_restart_removes_leftovers_and_never_resumes_an_expired_grant() {
        let (s, actions) = Session::resume(Some(grant(60)), DEFAULT_WARNING, mins(61));
        assert_eq!(actions, vec![Action::TearDown]);
        assert_eq!(s.state, State::Closed { why: Closed::Expired });
        let (s, actions) = Session::resume(Some(grant(60)), DEFAULT_WARNING, mins(5));
        assert_eq!(
            actions,
            vec![Action::TearDown, Action::BringUp(Box::new(grant(60)))]
        );
        assert!(s.grant().is_some());
    }

    #[test]
    fn a_grant_arriving_after_the_contractor_gave_up_brings_nothing_up() {
        let mut s = Session::default();
        s.handle(Event::RequestSent, NOW);
        s.handle(Event::AwaitingApproval { request: Uuid::nil() }, NOW);
        s.handle(Event::Disconnect, NOW);
        assert!(s.handle(Event::Granted(Box::new(grant(60))), mins(1)).is_empty());
        assert_eq!(
            s.state,
            State::Closed {
                why: Closed::Disconnected
            }
        );
    }

    #[test]
    fn denial_and_revocation_close_with_their_reason() {
        let mut s = Session::default();
        s.handle(Event::RequestSent, NOW);
        assert!(
            s.handle(Event::Denied { reason: "no".into() }, NOW).is_empty(),
            "nothing was up"
        );
        assert_eq!(
            s.state,
            State::Closed {
                why: Closed::Denied { reason: "no".into() }
            }
        );
        s.handle(Event::RequestSent, NOW);
        s.handle(Event::Granted(Box::new(grant(60))), NOW);
        assert_eq!(
            s.handle(
                Event::Revoked {
                    reason: "ticket closed".into()
                },
                mins(5)
            ),
            vec![Action::TearDown]
        );
        assert_eq!(
            s.state,
            State::Closed {
                why: Closed::Revoked {
                    reason: "ticket closed".into()
                }
            }
        );
    }

    #[test]
    fn the_broker_ending_a_grant_past_not_after_is_its_expiry() {
        let mut s = Session::default();
        s.handle(Event::RequestSent, NOW);
        s.handle(Event::Granted(Box::new(grant(60))), NOW);
        let ended = Event::Revoked {
            reason: "ended by the broker".into(),
        };
        assert_eq!(s.handle(ended, mins(60)), vec![Action::TearDown]);
        assert_eq!(s.state, State::Closed { why: Closed::Expired });
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::RequestSent),
            Just(Event::AwaitingApproval { request: Uuid::nil() }),
            (1i64..120).prop_map(|m| Event::Granted(Box::new(grant(m)))),
            Just(Event::Denied { reason: "d".into() }),
            Just(Event::RequestFailed { reason: "f".into() }),
            Just(Event::Revoked { reason: "r".into() }),
            Just(Event::Disconnect),
            Just(Event::Tick),
        ]
    }

    proptest! {
        /// Whatever happens, in any order and with the clock jumping both ways: the tunnel is up
        /// exactly while the state holds a grant, every BringUp is matched by a TearDown before the
        /// next one, and after a tick no grant past its `not_after` is still up.
        #[test]
        fn the_tunnel_is_up_exactly_while_a_live_grant_is_held(
            steps in proptest::collection::vec((event(), -30i64..200), 1..40)
        ) {
            let mut s = Session::default();
            let mut up = false;
            for (e, minute) in steps {
                let now = mins(minute);
                let tick = e == Event::Tick;
                for a in s.handle(e, now) {
                    match a {
                        Action::BringUp(_) => { prop_assert!(!up, "brought up twice"); up = true; }
                        Action::TearDown => { prop_assert!(up, "torn down while down"); up = false; }
                        Action::Warn { left } => prop_assert!(left.is_positive()),
                    }
                }
                prop_assert_eq!(up, s.grant().is_some());
                if tick {
                    if let Some(g) = s.grant() { prop_assert!(now < g.not_after); }
                }
            }
        }
    }
}
