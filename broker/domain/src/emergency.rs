//! The emergency stop: every live contractor grant (all, or one company's) ends at once and new
//! requests are refused until it is lifted. From the console it takes two admins (one proposes,
//! another confirms); from the broker's own CLI, one action.

use super::directory::{Person, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How long a proposed stop waits for a second admin before it lapses.
pub const PROPOSAL_LIFETIME: Duration = Duration::minutes(15);

/// The longest reason kept (it is shown to every refused contractor).
pub const MAX_REASON_CHARS: usize = 500;

/// Whose access a stop ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "company")]
pub enum StopScope {
    /// Every contractor.
    Everyone,
    /// The contractors of one company (as the directory spells it).
    Company(String),
}

impl StopScope {
    /// Contractors in scope: people with the contractor role (of the company, when one is named).
    pub fn covers(&self, person: &Person) -> bool {
        person.roles.contains(&Role::Contractor)
            && match self {
                StopScope::Everyone => true,
                StopScope::Company(c) => person.company.eq_ignore_ascii_case(c),
            }
    }
}

impl fmt::Display for StopScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopScope::Everyone => f.write_str("every contractor"),
            StopScope::Company(c) => write!(f, "the contractors of {c}"),
        }
    }
}

/// Where a stop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopState {
    /// Waits for a second admin (console).
    Proposed,
    /// Grants in scope have ended; requests in scope are refused.
    InForce,
    /// Lifted: requests are taken again (the ended grants stay ended).
    Lifted,
    /// Nobody confirmed it in time.
    Lapsed,
}

impl StopState {
    /// The name kept in the database's `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            StopState::Proposed => "proposed",
            StopState::InForce => "in_force",
            StopState::Lifted => "lifted",
            StopState::Lapsed => "lapsed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyStop {
    pub id: Uuid,
    pub scope: StopScope,
    pub reason: String,
    /// The actor who asked for it (`person:…` from the console, `cli:…` from the CLI).
    pub proposed_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub proposed_at: OffsetDateTime,
    /// The second admin (console), or the CLI's actor again.
    pub started_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// How many live grants it ended.
    pub grants_ended: u64,
    pub lifted_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub lifted_at: Option<OffsetDateTime>,
    pub lift_reason: Option<String>,
}

/// Why a stop cannot be started, confirmed or lifted as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopRefusal {
    #[error("give a reason for the emergency stop (at most {MAX_REASON_CHARS} characters): contractors and auditors read it")]
    Reason,
    #[error("give a reason for lifting the emergency stop (at most {MAX_REASON_CHARS} characters)")]
    LiftReason,
    #[error("name the company whose contractors to stop, or stop everyone")]
    NoCompany,
    #[error("a second admin must confirm this emergency stop: not the one who proposed it")]
    OwnProposal,
    #[error(
        "this emergency stop is {0}, not waiting for confirmation: propose a new one if it is still needed"
    )]
    NotProposed(&'static str),
    #[error("this emergency stop is {0}, not in force: nothing to lift")]
    NotInForce(&'static str),
}

fn check_reason(reason: &str, refusal: StopRefusal) -> Result<String, StopRefusal> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(refusal);
    }
    Ok(reason.to_string())
}

