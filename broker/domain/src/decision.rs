//! The access decision: one pure function from everything the broker loaded for a request (the
//! requester, the access matrix, the ticket as its system answered, the posture verdict, the
//! passkey step-up, `now`) to a typed outcome: refused with a reason, pending with the governing
//! policy, or approved by it. The service loads, calls this, and stores what it says.

use crate::directory::Person;
use crate::entitlement::{check_request, Entitled, Entitlement, MatrixRefusal};
use crate::policy::{ApprovalPolicy, Decision};
use crate::resource::Resource;
use crate::ticket::{check_ticket, Ticket, TicketProblem};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What the broker loaded and judged for one request.
#[derive(Debug, Clone, Copy)]
pub struct AccessQuestion<'a> {
    pub requester: &'a Person,
    /// The resource names asked for, as sent.
    pub requested: &'a [String],
    pub duration_seconds: i64,
    /// Every resource, entitlement and approval policy the broker knows.
    pub resources: &'a [Resource],
    pub matrix: &'a [Entitlement],
    pub policies: &'a [ApprovalPolicy],
    pub ticket_key: &'a str,
    /// The ticket as its system answered now (`None`: it does not exist).
    pub ticket: Option<&'a Ticket>,
    pub require_ticket_assignee: bool,
    pub posture: PostureVerdict<'a>,
    pub step_up: StepUpState<'a>,
    pub now: OffsetDateTime,
}

/// The device's posture as judged for this request.
#[derive(Debug, Clone, Copy)]
pub struct PostureVerdict<'a> {
    /// Whether a requested resource's tag makes a fresh, compliant report a condition of access.
    pub gated: bool,
    /// The latest report judged against the rules that apply (the gating ones, or the
    /// organisation's policy): `Err` says what fails and what to fix.
    pub judged: Result<(), &'a str>,
    /// Whether auto-approval also needs that report to pass.
    pub auto_approve_requires_report: bool,
}

/// The requester's passkey step-up as it bears on this request.
#[derive(Debug, Clone, Copy)]
pub struct StepUpState<'a> {
    /// Resources with any of these tags need a fresh passkey confirmation.
    pub sensitive_tags: &'a BTreeSet<String>,
    /// Whether the requester confirmed with a passkey recently enough.
    pub confirmed: bool,
    /// How recent a confirmation must be, in minutes (for the refusal's advice).
    pub max_age_minutes: i64,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessRefusal {
    #[error(transparent)]
    Matrix(#[from] MatrixRefusal),
    #[error(transparent)]
    Ticket(#[from] TicketProblem),
    /// A requested resource needs a fresh, compliant posture report and the device has none.
    #[error("{reason}")]
    Posture { reason: String },
    #[error(
        "these resources are sensitive: confirm with your passkey (within {max_age_minutes} minutes) and ask again"
    )]
    StepUpNeeded { max_age_minutes: i64 },
    /// The access matrix names a policy that does not exist: configuration, not the requester's doing.
    #[error("approval policy {0:?} named by an entitlement does not exist: an admin must create it")]
    MissingPolicy(String),
}

impl AccessRefusal {
    /// Whether the refusal is of the requester's attempt (recorded for auditors), rather than of
    /// the broker's configuration.
    pub fn is_of_the_attempt(&self) -> bool {
        !matches!(self, AccessRefusal::MissingPolicy(_))
    }
}

/// A request the broker accepts.
#[derive(Debug, Clone)]
pub struct Accepted<'a> {
    /// The requested resources with the entitlement that allows each.
    pub entitled: Vec<Entitled<'a>>,
    /// The strictest policy among the entitlements'; it governs the request.
    pub policy: &'a ApprovalPolicy,
    /// Approved by the policy at once, or waiting for approvers (and why).
    pub decision: Decision,
}

