//! The emergency stop, as the broker carries it out: proposing and confirming (two admins on the
//! console), starting at once (the CLI), ending every live grant in scope and denying what waits,
//! refusing requests while in force, and lifting.

use crate::domain::directory::{Person, Role};
use crate::domain::emergency::{EmergencyStop, StopScope, StopState};
use crate::domain::grant::EndReason;
use crate::store::{self, Change};
use crate::{Broker, Caller, Forbidden, Missing, ServiceResult};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// How many past stops the console and `emergency status` show.
const SHOWN: i64 = 20;

/// The refusal a person in scope of a stop in force gets (a request, or an approval that would grant).
pub fn refusal(stop: &EmergencyStop) -> Forbidden {
    Forbidden::EmergencyStop(format!(
        "an emergency stop for {} is in force since {} ({}): access requests are refused until an admin lifts it",
        stop.scope,
        stop.started_at.unwrap_or(stop.proposed_at),
        stop.reason
    ))
}

/// The stop in force that covers `person`, if any.
pub(crate) async fn covering(
    conn: &mut AnyConnection,
    person: &Person,
) -> ServiceResult<Option<EmergencyStop>> {
    Ok(store::emergency_stops_in_force(conn)
        .await?
        .into_iter()
        .find(|s| s.scope.covers(person)))
}

impl Broker {
    /// An admin, with a fresh passkey confirmation, proposes a stop: it waits for a second admin.
    pub async fn propose_emergency_stop(
        &self,
        admin: &Caller,
        scope: StopScope,
        reason: &str,
    ) -> ServiceResult<EmergencyStop> {
        self.emergency_step_up(admin)?;
        let now = self.now();
        let stop = EmergencyStop::propose(scope, reason, &admin.actor(), now)?;
        let mut change = self.store().change().await?;
        store::put_emergency_stop(&mut change, &stop).await?;
        change
            .audit(
                now,
                &stop.proposed_by,
                "emergency.proposed",
                &stop.id.to_string(),
                json!({ "scope": stop.scope, "reason": stop.reason }),
            )
            .await?;
        change.commit().await?;
        tracing::warn!(stop = %stop.id, by = %stop.proposed_by, scope = %stop.scope, "emergency stop proposed");
        self.announce(format!(
            "{} proposed an EMERGENCY STOP for {} ({}); it takes effect when a second admin confirms it on the administration page.",
            stop.proposed_by, stop.scope, stop.reason
        ));
        Ok(stop)
    }

    /// A second admin, with a fresh passkey confirmation, puts a proposed stop in force.
    pub async fn confirm_emergency_stop(&self, admin: &Caller, id: Uuid) -> ServiceResult<EmergencyStop> {
        self.emergency_step_up(admin)?;
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut stop = store::emergency_stop(change.conn(), id)
            .await?
            .ok_or(Missing::EmergencyStop(id))?;
        stop.start(&admin.actor(), false, now)?;
        self.carry_out(change, stop, now).await
    }

    /// The CLI's stop, run on the broker's host: in force at once, in one step.
    pub async fn emergency_stop_now(
        &self,
        actor: &str,
        scope: StopScope,
        reason: &str,
    ) -> ServiceResult<EmergencyStop> {
        let now = self.now();
        let mut stop = EmergencyStop::propose(scope, reason, actor, now)?;
        stop.start(actor, true, now)?;
        let change = self.store().change().await?;
        self.carry_out(change, stop, now).await
    }

    /// Lifts stop `id`, or every stop in force when `id` is `None`: requests are taken again; the
    /// grants it ended stay ended. From the console it needs the admin's fresh passkey confirmation.
    pub async fn lift_emergency_stop(
        &self,
        actor: &Caller,
        id: Option<Uuid>,
        reason: &str,
    ) -> ServiceResult<Vec<EmergencyStop>> {
        self.emergency_step_up(actor)?;
        self.lift_emergency_stop_as(&actor.actor(), id, reason).await
    }

