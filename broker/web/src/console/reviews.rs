//! The reviews page: the access review items waiting for the signed-in approver, one row each,
//! built for going through many quickly: one reason typed once, keep or remove from the keyboard,
//! many kept at once after a passkey confirmation. The list follows new campaigns without a reload.

use super::pages::{layout, when, Signed};
use super::visitor::Visitor;
use super::{admitted, said, PageError};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::review::Verdict;
use daypass_broker_core::DeskItem;
use daypass_proto::duration::spoken_duration;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

const PATH: &str = "/console/reviews";

fn row(d: &DeskItem) -> Markup {
    let i = &d.item;
    let label = format!("{} ({}): {}", i.person_name, i.person, i.selector);
    html! {
        tr data-item=(i.id) tabindex="0" aria-label=(label) {
            td { input type="checkbox" class="pick" value=(i.id) aria-label={ "Select " (label) }; }
            td { (i.person_name) " (" (i.person) ")" br; span class="meta" { (i.company) } }
            td { code { (i.selector) } br; span class="meta" { "up to " (spoken_duration(i.max_duration_seconds)) ", entitlement " (i.entitlement) } }
            td { (i.policy) @if let Some(g) = &i.reviewer_group { br; span class="meta" { "group " (g) } } }
            td { @match d.last_granted { Some(at) => { (when(at)) }, None => { "never" } } }
            td class="verdicts" {
                button type="button" data-verdict="keep" aria-label={ "Keep " (label) } { "Keep" }
                " "
                button type="button" data-verdict="remove" class="danger" aria-label={ "Remove " (label) } { "Remove" }
            }
        }
    }
}

fn desk(items: &[DeskItem]) -> Markup {
    let ids: Vec<String> = items.iter().map(|d| d.item.id.to_string()).collect();
    let mut campaigns: Vec<&DeskItem> = items.iter().collect();
    campaigns.dedup_by_key(|d| d.campaign.id);
    html! {
        section id="desk" data-watch="/console/api/reviews" data-seen=(serde_json::to_string(&ids).unwrap_or_default()) aria-live="polite" {
            @if items.is_empty() {
                p { "Nothing waits for your review. New campaigns appear here by themselves." }
            }
            @for c in campaigns {
                @let campaign = &c.campaign;
                @let rows: Vec<&DeskItem> = items.iter().filter(|d| d.campaign.id == campaign.id).collect();
                h2 { (campaign.name) " — " (rows.len()) " waiting, due " (when(campaign.deadline)) }
                p class="meta" {
                    "Scope " (campaign.scope) "; unanswered at the deadline: "
                    (campaign.on_deadline.in_words()) "."
                }
                table {
                    thead { tr {
                        th scope="col" { span class="visually-hidden" { "Select" } }
                        th scope="col" { "Person" } th scope="col" { "Access" } th scope="col" { "Policy" }
                        th scope="col" { "Last granted" } th scope="col" { "Answer" }
                    } }
                    tbody { @for d in rows { (row(d)) } }
                }
            }
        }
    }
}

fn reviews_page(who: &Signed, items: &[DeskItem]) -> Markup {
    let body = html! {
        h1 { "Access reviews" }
        p {
            "Should each person keep this standing access? Removing it takes effect at once: their live access "
            "through it ends and they can no longer request it. Nobody reviews their own access."
        }
        div class="review-bar" {
            label for="review-reason" { "Reason for your answers (kept for the auditors; reused until you change it)" }
            input id="review-reason" maxlength="500" autocomplete="off";
            button type="button" id="keep-selected" { "Keep selected with passkey" }
        }
        p class="keys" id="review-keys" {
            "Keys: " kbd { "j" } "/" kbd { "↓" } " next, " kbd { "k" } "/" kbd { "↑" } " previous, "
            kbd { "x" } " select, " kbd { "a" } " select all, " kbd { "y" } " keep, " kbd { "n" } " remove, "
            kbd { "b" } " keep the selected (passkey), " kbd { "/" } " type the reason, " kbd { "Esc" } " back to the list."
        }
        p id="status" role="status" aria-live="polite" {}
        (desk(items))
    };
    layout("Access reviews", Some((who, PATH)), body)
}

/// The reviews page, for approvers.
pub async fn page(State(s): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &[Role::Approver],
        PATH,
        "The reviews page is for approvers: access reviews go to the approvers of each entitlement's policy.",
    )?;
    let reviewer = visitor.caller.person()?;
    let items = s.broker.review_desk(reviewer).await?;
    Ok(super::page(reviews_page(&who, &items)))
}

/// The ids of the items waiting for the reviewer, for the page to notice a change.
pub async fn waiting(State(s): State<AppState>, visitor: Visitor) -> ApiResult<Vec<Uuid>> {
    let reviewer = visitor.caller.person_with(&[Role::Approver])?;
    let items = s.broker.review_desk(reviewer).await?;
    Ok(ApiJson(items.iter().map(|d| d.item.id).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    verdict: Verdict,
    reason: String,
}

pub async fn answer(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Approver])?;
    let item = s
        .broker
        .answer_review(&visitor.caller, id, body.verdict, &body.reason)
        .await?;
    said(match body.verdict {
        Verdict::Keep => format!("Kept {} for {}.", item.selector, item.person_name),
        Verdict::Remove => format!(
            "Removed {} from {}: their live access through it has ended.",
            item.selector, item.person_name
        ),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkKeep {
    items: Vec<Uuid>,
    reason: String,
}

pub async fn keep_in_bulk(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BulkKeep>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Approver])?;
    let kept = s
        .broker
        .keep_reviews_in_bulk(&visitor.caller, &body.items, &body.reason)
        .await?;
    said(format!("Kept {kept} items."))
}