/// Decides a request: the access matrix, then the ticket, then posture where a tag gates it, then
/// the step-up; the governing policy decides between auto-approval and approvers, and auto-approval
/// falls back to approvers when it needs a compliant report the device does not have.
pub fn decide<'a>(q: &AccessQuestion<'a>) -> Result<Accepted<'a>, AccessRefusal> {
    let entitled = check_request(
        q.requester,
        q.requested,
        q.duration_seconds,
        q.resources,
        q.matrix,
    )?;
    check_ticket(q.ticket_key, q.ticket, q.requester, q.require_ticket_assignee)?;
    if let (true, Err(reason)) = (q.posture.gated, q.posture.judged) {
        return Err(AccessRefusal::Posture {
            reason: reason.to_string(),
        });
    }
    let sensitive = entitled
        .iter()
        .flat_map(|e| &e.resource.tags)
        .any(|t| q.step_up.sensitive_tags.contains(t));
    if sensitive && !q.step_up.confirmed {
        return Err(AccessRefusal::StepUpNeeded {
            max_age_minutes: q.step_up.max_age_minutes,
        });
    }
    let (policy, decision) = governing_policy(q.policies, &entitled, q.duration_seconds, q.now)?;
    let decision = match (decision, q.posture.judged) {
        (Decision::AutoApprove, Err(reason)) if q.posture.auto_approve_requires_report => {
            Decision::NeedsApprovals {
                required: policy.approvals_required,
                why: format!("auto-approval needs a fresh, compliant posture report: {reason}"),
            }
        }
        (d, _) => d,
    };
    Ok(Accepted {
        entitled,
        policy,
        decision,
    })
}

