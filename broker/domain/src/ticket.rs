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
    /// The assignee is kept for the audit record; the requester is not told who it is.
    #[error("ticket {key} is not assigned to you: ask for it to be assigned to you first")]
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
    // Someone else's ticket says nothing more about itself, not even whether it is closed.
    if require_assignee && !is_assigned_to(t, requester) {
        return Err(TicketProblem::NotAssignee {
            key: t.key.clone(),
            assignee: t.assignee.clone().unwrap_or_else(|| "nobody".into()),
        });
    }
    if t.done {
        return Err(TicketProblem::Closed {
            key: t.key.clone(),
            status: t.status.clone(),
        });
    }
    Ok(())
}

/// Whether the ticket system names `person` as the ticket's assignee.
pub fn is_assigned_to(ticket: &Ticket, person: &Person) -> bool {
    ticket.assignee.as_deref().is_some_and(|a| person.is_named_by(a))
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
        assert_eq!(
            check_ticket("OPS-1", Some(&ticket(false, None)), &ana, true),
            Err(TicketProblem::NotAssignee {
                key: "OPS-1".into(),
                assignee: "nobody".into()
            })
        );
    }

    #[test]
    fn someone_elses_ticket_says_neither_its_assignee_nor_its_state() {
        let ana = person("ana", &[Role::Contractor]);
        let closed_of_ben = ticket(true, Some("ben"));
        let refused = check_ticket("OPS-1", Some(&closed_of_ben), &ana, true).unwrap_err();
        assert!(matches!(refused, TicketProblem::NotAssignee { .. }), "{refused}");
        let said = refused.to_string();
        assert!(!said.contains("ben") && !said.contains("Done"), "{said}");
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
        for path_like in [".", "..", "-x", "_x", ""] {
            assert!(validate_ticket_key(path_like).is_err(), "{path_like:?}");
        }
    }
}
