//! The approver's desk: every pending request with what it takes to decide on it — who asks (and for
//! which company), the resources and their tags, the ticket as the ticket system says now, the
//! device's latest posture, the requester's recent requests — and whether this approver may approve
//! it, and if not, why (their own request shows but cannot be approved by them).

use crate::domain::directory::{Person, Role};
use crate::domain::ticket::Ticket;
use crate::store::{self, PostureRecord};
use crate::{Broker, ServiceResult};
use daypass_proto::api::AccessRequestView;
use std::collections::{BTreeSet, HashMap};

/// How many of the requester's earlier requests the desk shows.
const HISTORY: usize = 5;

/// A resource as the desk shows it.
#[derive(Debug, Clone)]
pub struct ResourceLine {
    pub name: String,
    pub tags: BTreeSet<String>,
}

/// The ticket a request names: as the ticket system says now, or as it was when the request was
/// made when the ticket system cannot be reached.
#[derive(Debug, Clone)]
pub enum TicketNow {
    Live(Ticket),
    Gone,
    Unreachable {
        error: String,
        at_request: Option<Ticket>,
    },
}

/// One pending request, with everything an approver decides on.
#[derive(Debug, Clone)]
pub struct PendingDecision {
    pub request: AccessRequestView,
    /// The requester as the directory knows them (none if removed since).
    pub requester: Option<Person>,
    pub resources: Vec<ResourceLine>,
    pub ticket: TicketNow,
    /// Why the policy asks a person to approve.
    pub needs_approval_because: Option<String>,
    pub posture: Option<PostureRecord>,
    /// The requester's latest other requests, newest first.
    pub history: Vec<AccessRequestView>,
    /// `Err(why)` when this approver may not approve it.
    pub may_approve: Result<(), String>,
}

impl Broker {
    /// Every pending request, the ones this approver may approve first, with what it takes to decide
    /// (this asks the ticket system about each).
    pub async fn approval_desk(&self, approver: &Person) -> ServiceResult<Vec<PendingDecision>> {
        if !approver.has_role(Role::Approver) {
            return Err(crate::Forbidden::ApproversOnly.into());
        }
        let now = self.now();
        let resources = {
            let mut conn = self.store().read().await?;
            store::resources(&mut conn).await?
        };
        let pending = self.pending_verdicts(approver).await?;
        // The ticket system is asked about every ticket at once, and about each ticket once however
        // many requests name it.
        let keys: BTreeSet<&str> = pending.iter().map(|(r, _)| r.ticket.as_str()).collect();
        let fetched = futures::future::join_all(keys.iter().map(|k| self.fetch_ticket(k))).await;
        let tickets: HashMap<&str, _> = keys.into_iter().zip(fetched).collect();
        let mut desk = Vec::new();
        let mut conn = self.store().read().await?;
        for (request, may_approve) in &pending {
            let ticket = match &tickets[request.ticket.as_str()] {
                Ok(Some(t)) => TicketNow::Live(t.clone()),
                Ok(None) => TicketNow::Gone,
                Err(e) => TicketNow::Unreachable {
                    error: e.to_string(),
                    at_request: request.ticket_snapshot.clone(),
                },
            };
            let history = store::requests_of(&mut conn, &request.requester)
                .await?
                .iter()
                .filter(|r| r.id != request.id)
                .take(HISTORY)
                .map(|r| r.view(now))
                .collect();
            desk.push(PendingDecision {
                request: request.view(now),
                requester: store::person(&mut conn, &request.requester).await?,
                resources: request
                    .resources
                    .iter()
                    .map(|name| ResourceLine {
                        name: name.clone(),
                        tags: resources
                            .iter()
                            .find(|r| &r.name == name)
                            .map(|r| r.tags.clone())
                            .unwrap_or_default(),
                    })
                    .collect(),
                ticket,
                needs_approval_because: request.needs_approval_because.clone(),
                posture: store::posture_reports_of(&mut conn, &request.device, 1)
                    .await?
                    .into_iter()
                    .next(),
                history,
                may_approve: may_approve.clone(),
            });
        }
        Ok(desk)
    }
}