impl EmergencyStop {
    /// A stop asked for by `actor`, waiting for a second admin.
    pub fn propose(
        scope: StopScope,
        reason: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Self, StopRefusal> {
        if matches!(&scope, StopScope::Company(c) if c.trim().is_empty()) {
            return Err(StopRefusal::NoCompany);
        }
        let scope = match scope {
            StopScope::Company(c) => StopScope::Company(c.trim().to_string()),
            everyone => everyone,
        };
        Ok(EmergencyStop {
            id: Uuid::new_v4(),
            scope,
            reason: check_reason(reason, StopRefusal::Reason)?,
            proposed_by: actor.to_string(),
            proposed_at: now,
            started_by: None,
            started_at: None,
            grants_ended: 0,
            lifted_by: None,
            lifted_at: None,
            lift_reason: None,
        })
    }

    /// The state as recorded (a proposal stays `Proposed` here after it lapses).
    pub fn recorded_state(&self) -> StopState {
        match (self.started_at, self.lifted_at) {
            (_, Some(_)) => StopState::Lifted,
            (Some(_), None) => StopState::InForce,
            (None, None) => StopState::Proposed,
        }
    }

    pub fn state(&self, now: OffsetDateTime) -> StopState {
        match self.recorded_state() {
            StopState::Proposed if now >= self.proposed_at + PROPOSAL_LIFETIME => StopState::Lapsed,
            recorded => recorded,
        }
    }

    /// Puts the stop in force, confirmed by `actor`: never the proposer, unless `alone` (the CLI,
    /// run by whoever administers the broker's host).
    pub fn start(&mut self, actor: &str, alone: bool, now: OffsetDateTime) -> Result<(), StopRefusal> {
        let state = self.state(now);
        if state != StopState::Proposed {
            return Err(StopRefusal::NotProposed(state.as_str()));
        }
        if !alone && actor == self.proposed_by {
            return Err(StopRefusal::OwnProposal);
        }
        self.started_by = Some(actor.to_string());
        self.started_at = Some(now);
        Ok(())
    }

    pub fn lift(&mut self, actor: &str, reason: &str, now: OffsetDateTime) -> Result<(), StopRefusal> {
        let state = self.state(now);
        if state != StopState::InForce {
            return Err(StopRefusal::NotInForce(state.as_str()));
        }
        self.lift_reason = Some(check_reason(reason, StopRefusal::LiftReason)?);
        self.lifted_by = Some(actor.to_string());
        self.lifted_at = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-06 09:00 UTC);

    fn person(company: &str, role: Role) -> Person {
        Person {
            company: company.into(),
            ..crate::directory::tests::person("p", &[role])
        }
    }

    #[test]
    fn a_stop_covers_contractors_in_scope_only() {
        let acme = person("Acme", Role::Contractor);
        let other = person("Initech", Role::Contractor);
        let admin = person("Acme", Role::Admin);
        assert!(StopScope::Everyone.covers(&acme) && StopScope::Everyone.covers(&other));
        assert!(!StopScope::Everyone.covers(&admin), "staff keep their access");
        let company = StopScope::Company("acme".into());
        assert!(company.covers(&acme) && !company.covers(&other));
    }

    #[test]
    fn a_proposal_needs_a_reason_a_second_admin_and_confirmation_in_time() {
        let refused = EmergencyStop::propose(StopScope::Everyone, "  ", "person:ida", T0);
        assert_eq!(refused, Err(StopRefusal::Reason));
        let refused = EmergencyStop::propose(StopScope::Company(" ".into()), "breach", "person:ida", T0);
        assert_eq!(refused, Err(StopRefusal::NoCompany));

        let mut stop = EmergencyStop::propose(StopScope::Everyone, " breach ", "person:ida", T0).unwrap();
        assert_eq!(stop.reason, "breach");
        assert_eq!(stop.state(T0), StopState::Proposed);
        assert_eq!(stop.start("person:ida", false, T0), Err(StopRefusal::OwnProposal));
        let late = T0 + PROPOSAL_LIFETIME;
        assert_eq!(stop.state(late), StopState::Lapsed);
        assert_eq!(
            stop.clone().start("person:zoe", false, late),
            Err(StopRefusal::NotProposed("lapsed"))
        );
        stop.start("person:zoe", false, T0).unwrap();
        assert_eq!(stop.state(late), StopState::InForce, "in force until lifted");
        assert_eq!(
            stop.start("person:zoe", false, T0),
            Err(StopRefusal::NotProposed("in_force"))
        );
    }

    #[test]
    fn the_cli_starts_its_own_stop_and_lifting_needs_a_reason() {
        let mut stop = EmergencyStop::propose(StopScope::Everyone, "breach", "cli:root", T0).unwrap();
        stop.start("cli:root", true, T0).unwrap();
        assert_eq!(stop.lift("cli:root", "", T0), Err(StopRefusal::LiftReason));
        stop.lift("cli:root", "contained", T0).unwrap();
        assert_eq!(stop.state(T0), StopState::Lifted);
        assert_eq!(
            stop.lift("cli:root", "again", T0),
            Err(StopRefusal::NotInForce("lifted"))
        );
    }
}
