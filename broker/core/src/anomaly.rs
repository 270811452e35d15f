//! Anomaly rules at work: the service watches requests, refusals and posture reports, asks the
//! domain's rules (`domain::anomaly`) whether they are unusual, and when one is, raises an alert in
//! the same change (audited, so it reaches the SIEM feed), acts as the admin chose, tells the chat
//! channel, and lets staff acknowledge and close it on the console.

use crate::auth::Caller;
use crate::domain::anomaly::{
    is_burst, is_off_hours, network_of, Action, Alert, AlertState, Hours, HoursSeen, Rule,
};
use crate::domain::directory::{Person, Role};
use crate::domain::grant::SuspendReason;
use crate::store::{self, AuditRead, Change};
use crate::{Broker, InvalidInput, Missing, ServiceResult};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How long one rule stays quiet about one person after it alerted.
const QUIET: Duration = Duration::hours(1);
/// How far back a person's own hours are learned from.
const HOURS_LEARNED_FROM: Duration = Duration::days(60);
const MAX_NOTE_CHARS: usize = 2000;

/// What the admin chose: which action each rule takes, and the rules' thresholds.
#[derive(Debug, Clone)]
pub struct AnomalySettings {
    pub actions: BTreeMap<Rule, Action>,
    /// The organisation's working hours (UTC); requests outside them and outside the person's own
    /// usual hours alert.
    pub working_hours: Option<Hours>,
    /// This many refused requests of one person within `burst_window` alert.
    pub burst_threshold: usize,
    pub burst_window: Duration,
    /// A request this soon after one of the person's grants was suspended alerts.
    pub after_suspension: Duration,
    /// Where IP addresses are placed in countries; without it the new-country rule is off.
    pub countries: Option<std::sync::Arc<crate::CountryDb>>,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        AnomalySettings {
            actions: BTreeMap::new(),
            working_hours: None,
            burst_threshold: 5,
            burst_window: Duration::minutes(10),
            after_suspension: Duration::minutes(30),
            countries: None,
        }
    }
}

impl AnomalySettings {
    pub fn action(&self, rule: Rule) -> Action {
        self.actions.get(&rule).copied().unwrap_or(rule.default_action())
    }
}

impl Broker {
    fn anomaly(&self) -> &AnomalySettings {
        &self.0.settings.anomaly
    }

    /// Inside `change`: raises `rule` about `person` (unless it did within the last hour) and takes
    /// the rule's action. The caller announces the alert after the commit.
    pub(crate) async fn raise_in(
        &self,
        change: &mut Change,
        person: &str,
        rule: Rule,
        detail: String,
        now: OffsetDateTime,
    ) -> ServiceResult<Option<Alert>> {
        if store::raised_since(change.conn(), person, rule, now - QUIET).await? {
            return Ok(None);
        }
        let mut alert = Alert {
            id: Uuid::new_v4(),
            rule,
            person: person.to_string(),
            raised_at: now,
            detail,
            action: self.anomaly().action(rule),
            held_grants: vec![],
            state: AlertState::New,
        };
        let actor = format!("anomaly:{rule}");
        match alert.action {
            Action::Alert => {}
            Action::StepUp => {
                if let Some(mut p) = store::person(change.conn(), person).await? {
                    p.step_up_demanded_by = Some(alert.id);
                    store::put_person(change, &p).await?;
                }
            }
            Action::SuspendGrants => {
                let fix = format!(
                    "Unusual activity is being reviewed (alert {}); access resumes when an administrator closes it.",
                    alert.id
                );
                for mut g in store::open_grants_of_person(change.conn(), person).await? {
                    if g.suspend(SuspendReason::Anomaly, &alert.detail, &fix, now) {
                        self.commit_hold_change(change, &g, "grant.suspended", &actor, None, now)
                            .await?;
                        alert.held_grants.push(g.grant.id);
                    }
                }
            }
            Action::DisableAccount => {
                self.set_person_disabled_in(change, &actor, person, true, &alert.detail, now)
                    .await?;
            }
        }
        store::put_alert(change.conn(), &alert).await?;
        change
            .audit(now, &actor, "alert.raised", &alert.id.to_string(), json!({
                "rule": rule, "person": person, "detail": alert.detail, "action": alert.action.to_string(),
                "held_grants": alert.held_grants,
            }))
            .await?;
        Ok(Some(alert))
    }

