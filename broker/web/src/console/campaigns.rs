//! Access review campaigns on the admin page (opened after a passkey confirmation, followed,
//! closed early) and the audit page (read only); each campaign's signed evidence as a download.

use super::pages::when;
use super::visitor::Visitor;
use super::{attachment, end_of_day, said, Nothing};
use crate::{ApiError, ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::review::{OnDeadline, ReviewScope};
use daypass_broker_core::{CampaignProgress, CampaignSpec};
use maud::{html, Markup};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

fn state(p: &CampaignProgress, now: OffsetDateTime) -> String {
    let c = &p.campaign;
    match (c.closed_at, c.is_open(now)) {
        (Some(at), _) => format!("closed {}", when(at)),
        (None, true) => format!("open until {}", when(c.deadline)),
        (None, false) => "closing (deadline passed)".into(),
    }
}

fn table(campaigns: &[CampaignProgress], now: OffsetDateTime, closing: bool) -> Markup {
    html! {
        table id="campaigns" {
            thead { tr {
                th scope="col" { "Campaign" } th scope="col" { "Scope" } th scope="col" { "Answered" }
                th scope="col" { "State" } th scope="col" { "Unanswered at the deadline" } th scope="col" { "Evidence" }
                @if closing { th scope="col" { "Close" } }
            } }
            tbody {
                @for p in campaigns {
                    @let c = &p.campaign;
                    tr {
                        td { (c.name) br; span class="meta" { "opened by " (c.opened_by) } }
                        td { (c.scope) }
                        td { (p.answered) " of " (p.total) }
                        td { (state(p, now)) }
                        td { (c.on_deadline) }
                        td { a href={ "/console/reviews/" (c.id) "/evidence.json" } download { "signed evidence" } }
                        @if closing {
                            td { @if c.closed_at.is_none() {
                                form class="act" data-endpoint={ "/console/api/reviews/" (c.id) "/close" } data-step-up="close the review now" data-done="Closed." method="post" action="/console/needs-script" {
                                    button type="submit" aria-label={ "Close " (c.name) " now" } { "Close now" }
                                }
                            } }
                        }
                    }
                }
            }
        }
    }
}

/// The admin page's section: open a campaign, follow and close them.
pub(super) fn section(campaigns: &[CampaignProgress], now: OffsetDateTime) -> Markup {
    html! {
        section id="reviews" aria-labelledby="reviews-title" {
            h2 id="reviews-title" { "Access reviews" }
            p {
                "Each standing entitlement of each active person in scope goes to the approvers of its policy "
                "(never the person), who keep or remove it on their reviews page. Also: "
                code { "daypass-broker review open --name … --deadline YYYY-MM-DD" } "."
            }
            form class="act" data-endpoint="/console/api/reviews" data-step-up="open an access review" data-done="Opened." method="post" action="/console/needs-script" {
                label for="review-name" { "Name (e.g. Q1 2027 contractors)" }
                input id="review-name" name="name" required maxlength="500";
                label for="review-scope" { "Scope: contractors, company:NAME or group:NAME" }
                input id="review-scope" name="scope" required value="contractors" maxlength="200";
                label for="review-deadline" { "Deadline (through the end of that day, UTC)" }
                input id="review-deadline" name="deadline" type="date" required;
                label for="review-on-deadline" { "Items nobody answered by then" }
                select id="review-on-deadline" name="on_deadline" {
                    option value="remove" selected { "are removed" }
                    option value="keep-and-flag" { "are kept and flagged" }
                }
                button type="submit" { "Open review with passkey" }
            }
            @if !campaigns.is_empty() { (table(campaigns, now, true)) }
        }
    }
}

/// The audit page's read-only list.
pub(super) fn listing(campaigns: &[CampaignProgress], now: OffsetDateTime) -> Markup {
    html! {
        section id="reviews" aria-labelledby="reviews-title" {
            h2 id="reviews-title" { "Access reviews" }
            @if campaigns.is_empty() { p { "No access review has been opened." } } @else { (table(campaigns, now, false)) }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    name: String,
    scope: String,
    /// `YYYY-MM-DD`.
    deadline: String,
    on_deadline: String,
}

pub async fn open(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Opening>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let spec = CampaignSpec {
        name: body.name,
        scope: body.scope.parse::<ReviewScope>().map_err(ApiError::invalid)?,
        deadline: end_of_day(&body.deadline)?,
        on_deadline: body
            .on_deadline
            .parse::<OnDeadline>()
            .map_err(ApiError::invalid)?,
    };
    let opened = s.broker.open_review(&visitor.caller, spec).await?;
    said(format!(
        "Opened {:?}: {} items went to the approvers of each policy, due {}.",
        opened.campaign.name,
        opened.total,
        when(opened.campaign.deadline)
    ))
}

pub async fn close(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let closed = s.broker.close_review(&visitor.caller, id).await?;
    said(format!(
        "Closed {:?}: unanswered items were {}.",
        closed.name,
        closed.on_deadline.in_words()
    ))
}

/// `/console/reviews/{campaign}/evidence.json`: the signed evidence as a download (admins and auditors).
pub async fn evidence(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let signed = s.broker.review_evidence(&visitor.caller, id).await?;
    let body = serde_json::to_string_pretty(&signed).unwrap_or_default();
    Ok(attachment("application/json", format!("review-{id}.json"), body))
}
