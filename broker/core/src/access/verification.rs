//! Continuous verification: while a grant that posture gated runs, each new report from its device
//! is judged by the same policies; a failing one holds the grant (its gateway drops it), a compliant
//! one releases it, and a device silent for too long is held too. `not_after` never moves.

use crate::domain::directory::Person;
use crate::domain::grant::{GrantRecord, SuspendReason};
use crate::posture::shortfalls;
use crate::store::{self, Change, PostureRecord};
use crate::{Broker, ServiceResult};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

impl Broker {
    /// Inside the change that keeps `report`: judges every live, watched grant of its device by it.
    pub(crate) async fn verify_running_grants(
        &self,
        change: &mut Change,
        owner: &Person,
        report: &PostureRecord,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        let settings = &self.0.settings.posture;
        let mut baseline = None;
        for mut g in store::open_grants_of_person(change.conn(), &owner.id).await? {
            let Some(watch) = g.posture_watch.clone() else {
                continue;
            };
            if g.grant.device.id != report.device || !g.is_live(now) {
                continue;
            }
            let baseline = baseline.get_or_insert_with(|| self.posture_baseline(now));
            let failing = shortfalls(report, &settings.watched_rules(&watch), baseline, now);
            let actor = format!("posture:{}", report.device);
            if failing.is_empty() {
                let posture_hold = g.suspension().is_some_and(|s| s.reason.is_posture());
                if posture_hold && g.resume(now) {
                    self.commit_hold_change(change, &g, "grant.resumed", &actor, Some(report.id), now)
                        .await?;
                }
                continue;
            }
            let detail = failing.iter().map(|s| s.what()).collect::<Vec<_>>().join("; ");
            let mut fixes: Vec<&str> = failing.iter().flat_map(|s| s.fixes()).collect();
            fixes.dedup();
            let fix = if fixes.is_empty() {
                "Run the posture check again; if it keeps failing, ask the helpdesk.".to_string()
            } else {
                fixes.join(" ")
            };
            let newly = g.suspend(SuspendReason::PostureFailed, &detail, &fix, now);
            if newly {
                self.commit_hold_change(change, &g, "grant.suspended", &actor, Some(report.id), now)
                    .await?;
            } else {
                // Still held: the newer reason is what the contractor is shown.
                store::put_grant(change.conn(), &g).await?;
            }
        }
        Ok(())
    }

    /// Live, watched, running grants whose device sent no report for longer than the silence
    /// allows (counted from the grant's start when it sent none since).
    pub(crate) async fn silent_grants(
        &self,
        conn: &mut sqlx::AnyConnection,
        now: OffsetDateTime,
    ) -> ServiceResult<Vec<GrantRecord>> {
        let silence = self.0.settings.posture.silence;
        // The database leaves out devices heard within the silence and grants younger than it.
        let silent = store::grants_of_unheard_devices(conn, now - silence)
            .await?
            .into_iter()
            .filter(|g| g.posture_watch.is_some() && g.is_enforced(now))
            .filter(|g| now - g.grant.not_before > silence)
            .collect();
        Ok(silent)
    }

    /// Inside the sweep's change: holds the silent grants; returns the ones this call held.
    pub(crate) async fn hold_silent_grants(
        &self,
        change: &mut Change,
        now: OffsetDateTime,
    ) -> ServiceResult<Vec<Uuid>> {
        let minutes = self.0.settings.posture.silence.whole_minutes().max(1);
        let detail = format!("no posture report from the device for more than {minutes} minutes");
        let fix = "Make sure Daypass is running on this device and can reach the broker; access resumes \
                   with the next compliant posture check.";
        let mut held = Vec::new();
        for mut g in self.silent_grants(change.conn(), now).await? {
            if g.suspend(SuspendReason::PostureSilent, &detail, fix, now) {
                self.commit_hold_change(change, &g, "grant.suspended", "broker", None, now)
                    .await?;
                held.push(g.grant.id);
            }
        }
        Ok(held)
    }

    /// Stores a grant just held or released, audits it (so it is in the grant's evidence) and wakes
    /// its gateway, which drops or restores its entries.
    pub(crate) async fn commit_hold_change(
        &self,
        change: &mut Change,
        record: &GrantRecord,
        action: &'static str,
        actor: &str,
        report: Option<Uuid>,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        store::put_grant(change.conn(), record).await?;
        let spell = record.suspensions.last().expect("held or released just now");
        change
            .audit(
                now,
                actor,
                action,
                &record.grant.id.to_string(),
                json!({
                    "reason": spell.reason, "detail": spell.detail, "since": spell.since.unix_timestamp(),
                    "report": report, "device": record.grant.device.id,
                    "person": record.grant.person, "not_after": record.grant.not_after.unix_timestamp(),
                }),
            )
            .await?;
        change.grant_changed(&record.grant.gateway, record.grant.id, now);
        tracing::info!(grant_id = %record.grant.id, action, reason = %spell.reason, "grant hold changed");
        self.0.metrics.hold_changed(action);
        Ok(())
    }
}
