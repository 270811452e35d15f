//! Grant lifecycle: issued and signed, then ended exactly once, by expiry or by a revocation with a reason.

use super::directory::{Device, Person};
use super::request::AccessRequest;
use super::resource::Resource;
use daypass_proto::api::{GrantStatus, GrantView, SuspensionView};
use daypass_proto::{Grant, GrantDevice, Signed};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Expired,
    Revoked,
    TicketClosed,
    ContractEnded,
    AccountDisabled,
    EmergencyStop,
    /// An access review removed the entitlement it rested on.
    AccessReview,
    /// The person left the group whose entitlement it rested on.
    GroupLeft,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::Expired => "expired",
            EndReason::Revoked => "revoked",
            EndReason::TicketClosed => "ticket closed",
            EndReason::ContractEnded => "contract ended",
            EndReason::AccountDisabled => "account disabled",
            EndReason::EmergencyStop => "emergency stop",
            EndReason::AccessReview => "access review",
            EndReason::GroupLeft => "group left",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantEnd {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reason: EndReason,
    pub by: String,
    pub detail: String,
}

/// Why a live grant is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    /// A report from the device fails a check that gated the grant.
    PostureFailed,
    /// The device sent no report for longer than the configured silence.
    PostureSilent,
    /// An anomaly rule held the person's grants until an admin closes its alert.
    Anomaly,
}

impl SuspendReason {
    /// Holds a compliant posture report releases (an anomaly's hold waits for an admin).
    pub fn is_posture(self) -> bool {
        matches!(self, SuspendReason::PostureFailed | SuspendReason::PostureSilent)
    }
}

impl fmt::Display for SuspendReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SuspendReason::PostureFailed => "posture_failed",
            SuspendReason::PostureSilent => "posture_silent",
            SuspendReason::Anomaly => "anomaly",
        })
    }
}

/// One spell of a grant being held, from `since` until a compliant report resumed it (or the grant
/// ended while held).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    pub reason: SuspendReason,
    /// What failed, e.g. `firewall (for the organisation's policy)`.
    pub detail: String,
    /// What the contractor does about it.
    pub fix: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resumed_at: Option<OffsetDateTime>,
}

/// Which posture rules a grant stays under while it runs: the policies of these resource tags
/// (with the organisation's), or the organisation's alone when `tags` is empty (a grant that was
/// auto-approved on a compliant report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureWatch {
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant: Grant,
    pub signed: Signed<Grant>,
    pub ended: Option<GrantEnd>,
    /// Set when posture gated the grant: its device's reports keep being judged while it runs.
    #[serde(default)]
    pub posture_watch: Option<PostureWatch>,
    /// Every time the grant was held, oldest first; the last is in force while it has no `resumed_at`.
    #[serde(default)]
    pub suspensions: Vec<Suspension>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant {id} already ended ({reason}) at {at}")]
pub struct AlreadyEnded {
    pub id: Uuid,
    pub reason: EndReason,
    pub at: OffsetDateTime,
}

/// Issues the grant for an approved request: it starts now and ends after the requested duration,
/// or at the requester's contract end if that comes first.
pub fn issue(
    request: &AccessRequest,
    requester: &Person,
    device: &Device,
    resources: &[&Resource],
    key: &SigningKey,
    now: OffsetDateTime,
) -> GrantRecord {
    let wanted_end = now + Duration::seconds(request.duration_seconds);
    let not_after = requester
        .contract_end
        .map_or(wanted_end, |end| end.min(wanted_end));
    let grant = Grant {
        id: Uuid::new_v4(),
        request_id: request.id,
        person: requester.id.clone(),
        device: GrantDevice {
            id: device.id.clone(),
            wireguard_public_key: device.wireguard_public_key.clone(),
            tunnel_address: device.tunnel_address.clone(),
        },
        gateway: resources.first().map(|r| r.gateway.clone()).unwrap_or_default(),
        resources: resources.iter().map(|r| r.to_granted()).collect(),
        ticket: request.ticket.clone(),
        approvals: request.approved_by(),
        not_before: now,
        not_after,
    };
    let signed = Signed::sign(&grant, key);
    GrantRecord {
        grant,
        signed,
        ended: None,
        posture_watch: None,
        suspensions: Vec::new(),
    }
}

impl GrantRecord {
    pub fn status(&self, now: OffsetDateTime) -> GrantStatus {
        match &self.ended {
            Some(e) if e.reason == EndReason::Expired => GrantStatus::Expired,
            Some(_) => GrantStatus::Revoked,
            None if now >= self.grant.not_after => GrantStatus::Expired,
            None if now < self.grant.not_before => GrantStatus::Scheduled,
            None if self.suspension().is_some() => GrantStatus::Suspended,
            None => GrantStatus::Active,
        }
    }

