//! Approval policies: when a request is approved automatically, and who else must approve it.

use super::directory::{Person, Role};
use super::resource::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Hours of the day (UTC, `start` inclusive, `end` exclusive); wraps midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourWindow {
    pub start: u8,
    pub end: u8,
}

impl HourWindow {
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        let h = now.hour();
        if self.start <= self.end {
            self.start <= h && h < self.end
        } else {
            h >= self.start || h < self.end
        }
    }
}

impl std::str::FromStr for HourWindow {
    type Err = String;
    /// Parses `8-18` (UTC hours).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad hour window {s:?}: write START-END in UTC hours, e.g. 8-18");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let start: u8 = a.trim().parse().map_err(|_| bad())?;
        let end: u8 = b.trim().parse().map_err(|_| bad())?;
        if start > 23 || end > 24 || start == end {
            return Err(bad());
        }
        Ok(HourWindow { start, end })
    }
}

/// When a request may skip human approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoApprove {
    /// Never auto-approve a resource carrying any of these tags (e.g. `env:prod`).
    pub unless_tags: BTreeSet<String>,
    /// Only inside these hours.
    pub hours_utc: Option<HourWindow>,
    /// Only up to this duration.
    pub max_duration_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    pub name: String,
    pub auto_approve: Option<AutoApprove>,
    /// Distinct approvers needed when the request is not auto-approved; at least 1.
    pub approvals_required: u32,
    /// Approvers must belong to this group (and hold the approver role).
    pub approver_group: Option<String>,
}

/// What the policy says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    AutoApprove,
    /// Human approval needed; `why` says which auto-approve condition was not met.
    NeedsApprovals {
        required: u32,
        why: String,
    },
}

impl ApprovalPolicy {
    pub fn validate(&self) -> Result<(), crate::invalid::InvalidValue> {
        if self.approvals_required == 0 {
            return Err(crate::invalid::InvalidValue::NoApprovalsRequired(
                self.name.clone(),
            ));
        }
        Ok(())
    }

    pub fn decide(&self, resources: &[&Resource], duration_seconds: i64, now: OffsetDateTime) -> Decision {
        let needs = |why: String| Decision::NeedsApprovals {
            required: self.approvals_required,
            why,
        };
        let Some(auto) = &self.auto_approve else {
            return needs(format!("policy {:?} always needs human approval", self.name));
        };
        if let Some((r, tag)) = resources.iter().find_map(|r| {
            r.tags
                .iter()
                .find(|t| auto.unless_tags.contains(*t))
                .map(|t| (r, t))
        }) {
            return needs(format!("resource {:?} is tagged {tag}", r.name));
        }
        if let Some(w) = auto.hours_utc.filter(|w| !w.contains(now)) {
            return needs(format!("outside auto-approval hours {}-{} UTC", w.start, w.end));
        }
        if let Some(max) = auto.max_duration_seconds.filter(|max| duration_seconds > *max) {
            return needs(format!("longer than the {max}s auto-approval limit"));
        }
        Decision::AutoApprove
    }

