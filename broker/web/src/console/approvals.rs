//! The approvals page: every pending request with what it takes to decide (requester and company,
//! resources and tags, the ticket as the ticket system says now, reason, duration, the device's
//! posture check by check, the requester's recent requests); approve after a fresh passkey
//! confirmation, or deny with a reason. The list follows new requests without a reload.

use super::pages::{layout, posture_table, when, Signed};
use super::visitor::Visitor;
use super::{admitted, PageError};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::{PendingDecision, TicketNow};
use daypass_proto::api::{AccessRequestView, ApproveBody, ReasonBody};
use daypass_proto::duration::spoken_duration;
use maud::{html, Markup};
use uuid::Uuid;

const PATH: &str = "/console/approvals";

fn ticket(t: &TicketNow, key: &str) -> Markup {
    let line = |t: &daypass_broker_core::domain::ticket::Ticket| {
        html! {
            @if let Some(url) = &t.url { a href=(url) rel="noreferrer" { (t.key) } } @else { (t.key) }
            " — " (t.summary) " — "
            strong class=(if t.done { "bad" } else { "good" }) {
                (t.status) @if t.done { " (closed: access would be refused)" }
            }
        }
    };
    match t {
        TicketNow::Live(t) => line(t),
        TicketNow::Gone => {
            html! { (key) " — " strong class="bad" { "no longer exists in the ticket system" } }
        }
        TicketNow::Unreachable { error, at_request } => html! {
            (key) " — " strong class="bad" { "the ticket system cannot be reached now: " (error) }
            @if let Some(t) = at_request { br; "When requested: " (line(t)) }
        },
    }
}

fn posture(d: &PendingDecision) -> Markup {
    match &d.posture {
        Some(record) => html! { p { "Device " (d.request.device) "." } (posture_table(record, false)) },
        None => html! { p { "No posture report from " (d.request.device) " yet." } },
    }
}

fn history(past: &[AccessRequestView]) -> Markup {
    html! {
        @if past.is_empty() {
            p { "No earlier requests." }
        } @else {
            ul class="history" {
                @for r in past {
                    li { (when(r.created_at)) ": " (r.resources.join(", ")) " for " (r.ticket) ", " (spoken_duration(r.duration_seconds)) " — " (format!("{:?}", r.status).to_lowercase())
                        @if let Some(why) = &r.denial_reason { " (" (why) ")" } }
                }
            }
        }
    }
}

fn decision(d: &PendingDecision) -> Markup {
    let r = &d.request;
    let who = d.requester.as_ref();
    let name = who.map_or(r.requester.as_str(), |p| p.name.as_str());
    let resources: Vec<&str> = d.resources.iter().map(|l| l.name.as_str()).collect();
    html! {
        article class="request" data-request=(r.id) aria-labelledby={ "r-" (r.id) } {
            h2 id={ "r-" (r.id) } {
                (name) @if let Some(p) = who { " (" (p.company) ")" }
                " asks for " (resources.join(", ")) " for " (spoken_duration(r.duration_seconds))
            }
            p class="meta" { "Requested " (when(r.created_at)) "; waits for a decision until " (when(r.expires_at)) "." }
            dl {
                dt { "Ticket" } dd { (ticket(&d.ticket, &r.ticket)) }
                dt { "Reason" } dd { (r.reason) }
                dt { "Resources" } dd {
                    @for line in &d.resources {
                        span class="resource" { (line.name) }
                        @for tag in &line.tags { " " span class="tag" { (tag) } }
                        " "
                    }
                }
                dt { "Approval" } dd {
                    (r.policy) ": " (r.approvals.len()) " of " (r.approvals_required) " approvals"
                    @if let Some(why) = &d.needs_approval_because { " — " (why) }
                }
            }
            h3 { "Device posture" }
            (posture(d))
            h3 { "Earlier requests by " (name) }
            (history(&d.history))
            @match &d.may_approve {
                Ok(()) => div class="actions" {
                    form class="act" data-endpoint={ "/console/api/requests/" (r.id) "/approve" } data-step-up="approve" data-done="Approved." method="post" action="/console/needs-script" {
                        label for={ "c-" (r.id) } { "Comment (optional)" }
                        input id={ "c-" (r.id) } name="comment" maxlength="500";
                        button type="submit" { "Approve with passkey" }
                    }
                    form class="act" data-endpoint={ "/console/api/requests/" (r.id) "/deny" } data-done="Denied." method="post" action="/console/needs-script" {
                        label for={ "d-" (r.id) } { "Reason for denying (the requester sees it)" }
                        input id={ "d-" (r.id) } name="reason" required maxlength="500";
                        button type="submit" { "Deny" }
                    }
                },
                Err(why) => p class="not-yours" { "You cannot decide on this request: " (why) },
            }
        }
    }
}

fn approvals_page(who: &Signed, desk: &[PendingDecision]) -> Markup {
    let ids: Vec<String> = desk.iter().map(|d| d.request.id.to_string()).collect();
    let body = html! {
        h1 { "Requests waiting for approval" }
        p id="status" role="status" aria-live="polite" {}
        section id="inbox" data-watch="/console/api/approvals" data-seen=(serde_json::to_string(&ids).unwrap_or_default()) aria-live="polite" {
            @if desk.is_empty() { p { "Nothing is waiting. New requests appear here by themselves." } }
            @for d in desk { (decision(d)) }
        }
    };
    layout("Approvals", Some((who, PATH)), body)
}

/// The approvals page, for approvers.
pub async fn page(State(s): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &[Role::Approver],
        PATH,
        "The approvals page is for approvers.",
    )?;
    let approver = visitor.caller.person()?;
    let desk = s.broker.approval_desk(approver).await?;
    Ok(super::page(approvals_page(&who, &desk)))
}

/// The ids of the requests waiting, in the page's order, for the page to notice a change (the
/// database only: the page asks every few seconds, the ticket system is asked when it reloads).
pub async fn waiting(State(s): State<AppState>, visitor: Visitor) -> ApiResult<Vec<Uuid>> {
    let approver = visitor.caller.person_with(&[Role::Approver])?;
    let pending = s.broker.pending_verdicts(approver).await?;
    Ok(ApiJson(pending.iter().map(|(r, _)| r.id).collect()))
}

pub async fn approve(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> ApiResult<AccessRequestView> {
    let approver = visitor.changing(&headers, &[Role::Approver])?;
    let step_up = s.broker.approval_step_up(&visitor.caller)?;
    let comment = body.comment.filter(|c| !c.trim().is_empty());
    Ok(ApiJson(s.broker.approve(approver, id, comment, step_up).await?))
}

pub async fn deny(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<AccessRequestView> {
    let approver = visitor.changing(&headers, &[Role::Approver])?;
    Ok(ApiJson(s.broker.deny(approver, id, &body.reason).await?))
}
