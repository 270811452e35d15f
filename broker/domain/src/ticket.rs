//! Tickets as the broker needs them: open or done, and who they are assigned to.

use super::directory::Person;
use serde::{Deserialize, Serialize};

/// What a ticket connector reports about one ticket; kept in the grant's evidence as seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub key: String,
    pub summary: String,
    /// The ticket system's own status name, e.g. "In Progress".
    pub status: String,
    /// Whether that status means the work is finished (Jira's status category `done`).
    pub done: bool,
    pub assignee: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketProblem {
    #[error("ticket {0} does not exist: check the key")]
    NotFound(String),
    #[error("ticket {key} is {status}: access needs an open ticket")]
    Closed { key: String, status: String },
    #[error("ticket {key} is assigned to {assignee}, not to you: ask for it to be assigned to you first")]
    NotAssignee { key: String, assignee: String },
}

/// The ticket check made when a request is created and again before a grant is issued.
pub fn check_ticket(
    key: &str,
    ticket: Option<&Ticket>,
    requester: &Person,
    require_assignee: bool,
) -> Result<(), TicketProblem> {
    let t = ticket.ok_or_else(|| TicketProblem::NotFound(key.to_string()))?;
    if t.done {
        return Err(TicketProblem::Closed {
            key: t.key.clone(),
            status: t.status.clone(),
        });
    }
    if require_assignee && !t.assignee.as_deref().is_some_and(|a| requester.is_named_by(a)) {
        return Err(TicketProblem::NotAssignee {
            key: t.key.clone(),
            assignee: t.assignee.clone().unwrap_or_else(|| "nobody".into()),
        });
    }
    Ok(())
}

pub use daypass_proto::api::validate_ticket_key;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;
    use crate::directory::Role;

    fn ticket(done: bool, assignee: Option<&str>) -> Ticket {
        Ticket {
            key: "OPS-1".into(),
            summary: "rotate certs".into(),
            status: if done { "Done".into() } else { "In Progress".into() },
            done,
            assignee: assignee.map(Into::into),
            url: None,
        }
    }

    #[test]
    fn open_ticket_assigned_to_requester_passes() {
        let ana = person("ana", &[Role::Contractor]);
        assert_eq!(
            check_ticket("OPS-1", Some(&ticket(false, Some("ana@example.com"))), &ana, true),
            Ok(())
        );
    }

    #[test]
    fn missing_done_and_unassigned_tickets_fail_with_reasons() {
        let ana = person("ana", &[Role::Contractor]);
        assert_eq!(
            check_ticket("OPS-9", None, &ana, true),
            Err(TicketProblem::NotFound("OPS-9".into()))
        );
        assert!(matches!(
            check_ticket("OPS-1", Some(&ticket(true, Some("ana"))), &ana, true),
            Err(TicketProblem::Closed { .. })
        ));
        let err = check_ticket("OPS-1", Some(&ticket(false, None)), &ana, true).unwrap_err();
        assert!(err.to_string().contains("assigned to nobody"));
    }

    #[test]
    fn assignee_rule_can_be_switched_off() {
        let ana = person("ana", &[Role::Contractor]);
        assert_eq!(
            check_ticket("OPS-1", Some(&ticket(false, Some("bo"))), &ana, false),
            Ok(())
        );
    }

    #[test]
    fn ticket_keys_are_validated() {
        assert!(validate_ticket_key("OPS-142").is_ok());
        assert!(validate_ticket_key("OPS 142").is_err());
        assert!(validate_ticket_key("../etc").is_err());
    }
}
