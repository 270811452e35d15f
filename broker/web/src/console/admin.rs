//! The admin page: the emergency stop (`emergency`), live grants (revoked with a reason; the list
//! follows new and ending grants), people (invite, contract end date, disable or enable), the access
//! matrix (who may request what, for how long, under which approval policy), resources and their
//! tags, gateways and when each last asked for its state, the ticket connector, and API tokens
//! (`tokens`).

use super::pages::{layout, when, Signed};
use super::visitor::Visitor;
use super::{admitted, page, said, Nothing, PageError, Reason, INVITE_TTL};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::emergency::EmergencyStop;
use daypass_broker_core::domain::passkey::Invite;
use daypass_broker_core::Overview;
use daypass_proto::api::GrantView;
use maud::{html, Markup};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const PATH: &str = "/console/admin";
/// A gateway that has not asked for its state for this long is shown as silent.
const SILENT_AFTER: Duration = Duration::minutes(2);

/// What the page watches of the live grants: each id, marked when the grant is held.
fn seen(grants: &[GrantView]) -> Vec<String> {
    grants
        .iter()
        .map(|g| match g.suspension {
            Some(_) => format!("{} suspended", g.grant.id),
            None => g.grant.id.to_string(),
        })
        .collect()
}

fn ids(grants: &[GrantView]) -> String {
    serde_json::to_string(&seen(grants)).unwrap_or_default()
}