    /// Live = neither ended nor past `not_after` (held or not).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        matches!(
            self.status(now),
            GrantStatus::Active | GrantStatus::Scheduled | GrantStatus::Suspended
        )
    }

    /// Live and not held: what gateways must let through.
    pub fn is_enforced(&self, now: OffsetDateTime) -> bool {
        self.is_live(now) && self.suspension().is_none()
    }

    /// The suspension in force, if the grant is held.
    pub fn suspension(&self) -> Option<&Suspension> {
        self.suspensions.last().filter(|s| s.resumed_at.is_none())
    }

    /// Holds a live grant. True when this call held it; a grant already held keeps its `since` and
    /// takes the newer reason and fix (false), except that an anomaly's hold stays one (a posture
    /// report must not release it); one that is not live is left alone (false).
    pub fn suspend(&mut self, reason: SuspendReason, detail: &str, fix: &str, now: OffsetDateTime) -> bool {
        if !self.is_live(now) {
            return false;
        }
        if let Some(held) = self.suspensions.last_mut().filter(|s| s.resumed_at.is_none()) {
            if held.reason == SuspendReason::Anomaly {
                return false;
            }
            held.reason = reason;
            held.detail = detail.into();
            held.fix = fix.into();
            return false;
        }
        self.suspensions.push(Suspension {
            since: now,
            reason,
            detail: detail.into(),
            fix: fix.into(),
            resumed_at: None,
        });
        true
    }

    /// Releases a held, live grant (never lengthening it); true when this call released it.
    pub fn resume(&mut self, now: OffsetDateTime) -> bool {
        if !self.is_live(now) {
            return false;
        }
        match self.suspensions.last_mut().filter(|s| s.resumed_at.is_none()) {
            Some(held) => {
                held.resumed_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Ends a live grant early. Expired or already-ended grants refuse, so each grant ends once.
    pub fn end(
        &mut self,
        reason: EndReason,
        by: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> Result<(), AlreadyEnded> {
        if let Some(e) = &self.ended {
            return Err(AlreadyEnded {
                id: self.grant.id,
                reason: e.reason,
                at: e.at,
            });
        }
        if now >= self.grant.not_after {
            return Err(AlreadyEnded {
                id: self.grant.id,
                reason: EndReason::Expired,
                at: self.grant.not_after,
            });
        }
        self.ended = Some(GrantEnd {
            at: now,
            reason,
            by: by.into(),
            detail: detail.into(),
        });
        Ok(())
    }

    /// Records expiry at `not_after` once it has passed; true when this call recorded it.
    pub fn expire_if_due(&mut self, now: OffsetDateTime) -> bool {
        if self.ended.is_none() && now >= self.grant.not_after {
            self.ended = Some(GrantEnd {
                at: self.grant.not_after,
                reason: EndReason::Expired,
                by: "broker".into(),
                detail: "reached not_after".into(),
            });
            return true;
        }
        false
    }

    pub fn view(&self, now: OffsetDateTime) -> GrantView {
        GrantView {
            grant: self.grant.clone(),
            signed: self.signed.clone(),
            status: self.status(now),
            end_reason: self.ended.as_ref().map(|e| format!("{}: {}", e.reason, e.detail)),
            ended_at: self
                .ended
                .as_ref()
                .map(|e| e.at)
                .or_else(|| (now >= self.grant.not_after).then_some(self.grant.not_after)),
            suspension: self
                .suspension()
                .filter(|_| self.is_live(now))
                .map(|s| SuspensionView {
                    since: s.since,
                    reason: s.reason.to_string(),
                    detail: s.detail.clone(),
                    fix: s.fix.clone(),
                }),
            posture_recheck_seconds: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;
    use crate::directory::Role;
    use crate::request::tests::{pending, T0};
    use daypass_proto::{PortRange, Protocol};
    use proptest::prelude::*;
    use rand::rngs::OsRng;

    fn device() -> Device {
        Device {
            id: "ana-laptop".into(),
            person: "ana".into(),
            name: "laptop".into(),
            wireguard_public_key: "YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=".into(),
            tunnel_address: "100.96.0.2/32".into(),
            revoked: false,
            report_public_key: None,
        }
    }

    fn resource() -> Resource {
        Resource {
            name: "db1".into(),
            address: "10.20.0.5/32".parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(5432)],
            tags: Default::default(),
            gateway: "gw1".into(),
            description: String::new(),
        }
    }

    fn issued(contract_end: Option<OffsetDateTime>) -> (GrantRecord, SigningKey) {
        let key = SigningKey::generate(&mut OsRng);
        let mut ana = person("ana", &[Role::Contractor]);
        ana.contract_end = contract_end;
        (issue(&pending(1), &ana, &device(), &[&resource()], &key, T0), key)
    }

    #[test]
    fn issued_grant_is_signed_and_bound_to_device_ticket_and_resources() {
        let (g, key) = issued(None);
        let verified = g.signed.verify(&key.verifying_key()).unwrap();
        assert_eq!(verified, g.grant);
        assert_eq!(verified.device.tunnel_address, "100.96.0.2/32");
        assert_eq!(verified.ticket, "OPS-1");
        assert_eq!(verified.not_after - verified.not_before, Duration::hours(1));
    }

    #[test]
    fn grant_never_outlives_the_contract() {
        let end = T0 + Duration::minutes(10);
        let (g, _) = issued(Some(end));
        assert_eq!(g.grant.not_after, end);
    }

    #[test]
    fn grant_expires_at_the_second() {
        let (mut g, _) = issued(None);
        let end = g.grant.not_after;
        assert_eq!(g.status(end - Duration::seconds(1)), GrantStatus::Active);
        assert_eq!(g.status(end), GrantStatus::Expired);
        assert!(!g.expire_if_due(end - Duration::seconds(1)));
        assert!(g.expire_if_due(end));
        assert_eq!(g.ended.as_ref().unwrap().at, end);
    }

    #[test]
    fn a_grant_ends_only_once() {
        let (mut g, _) = issued(None);
        g.end(
            EndReason::TicketClosed,
            "tickets",
            "OPS-1 done",
            T0 + Duration::minutes(5),
        )
        .unwrap();
        let again = g
            .end(EndReason::Revoked, "admin", "x", T0 + Duration::minutes(6))
            .unwrap_err();
        assert_eq!(again.reason, EndReason::TicketClosed);
        assert!(!g.expire_if_due(T0 + Duration::hours(2)));
        assert_eq!(g.status(T0 + Duration::hours(2)), GrantStatus::Revoked);
    }

    #[test]
    fn a_held_grant_is_live_but_not_enforced_and_resumes_without_growing() {
        let (mut g, key) = issued(None);
        let not_after = g.grant.not_after;
        let t = T0 + Duration::minutes(5);
        assert!(g.suspend(
            SuspendReason::PostureFailed,
            "firewall",
            "Turn the firewall on.",
            t
        ));
        assert_eq!(g.status(t), GrantStatus::Suspended);
        assert!(g.is_live(t) && !g.is_enforced(t));
        assert_eq!(g.view(t).suspension.unwrap().fix, "Turn the firewall on.");
        // Held again: the same spell, with the newer reason.
        assert!(!g.suspend(
            SuspendReason::PostureSilent,
            "silent",
            "Start Daypass.",
            t + Duration::minutes(1)
        ));
        assert_eq!(g.suspensions.len(), 1);
        assert_eq!(g.suspension().unwrap().since, t);
        assert_eq!(g.suspension().unwrap().reason, SuspendReason::PostureSilent);
        assert!(g.resume(t + Duration::minutes(2)));
        assert!(!g.resume(t + Duration::minutes(3)));
        assert!(g.is_enforced(t + Duration::minutes(3)));
        assert_eq!(g.grant.not_after, not_after);
        assert_eq!(
            g.signed.verify(&key.verifying_key()).unwrap().not_after,
            not_after
        );
        // Ended grants are neither held nor released.
        g.end(EndReason::Revoked, "admin", "r", t + Duration::minutes(4))
            .unwrap();
        assert!(!g.suspend(SuspendReason::PostureFailed, "x", "y", t + Duration::minutes(5)));
        assert!(g.view(t + Duration::minutes(5)).suspension.is_none());
    }

    /// Reference model: a grant is live exactly when no end happened before `t` and `t < not_after`;
    /// it is enforced when also not held.
    #[derive(Debug, Clone)]
    enum Step {
        Tick(i64),
        Revoke,
        Sweep,
        Suspend,
        Resume,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0i64..2000).prop_map(Step::Tick),
            Just(Step::Revoke),
            Just(Step::Sweep),
            Just(Step::Suspend),
            Just(Step::Resume),
        ]
    }

    proptest! {
        #[test]
        fn lifecycle_matches_the_reference_model(steps in proptest::collection::vec(step(), 1..40)) {
            let (mut g, _) = issued(None);
            let mut now = T0;
            let mut model_end: Option<OffsetDateTime> = None;
            let mut model_held = false;
            let not_after = g.grant.not_after;
            for s in steps {
                match s {
                    Step::Tick(secs) => now += Duration::seconds(secs),
                    Step::Revoke => {
                        let ok = g.end(EndReason::Revoked, "admin", "r", now).is_ok();
                        let model_ok = model_end.is_none() && now < g.grant.not_after;
                        prop_assert_eq!(ok, model_ok);
                        if model_ok { model_end = Some(now); }
                    }
                    Step::Sweep => {
                        let recorded = g.expire_if_due(now);
                        let model_recorded = model_end.is_none() && now >= g.grant.not_after;
                        prop_assert_eq!(recorded, model_recorded);
                        if model_recorded { model_end = Some(g.grant.not_after); }
                    }
                    Step::Suspend => {
                        let live = model_end.is_none() && now < not_after;
                        prop_assert_eq!(g.suspend(SuspendReason::PostureFailed, "d", "f", now), live && !model_held);
                        model_held |= live;
                    }
                    Step::Resume => {
                        let live = model_end.is_none() && now < not_after;
                        prop_assert_eq!(g.resume(now), live && model_held);
                        if live { model_held = false; }
                    }
                }
                let model_live = model_end.is_none() && now < g.grant.not_after;
                prop_assert_eq!(g.is_live(now), model_live);
                prop_assert_eq!(g.is_enforced(now), model_live && !model_held);
                prop_assert_eq!(g.grant.not_after, not_after);
            }
        }
    }
}
