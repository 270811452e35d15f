//! The admin page's emergency stop: propose one (all contractors or one company's), confirm another
//! admin's proposal, lift the one in force — each after a fresh passkey confirmation — and the
//! newest stops. The section follows proposals and stops without a reload, so the second admin sees
//! a proposal appear.

use super::pages::when;
use super::visitor::Visitor;
use super::Reason;
use super::{said, Nothing};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::emergency::{EmergencyStop, StopScope, StopState};
use maud::{html, Markup};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// What the section watches: each stop's id and state.
fn seen(stops: &[EmergencyStop], now: OffsetDateTime) -> Vec<String> {
    stops
        .iter()
        .map(|s| format!("{} {}", s.id, s.state(now).as_str()))
        .collect()
}

fn in_force(stop: &EmergencyStop) -> Markup {
    html! {
        div class="bad emergency" role="alert" data-stop=(stop.id) data-state="in_force" {
            p {
                strong { "EMERGENCY STOP in force" } " for " (stop.scope) " since "
                (stop.started_at.map(when).unwrap_or_default()) ": " (stop.reason) ". "
                (stop.grants_ended) " live grants were ended; every request in scope is refused. "
                "Proposed by " (stop.proposed_by) ", confirmed by " (stop.started_by.as_deref().unwrap_or("-")) "."
            }
            form class="act" data-endpoint={ "/console/api/emergency-stops/" (stop.id) "/lift" } data-step-up="lift the emergency stop" data-done="Lifted: access can be requested again (the ended grants stay ended)." method="post" action="/console/needs-script" {
                label for={ "lift-" (stop.id) } { "Why it can be lifted" }
                input id={ "lift-" (stop.id) } name="reason" required maxlength="500";
                button type="submit" { "Lift with passkey" }
            }
        }
    }
}

fn proposed(stop: &EmergencyStop, me: &str) -> Markup {
    html! {
        div class="warning" role="alert" data-stop=(stop.id) data-state="proposed" {
            p {
                strong { "Emergency stop proposed" } " by " (stop.proposed_by) " at " (when(stop.proposed_at))
                " for " (stop.scope) ": " (stop.reason) "."
            }
            @if stop.proposed_by == me {
                p { "A second admin must confirm it on this page; it lapses if nobody does within 15 minutes." }
            } @else {
                form class="act" data-endpoint={ "/console/api/emergency-stops/" (stop.id) "/confirm" } data-step-up="confirm the emergency stop" data-done="The emergency stop is in force." method="post" action="/console/needs-script" {
                    button type="submit" { "Confirm emergency stop with passkey" }
                }
            }
        }
    }
}

fn history(stops: &[EmergencyStop], now: OffsetDateTime) -> Markup {
    html! {
        @if !stops.is_empty() {
            table {
                thead { tr {
                    th scope="col" { "Proposed" } th scope="col" { "Scope" } th scope="col" { "Reason" }
                    th scope="col" { "State" } th scope="col" { "By" } th scope="col" { "Grants ended" }
                } }
                tbody {
                    @for s in stops {
                        tr {
                            td { (when(s.proposed_at)) }
                            td { (s.scope) }
                            td { (s.reason) }
                            td { (s.state(now).as_str().replace('_', " "))
                                @if let (Some(by), Some(why)) = (&s.lifted_by, &s.lift_reason) { ": by " (by) " — " (why) } }
                            td { (s.proposed_by) @if let Some(by) = &s.started_by { ", " (by) } }
                            td { (s.grants_ended) }
                        }
                    }
                }
            }
        }
    }
}

/// The section on the admin page; `me` is the signed-in admin's actor (`person:…`).
pub(super) fn section(stops: &[EmergencyStop], me: &str, now: OffsetDateTime) -> Markup {
    let seen = serde_json::to_string(&seen(stops, now)).unwrap_or_default();
    html! {
        section id="emergency" aria-labelledby="emergency-title" data-watch="/console/api/emergency-stops" data-seen=(seen) {
            h2 id="emergency-title" { "Emergency stop" }
            @for s in stops.iter().filter(|s| s.state(now) == StopState::InForce) { (in_force(s)) }
            @for s in stops.iter().filter(|s| s.state(now) == StopState::Proposed) { (proposed(s, me)) }
            p {
                "Ends every live contractor grant at once (or one company's), denies what waits for approval, and refuses "
                "new requests until lifted; gateways drop the access within seconds. It takes two admins: you propose, "
                "another confirms. From the broker's host: " code { "daypass-broker emergency stop --reason …" } "."
            }
            form class="act" data-endpoint="/console/api/emergency-stops" data-step-up="propose an emergency stop" data-done="Proposed: a second admin must confirm it on this page." method="post" action="/console/needs-script" {
                label for="stop-company" { "Company (empty: every contractor)" }
                input id="stop-company" name="company" maxlength="200";
                label for="stop-reason" { "Reason (contractors and auditors see it)" }
                input id="stop-reason" name="reason" required maxlength="500";
                button type="submit" class="danger" { "Propose emergency stop with passkey" }
            }
            (history(stops, now))
        }
    }
}

/// The stops as the section watches them.
pub async fn watched(State(s): State<AppState>, visitor: Visitor) -> ApiResult<Vec<String>> {
    let stops = s.broker.emergency_stops(&visitor.caller).await?;
    Ok(ApiJson(seen(&stops, s.broker.now())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    #[serde(default)]
    company: String,
    reason: String,
}

pub async fn propose(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Proposal>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let company = body.company.trim();
    let scope = if company.is_empty() {
        StopScope::Everyone
    } else {
        StopScope::Company(company.to_string())
    };
    let stop = s
        .broker
        .propose_emergency_stop(&visitor.caller, scope, &body.reason)
        .await?;
    said(format!(
        "Proposed an emergency stop for {}: a second admin must confirm it on this page within 15 minutes.",
        stop.scope
    ))
}

pub async fn confirm(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let stop = s.broker.confirm_emergency_stop(&visitor.caller, id).await?;
    said(format!(
        "EMERGENCY STOP in force for {}: {} live grants ended; requests are refused until it is lifted.",
        stop.scope, stop.grants_ended
    ))
}

pub async fn lift(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let reason = body.given("the emergency stop can be lifted")?;
    s.broker
        .lift_emergency_stop(&visitor.caller, Some(id), reason)
        .await?;
    said("Lifted: access can be requested again; the grants it ended stay ended.".into())
}