    /// Whether `approver` may approve a request by `requester` that already has `approved_by`.
    pub fn check_approver(
        &self,
        approver: &Person,
        requester: &str,
        approved_by: &[String],
        now: OffsetDateTime,
    ) -> Result<(), ApprovalRefusal> {
        if approver.id == requester {
            return Err(ApprovalRefusal::OwnRequest);
        }
        if !approver.is_active(now) {
            return Err(ApprovalRefusal::AccountInactive);
        }
        if !approver.has_role(Role::Approver) {
            return Err(ApprovalRefusal::NotAnApprover(approver.id.clone()));
        }
        if let Some(group) = self
            .approver_group
            .as_ref()
            .filter(|g| !approver.groups.contains(*g))
        {
            return Err(ApprovalRefusal::NotInGroup {
                approver: approver.id.clone(),
                group: group.clone(),
            });
        }
        if approved_by.contains(&approver.id) {
            return Err(ApprovalRefusal::AlreadyApproved);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefusal {
    #[error("nobody may approve their own request: another approver must decide")]
    OwnRequest,
    #[error("your account is disabled or your contract has ended")]
    AccountInactive,
    #[error("{0} does not hold the approver role")]
    NotAnApprover(String),
    #[error("{approver} is not in approver group {group:?}, which this request's policy requires")]
    NotInGroup { approver: String, group: String },
    #[error("you have already approved this request; it needs a different approver")]
    AlreadyApproved,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;
    use daypass_proto::{PortRange, Protocol};
    use time::macros::datetime;

    fn resource(tags: &[&str]) -> Resource {
        Resource {
            name: "db1".into(),
            address: "10.0.0.1/32".parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(22)],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            gateway: "gw".into(),
            description: String::new(),
        }
    }

    fn low_risk() -> ApprovalPolicy {
        ApprovalPolicy {
            name: "low-risk".into(),
            auto_approve: Some(AutoApprove {
                unless_tags: ["env:prod".to_string()].into(),
                hours_utc: Some("8-18".parse().unwrap()),
                max_duration_seconds: Some(4 * 3600),
            }),
            approvals_required: 1,
            approver_group: Some("approvers".into()),
        }
    }

    const NOON: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    #[test]
    fn low_risk_request_in_hours_is_auto_approved() {
        assert_eq!(
            low_risk().decide(&[&resource(&["env:staging"])], 3600, NOON),
            Decision::AutoApprove
        );
    }

    #[test]
    fn prod_tag_needs_a_human() {
        let d = low_risk().decide(&[&resource(&["env:prod"])], 3600, NOON);
        assert!(matches!(d, Decision::NeedsApprovals { required: 1, ref why } if why.contains("env:prod")));
    }

    #[test]
    fn auto_approval_stops_at_the_end_of_the_hour_window() {
        let p = low_risk();
        assert_eq!(
            p.decide(&[&resource(&[])], 60, datetime!(2026-11-23 17:59:59 UTC)),
            Decision::AutoApprove
        );
        assert!(matches!(
            p.decide(&[&resource(&[])], 60, datetime!(2026-11-23 18:00 UTC)),
            Decision::NeedsApprovals { .. }
        ));
    }

    #[test]
    fn window_wrapping_midnight_contains_late_and_early_hours() {
        let w: HourWindow = "22-6".parse().unwrap();
        assert!(w.contains(datetime!(2026-11-23 23:00 UTC)));
        assert!(w.contains(datetime!(2026-11-23 05:59 UTC)));
        assert!(!w.contains(datetime!(2026-11-23 12:00 UTC)));
    }

    #[test]
    fn long_requests_need_a_human() {
        assert!(matches!(
            low_risk().decide(&[&resource(&[])], 5 * 3600, NOON),
            Decision::NeedsApprovals { .. }
        ));
    }

    #[test]
    fn requester_cannot_approve_even_as_approver() {
        let mut ana = person("ana", &[Role::Approver]);
        ana.groups.insert("approvers".into());
        assert_eq!(
            low_risk().check_approver(&ana, "ana", &[], NOON),
            Err(ApprovalRefusal::OwnRequest)
        );
    }

    #[test]
    fn approver_outside_the_group_is_refused_and_repeat_approval_too() {
        let mut bo = person("bo", &[Role::Approver]);
        assert!(matches!(
            low_risk().check_approver(&bo, "ana", &[], NOON),
            Err(ApprovalRefusal::NotInGroup { .. })
        ));
        bo.groups.insert("approvers".into());
        assert_eq!(low_risk().check_approver(&bo, "ana", &[], NOON), Ok(()));
        assert_eq!(
            low_risk().check_approver(&bo, "ana", &["bo".into()], NOON),
            Err(ApprovalRefusal::AlreadyApproved)
        );
    }

    #[test]
    fn zero_required_approvals_is_invalid() {
        let mut p = low_risk();
        p.approvals_required = 0;
        assert!(p.validate().is_err());
    }
}