    /// Lifting, as the CLI does it (the actor is the local operator).
    pub async fn lift_emergency_stop_as(
        &self,
        actor: &str,
        id: Option<Uuid>,
        reason: &str,
    ) -> ServiceResult<Vec<EmergencyStop>> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut stops = match id {
            Some(id) => vec![store::emergency_stop(change.conn(), id)
                .await?
                .ok_or(Missing::EmergencyStop(id))?],
            None => store::emergency_stops_in_force(change.conn()).await?,
        };
        if stops.is_empty() {
            return Err(Missing::EmergencyStopInForce.into());
        }
        for stop in &mut stops {
            stop.lift(actor, reason, now)?;
            store::put_emergency_stop(&mut change, stop).await?;
            change
                .audit(
                    now,
                    actor,
                    "emergency.lifted",
                    &stop.id.to_string(),
                    json!({ "scope": stop.scope, "reason": stop.lift_reason }),
                )
                .await?;
        }
        change.commit().await?;
        for stop in &stops {
            tracing::warn!(stop = %stop.id, by = %actor, "emergency stop lifted");
            self.announce(format!(
                "{actor} lifted the emergency stop for {} ({}): access can be requested again.",
                stop.scope,
                stop.lift_reason.as_deref().unwrap_or_default()
            ));
        }
        Ok(stops)
    }

    /// The newest stops (proposed, in force, lifted, lapsed): admins and auditors.
    pub async fn emergency_stops(&self, caller: &Caller) -> ServiceResult<Vec<EmergencyStop>> {
        caller.person_with(&[Role::Admin, Role::Auditor])?;
        self.recent_emergency_stops().await
    }

    /// The newest stops, for the local CLI.
    pub async fn recent_emergency_stops(&self) -> ServiceResult<Vec<EmergencyStop>> {
        let mut conn = self.store().read().await?;
        Ok(store::emergency_stops(&mut conn, SHOWN).await?)
    }

    fn emergency_step_up(&self, admin: &Caller) -> ServiceResult<()> {
        admin.person_with(&[Role::Admin])?;
        match self.fresh_step_up(admin) {
            Some(_) => Ok(()),
            None => Err(Forbidden::EmergencyNeedsStepUp(
                self.0.settings.passkeys.step_up_max_age.whole_minutes(),
            )
            .into()),
        }
    }

    /// Inside `change`: records the stop in force, ends every live grant in its scope and denies
    /// every request in scope that waits, all in one transaction.
    async fn carry_out(
        &self,
        mut change: Change,
        mut stop: EmergencyStop,
        now: OffsetDateTime,
    ) -> ServiceResult<EmergencyStop> {
        debug_assert_eq!(stop.state(now), StopState::InForce);
        let actor = stop.started_by.clone().unwrap_or_default();
        let detail = format!("emergency stop: {}", stop.reason);
        let people: HashMap<String, Person> = store::people_with_open_grants(change.conn())
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let covered = |id: &str| people.get(id).is_some_and(|p| stop.scope.covers(p));
        let mut ended = 0u64;
        for mut g in store::open_grants(change.conn()).await? {
            if covered(&g.grant.person) && g.end(EndReason::EmergencyStop, &actor, &detail, now).is_ok() {
                self.commit_grant_end(&mut change, &g, now).await?;
                ended += 1;
            }
        }
        let mut denied = 0u64;
        for mut request in store::pending_requests(change.conn()).await? {
            let Some(requester) = store::person(change.conn(), &request.requester).await? else {
                continue;
            };
            if stop.scope.covers(&requester) && request.deny(&actor, &detail, now).is_ok() {
                store::put_request(change.conn(), &request).await?;
                change
                    .audit(
                        now,
                        &actor,
                        "request.denied",
                        &request.id.to_string(),
                        json!({ "reason": detail }),
                    )
                    .await?;
                denied += 1;
            }
        }
        stop.grants_ended = ended;
        store::put_emergency_stop(&mut change, &stop).await?;
        change
            .audit(
                now,
                &actor,
                "emergency.stopped",
                &stop.id.to_string(),
                json!({
                    "scope": stop.scope, "reason": stop.reason, "proposed_by": stop.proposed_by,
                    "grants_ended": ended, "requests_denied": denied,
                }),
            )
            .await?;
        change.commit().await?;
        tracing::warn!(stop = %stop.id, by = %actor, scope = %stop.scope, grants_ended = ended, requests_denied = denied, "EMERGENCY STOP in force");
        self.announce(format!(
            "EMERGENCY STOP in force for {} ({}), by {}: {ended} live grants ended, {denied} waiting requests denied; requests are refused until it is lifted.",
            stop.scope, stop.reason, actor
        ));
        Ok(stop)
    }
}