/// The strictest of the policies the entitlements name: one that needs approvers beats one that
/// auto-approves, and more approvers beat fewer.
fn governing_policy<'a>(
    policies: &'a [ApprovalPolicy],
    entitled: &[Entitled<'_>],
    duration_seconds: i64,
    now: OffsetDateTime,
) -> Result<(&'a ApprovalPolicy, Decision), AccessRefusal> {
    let refs: Vec<_> = entitled.iter().map(|e| e.resource).collect();
    let mut best: Option<(&ApprovalPolicy, Decision)> = None;
    for name in entitled.iter().map(|e| e.entitlement.policy.as_str()) {
        let policy = policies
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| AccessRefusal::MissingPolicy(name.to_string()))?;
        let decision = policy.decide(&refs, duration_seconds, now);
        let stricter = match (&best, &decision) {
            (None, _) => true,
            (Some((_, Decision::AutoApprove)), Decision::NeedsApprovals { .. }) => true,
            (Some((b, Decision::NeedsApprovals { .. })), Decision::NeedsApprovals { .. }) => {
                policy.approvals_required > b.approvals_required
            }
            _ => false,
        };
        if stricter {
            best = Some((policy, decision));
        }
    }
    best.ok_or(AccessRefusal::Matrix(MatrixRefusal::Empty))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::directory::tests::person;
    use crate::directory::Role;
    use crate::policy::AutoApprove;
    use daypass_proto::{PortRange, Protocol};
    use time::macros::datetime;

    const NOON: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
    const NIGHT: OffsetDateTime = datetime!(2026-11-23 23:00 UTC);

    fn resource(name: &str, tags: &[&str]) -> Resource {
        Resource {
            name: name.into(),
            address: "10.0.0.1/32".parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(5432)],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            gateway: "gw".into(),
            description: String::new(),
        }
    }

    fn entitlement(resource: &str, policy: &str) -> Entitlement {
        Entitlement {
            id: format!("ana-{resource}"),
            subject: "person:ana".parse().unwrap(),
            selector: format!("resource:{resource}").parse().unwrap(),
            max_duration_seconds: 8 * 3600,
            policy: policy.into(),
        }
    }

    fn policy(name: &str, auto: bool, approvals: u32) -> ApprovalPolicy {
        ApprovalPolicy {
            name: name.into(),
            auto_approve: auto.then(|| AutoApprove {
                unless_tags: ["env:prod".to_string()].into(),
                hours_utc: Some("8-18".parse().unwrap()),
                max_duration_seconds: Some(4 * 3600),
            }),
            approvals_required: approvals,
            approver_group: None,
        }
    }

    fn ticket(done: bool, assignee: &str) -> Ticket {
        Ticket {
            key: "OPS-1".into(),
            summary: "migrate".into(),
            status: if done { "Done" } else { "In Progress" }.into(),
            done,
            assignee: Some(assignee.into()),
            url: None,
        }
    }

    /// The organisation every case starts from: Ana may ask for a staging database (low risk,
    /// auto-approved in hours), a production one (needs one approver) and a vault (needs two).
    struct World {
        ana: Person,
        requested: Vec<String>,
        resources: Vec<Resource>,
        matrix: Vec<Entitlement>,
        policies: Vec<ApprovalPolicy>,
        ticket: Option<Ticket>,
        sensitive: BTreeSet<String>,
    }

    impl World {
        fn new(requested: &[&str]) -> Self {
            World {
                ana: person("ana", &[Role::Contractor]),
                requested: requested.iter().map(|r| r.to_string()).collect(),
                resources: vec![
                    resource("db-staging", &["env:staging"]),
                    resource("db-prod", &["env:prod"]),
                    resource("vault", &["env:prod", "secrets"]),
                ],
                matrix: vec![
                    entitlement("db-staging", "low-risk"),
                    entitlement("db-prod", "one-approver"),
                    entitlement("vault", "two-approvers"),
                ],
                policies: vec![
                    policy("low-risk", true, 1),
                    policy("one-approver", false, 1),
                    policy("two-approvers", false, 2),
                ],
                ticket: Some(ticket(false, "ana")),
                sensitive: BTreeSet::new(),
            }
        }

        fn question(&self) -> AccessQuestion<'_> {
            AccessQuestion {
                requester: &self.ana,
                requested: &self.requested,
                duration_seconds: 3600,
                resources: &self.resources,
                matrix: &self.matrix,
                policies: &self.policies,
                ticket_key: "OPS-1",
                ticket: self.ticket.as_ref(),
                require_ticket_assignee: true,
                posture: PostureVerdict {
                    gated: false,
                    judged: Ok(()),
                    auto_approve_requires_report: true,
                },
                step_up: StepUpState {
                    sensitive_tags: &self.sensitive,
                    confirmed: false,
                    max_age_minutes: 5,
                },
                now: NOON,
            }
        }
    }

    fn refusal(q: &AccessQuestion<'_>) -> AccessRefusal {
        decide(q).map(|a| a.policy.name.clone()).unwrap_err()
    }

    #[test]
    fn low_risk_in_hours_is_approved_by_its_policy() {
        let w = World::new(&["db-staging"]);
        let accepted = decide(&w.question()).unwrap();
        assert_eq!(accepted.decision, Decision::AutoApprove);
        assert_eq!(accepted.policy.name, "low-risk");
        assert_eq!(accepted.entitled[0].entitlement.id, "ana-db-staging");
    }

    #[test]
    fn outside_hours_the_same_request_waits_for_an_approver() {
        let w = World::new(&["db-staging"]);
        let q = AccessQuestion {
            now: NIGHT,
            ..w.question()
        };
        assert!(matches!(
            decide(&q).unwrap().decision,
            Decision::NeedsApprovals { required: 1, .. }
        ));
    }

    #[test]
    fn the_strictest_policy_of_the_requested_resources_governs() {
        let w = World::new(&["db-staging", "vault", "db-prod"]);
        let accepted = decide(&w.question()).unwrap();
        assert_eq!(accepted.policy.name, "two-approvers");
        assert!(matches!(
            accepted.decision,
            Decision::NeedsApprovals { required: 2, .. }
        ));
    }

    #[test]
    fn a_resource_outside_the_matrix_is_refused() {
        let mut w = World::new(&["db-prod"]);
        w.matrix.retain(|e| e.id != "ana-db-prod");
        assert!(matches!(
            refusal(&w.question()),
            AccessRefusal::Matrix(MatrixRefusal::NotEntitled { .. })
        ));
    }

    #[test]
    fn an_unknown_resource_is_refused() {
        let w = World::new(&["db-nowhere"]);
        assert_eq!(
            refusal(&w.question()),
            AccessRefusal::Matrix(MatrixRefusal::UnknownResource("db-nowhere".into()))
        );
    }

    #[test]
    fn asking_for_nothing_is_refused() {
        let w = World::new(&[]);
        assert_eq!(
            refusal(&w.question()),
            AccessRefusal::Matrix(MatrixRefusal::Empty)
        );
    }

    #[test]
    fn longer_than_the_entitlement_allows_is_refused() {
        let w = World::new(&["db-staging"]);
        let q = AccessQuestion {
            duration_seconds: 9 * 3600,
            ..w.question()
        };
        assert!(matches!(
            refusal(&q),
            AccessRefusal::Matrix(MatrixRefusal::TooLong { .. })
        ));
    }

    #[test]
    fn a_closed_ticket_is_refused() {
        let mut w = World::new(&["db-staging"]);
        w.ticket = Some(ticket(true, "ana"));
        assert!(matches!(
            refusal(&w.question()),
            AccessRefusal::Ticket(TicketProblem::Closed { .. })
        ));
    }

    #[test]
    fn a_ticket_assigned_to_someone_else_is_refused_unless_assignees_are_not_required() {
        let mut w = World::new(&["db-staging"]);
        w.ticket = Some(ticket(false, "ben"));
        assert!(matches!(
            refusal(&w.question()),
            AccessRefusal::Ticket(TicketProblem::NotAssignee { .. })
        ));
        let q = AccessQuestion {
            require_ticket_assignee: false,
            ..w.question()
        };
        assert!(decide(&q).is_ok());
    }

    #[test]
    fn a_missing_ticket_is_refused() {
        let mut w = World::new(&["db-staging"]);
        w.ticket = None;
        assert_eq!(
            refusal(&w.question()),
            AccessRefusal::Ticket(TicketProblem::NotFound("OPS-1".into()))
        );
    }

    #[test]
    fn the_matrix_is_judged_before_the_ticket() {
        let mut w = World::new(&["db-nowhere"]);
        w.ticket = None;
        assert!(matches!(refusal(&w.question()), AccessRefusal::Matrix(_)));
    }

    #[test]
    fn a_gated_resource_without_a_compliant_report_is_refused_with_what_to_fix() {
        let w = World::new(&["db-prod"]);
        let q = AccessQuestion {
            posture: PostureVerdict {
                gated: true,
                judged: Err("the firewall is off: turn it on"),
                auto_approve_requires_report: true,
            },
            ..w.question()
        };
        assert_eq!(
            refusal(&q),
            AccessRefusal::Posture {
                reason: "the firewall is off: turn it on".into()
            }
        );
    }

    #[test]
    fn a_failing_report_only_downgrades_auto_approval_when_nothing_gates_the_request() {
        let w = World::new(&["db-staging"]);
        let failing = PostureVerdict {
            gated: false,
            judged: Err("no report"),
            auto_approve_requires_report: true,
        };
        let q = AccessQuestion {
            posture: failing,
            ..w.question()
        };
        match decide(&q).unwrap().decision {
            Decision::NeedsApprovals { required, why } => {
                assert_eq!(required, 1);
                assert!(why.contains("no report"), "{why}");
            }
            other => panic!("expected approvers, got {other:?}"),
        }
        let lenient = PostureVerdict {
            auto_approve_requires_report: false,
            ..failing
        };
        let q = AccessQuestion {
            posture: lenient,
            ..w.question()
        };
        assert_eq!(decide(&q).unwrap().decision, Decision::AutoApprove);
    }

    #[test]
    fn a_sensitive_resource_needs_a_fresh_step_up() {
        let mut w = World::new(&["vault"]);
        w.sensitive = ["secrets".to_string()].into();
        assert_eq!(
            refusal(&w.question()),
            AccessRefusal::StepUpNeeded { max_age_minutes: 5 }
        );
        let q = AccessQuestion {
            step_up: StepUpState {
                confirmed: true,
                ..w.question().step_up
            },
            ..w.question()
        };
        assert!(decide(&q).is_ok());
    }

    #[test]
    fn posture_is_judged_before_the_step_up() {
        let mut w = World::new(&["vault"]);
        w.sensitive = ["secrets".to_string()].into();
        let q = AccessQuestion {
            posture: PostureVerdict {
                gated: true,
                judged: Err("stale"),
                auto_approve_requires_report: true,
            },
            ..w.question()
        };
        assert!(matches!(refusal(&q), AccessRefusal::Posture { .. }));
    }

    #[test]
    fn a_policy_missing_from_the_matrix_is_a_configuration_refusal_not_the_requesters() {
        let mut w = World::new(&["db-prod"]);
        w.policies.retain(|p| p.name != "one-approver");
        let refused = refusal(&w.question());
        assert_eq!(refused, AccessRefusal::MissingPolicy("one-approver".into()));
        assert!(!refused.is_of_the_attempt());
        assert!(AccessRefusal::StepUpNeeded { max_age_minutes: 5 }.is_of_the_attempt());
    }
}