    /// After the alert's change committed: the chat channel and the metrics hear of it.
    pub(crate) fn announce_alerts(&self, alerts: &[Alert]) {
        for a in alerts {
            tracing::warn!(alert = %a.id, rule = %a.rule, person = %a.person, action = %a.action, "anomaly alert");
            self.0.metrics.alert_raised(a.rule.name());
            self.announce(format!(
                "Daypass alert ({}): {} — {}. Action: {}. Review it: {}/console/alerts",
                a.rule,
                a.person,
                a.detail,
                a.action,
                self.origin()
            ));
        }
    }

    /// Announces what a watcher raised; its failure is logged, never the caller's (the request it
    /// watched already stands).
    fn watched(&self, what: &str, outcome: ServiceResult<Vec<Alert>>) {
        match outcome {
            Ok(raised) => self.announce_alerts(&raised),
            Err(e) => tracing::warn!(error = %e, what, "anomaly rules could not run"),
        }
    }

    /// After a refused request: a burst of them alerts.
    pub(crate) async fn watch_refusal(&self, person: &str, now: OffsetDateTime) {
        let outcome = self.refusal_alerts(person, now).await;
        self.watched("refusal burst", outcome);
    }

    async fn refusal_alerts(&self, person: &str, now: OffsetDateTime) -> ServiceResult<Vec<Alert>> {
        let settings = self.anomaly();
        let mut conn = self.store().read().await?;
        if store::person(&mut conn, person).await?.is_none() {
            // Sign-ins for names nobody has: nobody to alert about (the rate limits answer those).
            return Ok(vec![]);
        }
        let refusals = AuditRead::refusals_of(&mut conn, person, now - settings.burst_window).await?;
        if !is_burst(&refusals, settings.burst_threshold, settings.burst_window, now) {
            return Ok(vec![]);
        }
        let detail = format!(
            "{} refused requests or sign-ins within {} minutes",
            refusals.len(),
            settings.burst_window.whole_minutes()
        );
        drop(conn);
        let mut change = self.store().change().await?;
        let raised = self
            .raise_in(&mut change, person, Rule::RefusalBurst, detail, now)
            .await?;
        change.commit().await?;
        Ok(raised.into_iter().collect())
    }

    /// After a sign-in: at an unusual hour for this person.
    pub(crate) async fn watch_sign_in(&self, person: &str, now: OffsetDateTime) {
        let outcome = self.sign_in_alerts(person, now).await;
        self.watched("sign-in", outcome);
    }

    async fn sign_in_alerts(&self, person: &str, now: OffsetDateTime) -> ServiceResult<Vec<Alert>> {
        let mut conn = self.store().read().await?;
        let earlier = store::hours_seen_between(&mut conn, person, now - HOURS_LEARNED_FROM, now).await?;
        drop(conn);
        let Some(detail) = self.off_hours(&earlier, "a sign-in", now) else {
            return Ok(vec![]);
        };
        let mut change = self.store().change().await?;
        let raised = self
            .raise_in(&mut change, person, Rule::OffHours, detail, now)
            .await?;
        change.commit().await?;
        Ok(raised.into_iter().collect())
    }

    /// What is unusual about `what` (a request, a sign-in) at `now`: an hour outside the working
    /// hours and the person's own, learned from their `earlier` requests.
    fn off_hours(&self, earlier: &HoursSeen, what: &str, now: OffsetDateTime) -> Option<String> {
        is_off_hours(now, self.anomaly().working_hours, earlier).then(|| {
            format!(
                "{what} at {:02}:{:02} UTC, outside working hours and this person's usual hours",
                now.hour(),
                now.minute()
            )
        })
    }

    /// Since when the request watch looks at a person's requests and at suspensions of their
    /// grants; a decision at `now` reads both with its inputs (`store::DecisionAsk`).
    pub(crate) fn request_watch_since(&self, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        (now - HOURS_LEARNED_FROM, now - self.anomaly().after_suspension)
    }

