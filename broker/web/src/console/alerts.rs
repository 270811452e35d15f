//! The alerts page: anomaly alerts newest first (what fired, about whom, what was done), acknowledged
//! by helpdesk or admins with a note, closed by admins with what they found (which releases the
//! grants an alert held). The list follows new alerts without a reload.

use super::pages::{layout, when, Signed};
use super::visitor::Visitor;
use super::{admitted, page, PageError, Reason};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use daypass_broker_core::domain::anomaly::{Alert, AlertState};
use daypass_broker_core::domain::directory::Role;
use maud::{html, Markup};
use serde_json::json;
use uuid::Uuid;

pub const PATH: &str = "/console/alerts";

fn seen(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| format!("{} {}", a.id, a.state.name()))
        .collect()
}

fn state(a: &Alert) -> Markup {
    match &a.state {
        AlertState::New => html! { strong class="bad" { "new" } },
        AlertState::Acknowledged { by, note, at } => {
            html! { "acknowledged by " (by) " at " (when(*at)) ": " (note) }
        }
        AlertState::Closed { by, note, at } => html! { "closed by " (by) " at " (when(*at)) ": " (note) },
    }
}

fn act(a: &Alert, verb: &str, done: &str) -> Markup {
    let id = format!("{verb}-{}", a.id);
    html! {
        form class="act" data-endpoint={ "/console/api/alerts/" (a.id) "/" (verb) } data-done=(done) method="post" action="/console/needs-script" {
            label for=(id) class="visually-hidden" { "Note for " (verb) " alert about " (a.person) }
            input id=(id) name="reason" required placeholder="note";
            button type="submit" { (verb) }
        }
    }
}

fn alerts_section(alerts: &[Alert], can_close: bool) -> Markup {
    let seen = serde_json::to_string(&seen(alerts)).unwrap_or_default();
    html! {
        section id="alerts" data-watch="/console/api/alerts" data-seen=(seen) aria-labelledby="alerts-title" {
            h2 id="alerts-title" { "Alerts (" (alerts.iter().filter(|a| matches!(a.state, AlertState::New)).count()) " new)" }
            @if alerts.is_empty() { p { "No alerts." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Raised" } th scope="col" { "Rule" } th scope="col" { "Person" } th scope="col" { "What was seen" } th scope="col" { "Action taken" } th scope="col" { "State" } th scope="col" { "Handle" } } }
                    tbody {
                        @for a in alerts {
                            tr data-alert=(a.id) {
                                td { (when(a.raised_at)) }
                                td { (a.rule) }
                                td { (a.person) }
                                td { (a.detail) }
                                td { (a.action) @if !a.held_grants.is_empty() { " (" (a.held_grants.len()) " grants held)" } }
                                td { (state(a)) }
                                td {
                                    @if matches!(a.state, AlertState::New) { (act(a, "acknowledge", "Acknowledged.")) }
                                    @if can_close && !matches!(a.state, AlertState::Closed { .. }) { (act(a, "close", "Closed.")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn alerts_page(who: &Signed, alerts: &[Alert], can_close: bool) -> Markup {
    let body = html! {
        h1 { "Alerts" }
        p { "Unusual activity the anomaly rules saw. Each went to the chat channel and the SIEM feed too." }
        p id="status" role="status" aria-live="polite" {}
        (alerts_section(alerts, can_close))
    };
    layout("Alerts", Some((who, PATH)), body)
}

pub async fn page_for_staff(State(s): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &[Role::Admin, Role::Helpdesk, Role::Auditor],
        PATH,
        "The alerts page is for admins, helpdesk and auditors.",
    )?;
    let alerts = s.broker.alert_list(&visitor.caller, false).await?;
    let can_close = visitor.caller.person_with(&[Role::Admin]).is_ok();
    Ok(page(alerts_page(&who, &alerts, can_close)))
}

/// The alerts as the page watches them (id and state), for it to notice a change.
pub async fn watched(State(s): State<AppState>, visitor: Visitor) -> ApiResult<Vec<String>> {
    Ok(ApiJson(seen(&s.broker.alert_list(&visitor.caller, false).await?)))
}

pub async fn acknowledge(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin, Role::Helpdesk])?;
    let note = body.given("you take this alert on")?;
    let alert = s.broker.acknowledge_alert(&visitor.caller, id, note).await?;
    Ok(ApiJson(
        json!({ "message": format!("Acknowledged the alert about {}.", alert.person) }),
    ))
}

pub async fn close(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let note = body.given("the alert is closed")?;
    let alert = s.broker.close_alert(&visitor.caller, id, note).await?;
    let released = if alert.held_grants.is_empty() {
        String::new()
    } else {
        format!(" {} held grants resume.", alert.held_grants.len())
    };
    Ok(ApiJson(
        json!({ "message": format!("Closed the alert about {}.{released}", alert.person) }),
    ))
}