fn grants_section(grants: &[GrantView]) -> Markup {
    html! {
        section id="grants" data-watch="/console/api/grants" data-seen=(ids(grants)) aria-labelledby="grants-title" {
            h2 id="grants-title" { "Live access (" (grants.len()) ")" }
            @if grants.is_empty() { p { "Nobody has access right now." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Who" } th scope="col" { "Resources" } th scope="col" { "Ticket" } th scope="col" { "Until" } th scope="col" { "Revoke" } } }
                    tbody {
                        @for g in grants {
                            @let grant = &g.grant;
                            @let names: Vec<&str> = grant.resources.iter().map(|r| r.name.as_str()).collect();
                            tr {
                                td { (grant.person) " on " (grant.device.id) }
                                td { (names.join(", ")) }
                                td { (grant.ticket) }
                                td {
                                    (when(grant.not_after))
                                    @if let Some(held) = &g.suspension {
                                        br;
                                        strong class="warning" data-suspended { "Suspended since " (when(held.since)) ": " (held.detail) }
                                    }
                                }
                                td {
                                    form class="act" data-endpoint={ "/console/api/grants/" (grant.id) "/revoke" } data-done="Revoked." method="post" action="/console/needs-script" {
                                        label for={ "why-" (grant.id) } class="visually-hidden" { "Reason for revoking " (grant.person) "'s access" }
                                        input id={ "why-" (grant.id) } name="reason" required placeholder="reason";
                                        button type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn people_section(o: &Overview, now: OffsetDateTime) -> Markup {
    html! {
        section id="people" aria-labelledby="people-title" {
            h2 id="people-title" { "People" }
            table {
                thead { tr { th scope="col" { "Person" } th scope="col" { "Roles" } th scope="col" { "Devices" } th scope="col" { "Contract ends" } th scope="col" { "Account" } } }
                tbody {
                    @for (p, devices) in &o.people {
                        @let roles: Vec<String> = p.roles.iter().map(|r| r.to_string()).collect();
                        tr {
                            td { (p.name) " (" (p.id) ", " (p.company) ")" }
                            td { (roles.join(", ")) }
                            td { (devices.iter().filter(|d| !d.revoked).count()) }
                            td {
                                form class="act" data-endpoint={ "/console/api/people/" (p.id) "/contract-end" } data-done="Saved." method="post" action="/console/needs-script" {
                                    label for={ "end-" (p.id) } class="visually-hidden" { "Contract end of " (p.name) }
                                    input type="date" id={ "end-" (p.id) } name="date" value=(p.contract_end.map(|t| t.date().to_string()).unwrap_or_default());
                                    button type="submit" { "Set" }
                                }
                            }
                            td {
                                @if p.is_active(now) { "active" } @else if p.disabled { strong class="bad" { "disabled" } } @else { strong class="bad" { "contract ended" } }
                                form class="act" data-endpoint={ "/console/api/people/" (p.id) "/invite" } data-done="Invited." method="post" action="/console/needs-script" {
                                    button type="submit" aria-label={ "Invite " (p.name) " to enroll a passkey" } { "Invite" }
                                }
                                @if p.disabled {
                                    form class="act" data-endpoint={ "/console/api/people/" (p.id) "/enable" } data-done="Enabled." method="post" action="/console/needs-script" {
                                        button type="submit" aria-label={ "Enable " (p.name) } { "Enable" }
                                    }
                                } @else {
                                    form class="act" data-endpoint={ "/console/api/people/" (p.id) "/disable" } data-done="Disabled: their sessions and access ended." method="post" action="/console/needs-script" {
                                        label for={ "dis-" (p.id) } class="visually-hidden" { "Reason for disabling " (p.name) }
                                        input id={ "dis-" (p.id) } name="reason" required placeholder="reason";
                                        button type="submit" { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn matrix_section(o: &Overview) -> Markup {
    html! {
        section id="matrix" aria-labelledby="matrix-title" {
            h2 id="matrix-title" { "Who may request what" }
            table {
                thead { tr { th scope="col" { "Entitlement" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "At most" } th scope="col" { "Approval" } } }
                tbody {
                    @for e in &o.entitlements {
                        @let policy = o.policies.iter().find(|p| p.name == e.policy);
                        tr {
                            td { (e.id) }
                            td { (e.subject.to_string()) }
                            td { (e.selector.to_string()) }
                            td { (daypass_proto::duration::spoken_duration(e.max_duration_seconds)) }
                            td {
                                (e.policy) ": "
                                @match policy {
                                    Some(p) => {
                                        @if p.auto_approve.is_some() { "automatic when its conditions hold, else " }
                                        (p.approvals_required) " approval(s)"
                                        @if let Some(g) = &p.approver_group { " from group " (g) }
                                    },
                                    None => strong class="bad" { "missing policy" },
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Resources" }
            table {
                thead { tr { th scope="col" { "Resource" } th scope="col" { "Address" } th scope="col" { "Tags" } th scope="col" { "Gateway" } } }
                tbody {
                    @for r in &o.resources {
                        tr {
                            td { (r.name) @if !r.description.is_empty() { br; small { (r.description) } } }
                            td { (r.address.to_string()) }
                            td { @for t in &r.tags { span class="tag" { (t) } " " } }
                            td { (r.gateway) }
                        }
                    }
                }
            }
        }
    }
}

fn systems_section(o: &Overview, now: OffsetDateTime) -> Markup {
    html! {
        section id="systems" aria-labelledby="systems-title" {
            h2 id="systems-title" { "Gateways" }
            table {
                thead { tr { th scope="col" { "Gateway" } th scope="col" { "Endpoint" } th scope="col" { "State revision" } th scope="col" { "Health" } } }
                tbody {
                    @for (g, revision) in &o.gateways {
                        tr {
                            td { (g.name) }
                            td { (g.endpoint) }
                            td { (revision) }
                            td {
                                @match g.last_seen {
                                    Some(t) if now - t <= SILENT_AFTER => span class="good" { "in touch (" (when(t)) ")" },
                                    Some(t) => strong class="bad" { "silent since " (when(t)) },
                                    None => strong class="bad" { "never connected" },
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Posture baseline" }
            p {
                "In force: " strong { (o.baseline.origin) } ". "
                @if let Some(until) = o.baseline.valid_until { "Valid until " (when(until)) ". " }
                "See it with " code { "daypass-broker baseline show" } "."
            }
            h2 { "Tickets" }
            p {
                "Ticket connector: " strong { (o.ticket_connector) } ". "
                @match o.ticket_last_answered {
                    Some(t) => { "It last answered a ticket check at " (when(t)) "." },
                    None => { "No ticket has been checked yet." },
                }
            }
        }
    }
}

/// Invites for accounts with standing that wait for a second admin (never the issuer).
fn invites_section(waiting: &[(String, Invite)]) -> Markup {
    html! {
        @if !waiting.is_empty() {
            section id="invites" aria-labelledby="invites-title" {
                h2 id="invites-title" { "Invites waiting for a second admin (" (waiting.len()) ")" }
                p { "Each could let whoever holds its code enroll a passkey as that person. Confirm only one you know to be right; you need a fresh passkey confirmation." }
                table {
                    thead { tr { th scope="col" { "For" } th scope="col" { "Why it waits" } th scope="col" { "Issued by" } th scope="col" { "Until" } th scope="col" { "Confirm" } } }
                    tbody {
                        @for (reference, invite) in waiting {
                            tr {
                                td { (invite.person) }
                                td { (invite.second_admin.as_ref().map_or("", |g| g.needed_because.as_str())) }
                                td { (invite.created_by) }
                                td { (when(invite.expires_at)) }
                                td {
                                    form class="act" data-endpoint={ "/console/api/invites/" (reference) "/confirm" } data-done="Confirmed." method="post" action="/console/needs-script" {
                                        button type="submit" aria-label={ "Confirm the invite for " (invite.person) } { "Confirm" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn admin_page(
    who: &Signed,
    o: &Overview,
    grants: &[GrantView],
    waiting: &[(String, Invite)],
    stops: &[EmergencyStop],
    integrations: Markup,
    now: OffsetDateTime,
) -> Markup {
    let body = html! {
        h1 { "Administration" }
        p id="status" role="status" aria-live="polite" {}
        @if let Some(problem) = &o.baseline.problem {
            p class="bad" role="alert" data-baseline="unusable" { strong { "Posture baseline: " } (problem) ". Patch checks are unknown until a fresh one is imported." }
        } @else if let Some(warning) = &o.baseline.warning {
            p class="warning" role="alert" data-baseline="expiring" { strong { "Posture baseline: " } (warning) "." }
        }
        (super::emergency::section(stops, &format!("person:{}", who.id), now))
        (grants_section(grants))
        (invites_section(waiting))
        (super::onboarding::section())
        (people_section(o, now))
        (matrix_section(o))
        (super::matrix::section(o))
        (systems_section(o, now))
        (integrations)
    };
    layout("Administration", Some((who, PATH)), body)
}

pub async fn page_for_admins(State(s): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &[Role::Admin],
        PATH,
        "The administration page is for admins.",
    )?;
    let admin = visitor.caller.person()?;
    let overview = s.broker.overview(&visitor.caller).await?;
    let grants = s.broker.live_grants(admin).await?;
    let waiting = s.broker.invites_awaiting_second_admin().await?;
    let stops = s.broker.emergency_stops(&visitor.caller).await?;
    let tokens = s.broker.api_tokens(None).await?;
    let campaigns = s.broker.review_campaigns(&visitor.caller).await?;
    // The sections after the directory: access reviews, and integrators' API tokens.
    let integrations = html! {
        (super::campaigns::section(&campaigns, s.broker.now()))
        (super::tokens::section(&tokens))
    };
    Ok(page(admin_page(
        &who,
        &overview,
        &grants,
        &waiting,
        &stops,
        integrations,
        s.broker.now(),
    )))
}

/// The live grants as the page watches them, for it to notice a change (a new, ended or held grant).
pub async fn live(State(s): State<AppState>, visitor: Visitor) -> ApiResult<Vec<String>> {
    let admin = visitor.caller.person_with(&[Role::Admin])?;
    let grants = s.broker.live_grants(admin).await?;
    Ok(ApiJson(seen(&grants)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractEnd {
    /// `YYYY-MM-DD`, or empty for no end.
    date: String,
}

pub async fn revoke(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    let admin = visitor.changing(&headers, &[Role::Admin])?;
    let ended = s
        .broker
        .revoke(admin, id, body.given("access is revoked")?)
        .await?;
    said(format!(
        "Revoked {}'s access to {}: the gateway cuts it within a second.",
        ended.grant.person, ended.grant.ticket
    ))
}

pub async fn invite(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(person): ApiPath<String>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let (code, invite) = s.broker.invite_as(&visitor.caller, &person, INVITE_TTL).await?;
    let waits = match &invite.second_admin {
        Some(g) => format!(
            " It works once a second admin confirms it ({}).",
            g.needed_because
        ),
        None => String::new(),
    };
    said(format!(
        "Invite for {person}, valid until {} and shown only now — send it to them: {}.{waits}",
        when(invite.expires_at),
        code.expose_secret()
    ))
}

pub async fn confirm_invite(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(reference): ApiPath<String>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let invite = s.broker.confirm_invite(&visitor.caller, &reference).await?;
    said(format!(
        "Confirmed the invite for {} issued by {}: it works now.",
        invite.person, invite.created_by
    ))
}

pub async fn disable(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(person): ApiPath<String>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let reason = body.given("the account is disabled")?;
    s.broker
        .set_person_disabled(&visitor.caller.actor(), &person, true, reason)
        .await?;
    said(format!("Disabled {person}: their sessions and access ended."))
}

pub async fn enable(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(person): ApiPath<String>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    s.broker
        .set_person_disabled(
            &visitor.caller.actor(),
            &person,
            false,
            "enabled on the admin page",
        )
        .await?;
    said(format!("Enabled {person}."))
}

pub async fn contract_end(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(person): ApiPath<String>,
    ApiJson(body): ApiJson<ContractEnd>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let date = body.date.trim();
    // The contract ends when that day ends (UTC).
    let end = if date.is_empty() {
        None
    } else {
        Some(super::end_of_day(date)?)
    };
    s.broker.set_contract_end(&visitor.caller, &person, end).await?;
    said(match end {
        Some(t) => format!("{person}'s contract ends at {}.", when(t)),
        None => format!("{person}'s contract has no end date."),
    })
}