    /// After a request was made: unusual hours, right after a suspension; and a step-up an alert
    /// demanded is given when the request came with one. `history` was read with the decision.
    pub(crate) async fn watch_request(
        &self,
        requester: &Person,
        confirmed: bool,
        history: store::RequestHistory,
        now: OffsetDateTime,
    ) {
        let outcome = self.request_alerts(requester, confirmed, history, now).await;
        self.watched("request", outcome);
    }

    async fn request_alerts(
        &self,
        requester: &Person,
        confirmed: bool,
        history: store::RequestHistory,
        now: OffsetDateTime,
    ) -> ServiceResult<Vec<Alert>> {
        let settings = self.anomaly();
        let id = &requester.id;
        let off_hours = self.off_hours(&history.hours, "a request", now);
        let suspended_lately = history.suspended;
        let step_up_given = requester.step_up_demanded_by.filter(|_| confirmed);
        if off_hours.is_none() && !suspended_lately && step_up_given.is_none() {
            return Ok(vec![]);
        }
        let mut change = self.store().change().await?;
        let mut raised = Vec::new();
        if let Some(detail) = off_hours {
            raised.extend(
                self.raise_in(&mut change, id, Rule::OffHours, detail, now)
                    .await?,
            );
        }
        if suspended_lately {
            let detail = format!(
                "a request within {} minutes of one of this person's grants being suspended",
                settings.after_suspension.whole_minutes()
            );
            raised.extend(
                self.raise_in(&mut change, id, Rule::RequestAfterSuspension, detail, now)
                    .await?,
            );
        }
        if let Some(alert) = step_up_given {
            if let Some(mut p) = store::person(change.conn(), id).await? {
                p.step_up_demanded_by = None;
                store::put_person(&mut change, &p).await?;
                change
                    .audit(
                        now,
                        &format!("person:{id}"),
                        "person.step_up_given",
                        id,
                        json!({ "alert": alert }),
                    )
                    .await?;
            }
        }
        change.commit().await?;
        Ok(raised)
    }

    /// Inside the change that keeps a report: a device that complied and no longer does alerts.
    pub(crate) async fn watch_posture_in(
        &self,
        change: &mut Change,
        owner: &str,
        device: &str,
        was_compliant: bool,
        report: &daypass_posture::evaluate::Report,
        now: OffsetDateTime,
    ) -> ServiceResult<Option<Alert>> {
        if !was_compliant || report.compliant {
            return Ok(None);
        }
        let detail = format!(
            "{device} complied and now fails {}",
            report.not_passing().join(", ")
        );
        self.raise_in(change, owner, Rule::PostureWorse, detail, now)
            .await
    }

    /// Inside the change that records a connect of `grant` from `ip`: the grant's key from a second
    /// address, a network or a country the person never connected from (once they have a history).
    pub(crate) async fn watch_connect_in(
        &self,
        change: &mut Change,
        grant: &crate::domain::grant::GrantRecord,
        ip: IpAddr,
        earlier_in_batch: &[IpAddr],
        now: OffsetDateTime,
    ) -> ServiceResult<Vec<Alert>> {
        let person = grant.grant.person.as_str();
        let mut raised = Vec::new();
        let recorded = AuditRead::about(change.conn(), &[grant.grant.id.to_string()]).await?;
        let other = recorded
            .iter()
            .filter(|e| e.action == "grant.connected")
            .filter_map(|e| e.details["endpoint"].as_str().and_then(parse_endpoint))
            .chain(earlier_in_batch.iter().copied())
            .find(|seen| *seen != ip);
        if let Some(other) = other {
            let detail = format!(
                "grant {}'s key was seen from {other} and from {ip}",
                grant.grant.id
            );
            raised.extend(
                self.raise_in(change, person, Rule::TwoEndpoints, detail, now)
                    .await?,
            );
        }
        let country = self.anomaly().countries.as_ref().and_then(|db| db.country(ip));
        let places = [
            ("network", Some(network_of(ip)), Rule::NewNetwork),
            ("country", country, Rule::NewCountry),
        ];
        for (kind, place, rule) in places {
            let Some(place) = place else { continue };
            let known = store::knows_places(change.conn(), person, kind).await?;
            if store::remember_place(change.conn(), person, kind, &place, now).await? && known {
                let detail = format!(
                    "{} connected from {kind} {place} ({ip}) for the first time",
                    grant.grant.device.id
                );
                raised.extend(self.raise_in(change, person, rule, detail, now).await?);
            }
        }
        Ok(raised)
    }

