//! The access request: pending until approved, denied or expired; granted at most once.

use super::ticket::Ticket;
use daypass_proto::api::{AccessRequestView, ApprovalView, RequestStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Default time a pending request waits for approval before it expires.
pub const DEFAULT_PENDING_TTL_SECONDS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub approver: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Granted {
        grant_id: Uuid,
    },
    Denied {
        by: String,
        reason: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    Expired {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: Uuid,
    pub requester: String,
    pub device: String,
    pub resources: Vec<String>,
    pub ticket: String,
    pub reason: String,
    pub duration_seconds: i64,
    pub policy: String,
    pub approvals_required: u32,
    pub approvals: Vec<Approval>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub state: RequestState,
    /// The ticket as the connector last reported it, kept for the evidence bundle.
    pub ticket_snapshot: Option<Ticket>,
    /// Why the policy did not auto-approve, shown to approvers.
    pub needs_approval_because: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    #[error("request {0} is no longer pending: it was {1}")]
    NotPending(Uuid, &'static str),
    #[error("request {0} expired at {1} without enough approvals: make a new request")]
    Expired(Uuid, OffsetDateTime),
    #[error("a reason is required")]
    ReasonMissing,
}

impl AccessRequest {
    /// Pending past `expires_at` counts as expired even before a sweep records it.
    pub fn status(&self, now: OffsetDateTime) -> RequestStatus {
        match self.state {
            RequestState::Pending if now >= self.expires_at => RequestStatus::Expired,
            RequestState::Pending => RequestStatus::Pending,
            RequestState::Granted { .. } => RequestStatus::Granted,
            RequestState::Denied { .. } => RequestStatus::Denied,
            RequestState::Expired { .. } => RequestStatus::Expired,
        }
    }

    /// Refuses unless the request can still be acted on at `now`.
    pub fn ensure_pending(&self, now: OffsetDateTime) -> Result<(), RequestRefusal> {
        match self.status(now) {
            RequestStatus::Pending => Ok(()),
            RequestStatus::Expired => Err(RequestRefusal::Expired(self.id, self.expires_at)),
            RequestStatus::Granted => Err(RequestRefusal::NotPending(self.id, "granted")),
            RequestStatus::Denied => Err(RequestRefusal::NotPending(self.id, "denied")),
        }
    }

    pub fn approved_by(&self) -> Vec<String> {
        self.approvals.iter().map(|a| a.approver.clone()).collect()
    }

    /// Records one approval (already checked against the policy); true when enough are in.
    pub fn approve(
        &mut self,
        approver: &str,
        comment: Option<String>,
        now: OffsetDateTime,
    ) -> Result<bool, RequestRefusal> {
        self.ensure_pending(now)?;
        self.approvals.push(Approval {
            approver: approver.to_string(),
            at: now,
            comment,
        });
        Ok(self.approvals.len() as u32 >= self.approvals_required)
    }

    pub fn deny(&mut self, by: &str, reason: &str, now: OffsetDateTime) -> Result<(), RequestRefusal> {
        if reason.trim().is_empty() {
            return Err(RequestRefusal::ReasonMissing);
        }
        self.ensure_pending(now)?;
        self.state = RequestState::Denied {
            by: by.into(),
            reason: reason.trim().into(),
            at: now,
        };
        Ok(())
    }

    pub fn mark_granted(&mut self, grant_id: Uuid) {
        self.state = RequestState::Granted { grant_id };
    }

    /// Records expiry; returns false when the request was not a lapsed pending one.
    pub fn expire_if_due(&mut self, now: OffsetDateTime) -> bool {
        if self.state == RequestState::Pending && now >= self.expires_at {
            self.state = RequestState::Expired { at: self.expires_at };
            return true;
        }
        false
    }

    pub fn view(&self, now: OffsetDateTime) -> AccessRequestView {
        AccessRequestView {
            id: self.id,
            requester: self.requester.clone(),
            device: self.device.clone(),
            resources: self.resources.clone(),
            ticket: self.ticket.clone(),
            reason: self.reason.clone(),
            duration_seconds: self.duration_seconds,
            status: self.status(now),
            policy: self.policy.clone(),
            approvals_required: self.approvals_required,
            approvals: self
                .approvals
                .iter()
                .map(|a| ApprovalView {
                    approver: a.approver.clone(),
                    at: a.at,
                    comment: a.comment.clone(),
                })
                .collect(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            denial_reason: match &self.state {
                RequestState::Denied { reason, .. } => Some(reason.clone()),
                _ => None,
            },
            grant_id: match self.state {
                RequestState::Granted { grant_id } => Some(grant_id),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    pub const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    pub fn pending(required: u32) -> AccessRequest {
        AccessRequest {
            id: Uuid::nil(),
            requester: "ana".into(),
            device: "ana-laptop".into(),
            resources: vec!["db1".into()],
            ticket: "OPS-1".into(),
            reason: "migrate schema".into(),
            duration_seconds: 3600,
            policy: "two".into(),
            approvals_required: required,
            approvals: vec![],
            created_at: T0,
            expires_at: T0 + Duration::seconds(DEFAULT_PENDING_TTL_SECONDS),
            state: RequestState::Pending,
            ticket_snapshot: None,
            needs_approval_because: None,
        }
    }

    #[test]
    fn request_expires_at_the_second_its_wait_ends() {
        let mut r = pending(1);
        let end = r.expires_at;
        assert_eq!(r.status(end - Duration::seconds(1)), RequestStatus::Pending);
        assert_eq!(r.status(end), RequestStatus::Expired);
        assert!(r.approve("bo", None, end).is_err());
        assert!(r.expire_if_due(end));
        assert!(!r.expire_if_due(end), "expiry is recorded once");
    }

    #[test]
    fn second_distinct_approval_completes_a_two_approver_request() {
        let mut r = pending(2);
        assert_eq!(r.approve("bo", None, T0), Ok(false));
        assert_eq!(r.approve("cy", Some("ok".into()), T0), Ok(true));
        assert_eq!(r.approved_by(), vec!["bo".to_string(), "cy".to_string()]);
    }

    #[test]
    fn denial_needs_a_reason_and_ends_the_request() {
        let mut r = pending(1);
        assert_eq!(r.deny("bo", "  ", T0), Err(RequestRefusal::ReasonMissing));
        r.deny("bo", "not during the freeze", T0).unwrap();
        assert_eq!(r.view(T0).denial_reason.as_deref(), Some("not during the freeze"));
        assert!(matches!(
            r.approve("cy", None, T0),
            Err(RequestRefusal::NotPending(_, "denied"))
        ));
    }
}
