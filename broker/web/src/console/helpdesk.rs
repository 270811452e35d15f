//! The helpdesk pages: find a person or device by whatever name the caller gives, list every device
//! whose latest report fails a check, and a device's posture — the latest report in plain words with
//! what to tell the contractor, the history behind it, and the report exported (HTML or JSON) to
//! attach to a ticket.

use super::pages::{layout, posture_table, when, Signed};
use super::visitor::Visitor;
use super::{admitted, attachment, page, PageError};
use crate::{ApiError, ApiPath, AppState};
use axum::extract::{Query, State};
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::PostureRecord;
use daypass_broker_core::{DeviceCard, Found};
use daypass_posture::policy::Check;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

const PATH: &str = "/console/helpdesk";
const ROLES: [Role; 4] = Role::STAFF;

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    check: Option<Check>,
}

fn check_name(c: Check) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn device_link(id: &str) -> Markup {
    html! { a href={ (PATH) "/devices/" (id) } { (id) } }
}

fn search_page(who: &Signed, search: &Search, found: &[Found], failing: Option<&[PostureRecord]>) -> Markup {
    let body = html! {
        h1 { "Helpdesk" }
        form method="get" action=(PATH) role="search" {
            label for="q" { "Find a person or device (name, email, company, device)" }
            input id="q" name="q" value=(search.q) autocomplete="off";
            button type="submit" { "Find" }
        }
        @if !search.q.trim().is_empty() {
            section aria-labelledby="found-title" {
                h2 id="found-title" { "People matching “" (search.q.trim()) "”" }
                @if found.is_empty() { p { "Nobody matches." } }
                ul {
                    @for f in found {
                        li {
                            strong { (f.person.name) } " (" (f.person.id) ", " (f.person.company) ", " (f.person.email) ")"
                            @if f.person.disabled { " — disabled" }
                            @if f.devices.is_empty() { " — no devices" }
                            ul { @for d in &f.devices { li { (device_link(&d.id)) " " (d.name) @if d.revoked { " (revoked)" } } } }
                        }
                    }
                }
            }
        }
        form method="get" action=(PATH) {
            label for="check" { "Devices whose latest report fails" }
            select id="check" name="check" {
                @for c in Check::ALL {
                    option value=(check_name(c)) selected[search.check == Some(c)] { (c.to_string()) }
                }
            }
            button type="submit" { "List" }
        }
        @if let (Some(check), Some(failing)) = (search.check, failing) {
            section aria-labelledby="failing-title" {
                h2 id="failing-title" { "Failing " (check.to_string()) }
                @if failing.is_empty() { p { "No device fails this check." } }
                ul {
                    @for r in failing {
                        li {
                            (device_link(&r.device)) " — " (when(r.received_at)) ": "
                            @if let Some(c) = r.report.result(check) { (c.evidence.join("; ")) }
                        }
                    }
                }
            }
        }
    };
    layout("Helpdesk", Some((who, PATH)), body)
}

fn failing_checks(r: &PostureRecord) -> String {
    let names: Vec<String> = r
        .report
        .results
        .iter()
        .filter(|c| c.required && c.outcome != daypass_posture::evaluate::Outcome::Pass)
        .map(|c| c.check.to_string())
        .collect();
    if names.is_empty() {
        "all required checks pass".into()
    } else {
        format!("not passing: {}", names.join(", "))
    }
}

fn device_page(who: &Signed, card: &DeviceCard) -> Markup {
    let d = &card.device;
    let body = html! {
        h1 { "Device " (d.id) }
        p {
            (d.name) ", of "
            @match &card.owner { Some(p) => { (p.name) " (" (p.id) ", " (p.company) ")" }, None => { (d.person) } }
            @if d.revoked { " — " strong class="bad" { "revoked" } }
        }
        @match card.reports.first() {
            None => p { "This device has sent no posture report yet: ask the contractor to run the posture check in the Daypass app (or " code { "daypass posture" } ")." },
            Some(latest) => {
                h2 { "Latest posture report" }
                (posture_table(latest, true))
                p {
                    "Export for a ticket: "
                    a href={ (PATH) "/devices/" (d.id) "/report.html" } download { "HTML" } " · "
                    a href={ (PATH) "/devices/" (d.id) "/report.json" } download { "JSON" }
                }
            },
        }
        @if card.reports.len() > 1 {
            h2 { "History" }
            ul class="history" {
                @for r in &card.reports { li { (when(r.received_at)) ": " (failing_checks(r)) } }
            }
        }
    };
    layout(&format!("Device {}", d.id), Some((who, PATH)), body)
}

/// The latest report as a file of its own (no script, its style inline): what helpdesk attaches.
fn report_file(card: &DeviceCard, latest: &PostureRecord) -> Markup {
    let owner = card.owner.as_ref().map_or(card.device.person.clone(), |p| {
        format!("{} ({}, {})", p.name, p.id, p.company)
    });
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Posture report — " (card.device.id) }
                style { "body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}.good{color:#1e6b32}.bad{color:#a51d2d}" }
            }
            body {
                h1 { "Posture report — device " (card.device.id) }
                p { "Owner: " (owner) ". Report id " (latest.id) ", evaluated by the Daypass broker." }
                (posture_table(latest, true))
            }
        }
    }
}

async fn card_for(s: &AppState, visitor: &Visitor, id: &str) -> Result<DeviceCard, ApiError> {
    Ok(s.broker.device_card(&visitor.caller, id).await?)
}

pub async fn search(
    State(s): State<AppState>,
    visitor: Visitor,
    Query(search): Query<Search>,
) -> Result<Response, PageError> {
    let who = admitted(&visitor, &ROLES, PATH, "The helpdesk pages are for staff.")?;
    let found = s.broker.find_people(&visitor.caller, &search.q).await?;
    let failing = match search.check {
        Some(check) => Some(s.broker.devices_failing(&visitor.caller, check).await?),
        None => None,
    };
    Ok(page(search_page(&who, &search, &found, failing.as_deref())))
}

pub async fn device(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, PageError> {
    let who = admitted(&visitor, &ROLES, PATH, "The helpdesk pages are for staff.")?;
    let card = card_for(&s, &visitor, &id).await?;
    Ok(page(device_page(&who, &card)))
}

fn latest(card: &DeviceCard) -> Result<&PostureRecord, ApiError> {
    card.reports.first().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not-found",
            format!("device {} has sent no posture report yet", card.device.id),
        )
    })
}

pub async fn report_json(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let card = card_for(&s, &visitor, &id).await?;
    let body = serde_json::to_string_pretty(latest(&card)?).unwrap_or_default();
    Ok(attachment(
        "application/json",
        format!("posture-{}.json", card.device.id),
        body,
    ))
}

pub async fn report_html(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let card = card_for(&s, &visitor, &id).await?;
    let body = report_file(&card, latest(&card)?).into_string();
    Ok(attachment(
        "text/html; charset=utf-8",
        format!("posture-{}.html", card.device.id),
        body,
    ))
}