    /// Alerts for admins, helpdesk and auditors, newest first.
    pub async fn alert_list(&self, caller: &Caller, open_only: bool) -> ServiceResult<Vec<Alert>> {
        caller.person_with(&[Role::Admin, Role::Helpdesk, Role::Auditor])?;
        let mut conn = self.store().read().await?;
        Ok(store::alerts(&mut conn, open_only, 500).await?)
    }

    /// Staff take an alert on, with a note of what they are doing about it.
    pub async fn acknowledge_alert(&self, caller: &Caller, id: Uuid, note: &str) -> ServiceResult<Alert> {
        let person = caller.person_with(&[Role::Admin, Role::Helpdesk])?;
        let note = given_note(note)?;
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut alert = open_alert(&mut change, id).await?;
        let state = AlertState::Acknowledged {
            by: person.id.clone(),
            note: note.clone(),
            at: now,
        };
        let actor = format!("person:{}", person.id);
        settle(
            &mut change,
            &mut alert,
            state,
            &actor,
            json!({ "note": note }),
            now,
        )
        .await?;
        change.commit().await?;
        Ok(alert)
    }

    /// An admin closes an alert, with what was found; grants it held resume (never past their end).
    pub async fn close_alert(&self, caller: &Caller, id: Uuid, note: &str) -> ServiceResult<Alert> {
        let admin = caller.person_with(&[Role::Admin])?;
        let note = given_note(note)?;
        let now = self.now();
        let actor = format!("person:{}", admin.id);
        let mut change = self.store().change().await?;
        let mut alert = open_alert(&mut change, id).await?;
        for grant in &alert.held_grants {
            let Some(mut g) = store::grant(change.conn(), *grant).await? else {
                continue;
            };
            let ours = g.suspension().is_some_and(|s| s.reason == SuspendReason::Anomaly);
            if ours && g.resume(now) {
                self.commit_hold_change(&mut change, &g, "grant.resumed", &actor, None, now)
                    .await?;
            }
        }
        let state = AlertState::Closed {
            by: admin.id.clone(),
            note: note.clone(),
            at: now,
        };
        let details = json!({ "note": note, "released": alert.held_grants });
        settle(&mut change, &mut alert, state, &actor, details, now).await?;
        change.commit().await?;
        Ok(alert)
    }
}

/// The IP address in a gateway's endpoint (`IP` or `IP:PORT`).
pub(crate) fn parse_endpoint(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

fn given_note(note: &str) -> ServiceResult<String> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS {
        return Err(InvalidInput::Reason(MAX_NOTE_CHARS).into());
    }
    Ok(note.to_string())
}

/// Inside `change`: the alert moves to `state` (acknowledged, closed), kept and audited as such.
async fn settle(
    change: &mut Change,
    alert: &mut Alert,
    state: AlertState,
    actor: &str,
    details: serde_json::Value,
    now: OffsetDateTime,
) -> ServiceResult<()> {
    let action = format!("alert.{}", state.name());
    alert.state = state;
    store::put_alert(change.conn(), alert).await?;
    change
        .audit(now, actor, &action, &alert.id.to_string(), details)
        .await?;
    Ok(())
}

async fn open_alert(change: &mut Change, id: Uuid) -> ServiceResult<Alert> {
    let alert = store::alert(change.conn(), id).await?.ok_or(Missing::Alert(id))?;
    if matches!(alert.state, AlertState::Closed { .. }) {
        return Err(crate::Conflict::AlertClosed(id).into());
    }
    Ok(alert)
}
