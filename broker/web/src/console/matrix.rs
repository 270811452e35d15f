//! The admin page's access matrix, changed on the page: resources, entitlements and approval
//! policies created or replaced (the same name edits) and removed, with the CLI's validation and
//! audit, each change after a fresh passkey confirmation.

use super::visitor::Visitor;
use super::{said, Nothing};
use crate::{ApiError, ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::entitlement::Entitlement;
use daypass_broker_core::domain::policy::{ApprovalPolicy, AutoApprove};
use daypass_broker_core::{Overview, ResourceSpec};
use daypass_proto::duration::parse_duration;
use daypass_proto::resource::parse_port_list;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeSet;

const STEP_UP: &str = "change the access matrix";

fn remove_button(path: &str, what: &str) -> Markup {
    html! {
        form class="act" data-endpoint=(path) data-step-up=(STEP_UP) data-done="Removed." method="post" action="/console/needs-script" {
            button type="submit" aria-label={ "Remove " (what) } { "Remove" }
        }
    }
}

/// Remove buttons for each row and the forms that create or replace (same name: edit).
pub(super) fn section(o: &Overview) -> Markup {
    html! {
        section id="matrix-edit" aria-labelledby="matrix-edit-title" {
            h2 id="matrix-edit-title" { "Change the access matrix" }
            p { "Giving an existing name replaces it. Each change needs your passkey confirmation and is audited." }
            h3 { "Resources" }
            ul {
                @for r in &o.resources {
                    li { (r.name) " " (remove_button(&format!("/console/api/resources/{}/remove", r.name), &format!("resource {}", r.name))) }
                }
            }
            form class="act" data-endpoint="/console/api/resources" data-step-up=(STEP_UP) data-done="Saved." method="post" action="/console/needs-script" {
                label for="r-name" { "Name" } input id="r-name" name="name" required maxlength="64";
                label for="r-address" { "Address (IP or CIDR)" } input id="r-address" name="address" required;
                label for="r-protocol" { "Protocol" }
                select id="r-protocol" name="protocol" { option value="tcp" { "tcp" } option value="udp" { "udp" } option value="icmp" { "icmp" } }
                label for="r-ports" { "Ports (e.g. 5432 or 8000-8100, comma-separated)" } input id="r-ports" name="ports";
                label for="r-tags" { "Tags (comma-separated, e.g. env:prod)" } input id="r-tags" name="tags";
                label for="r-gateway" { "Gateway" } input id="r-gateway" name="gateway" required;
                label for="r-description" { "Description" } input id="r-description" name="description";
                button type="submit" { "Save resource with passkey" }
            }
            h3 { "Entitlements" }
            ul {
                @for e in &o.entitlements {
                    li { (e.id) " " (remove_button(&format!("/console/api/entitlements/{}/remove", e.id), &format!("entitlement {}", e.id))) }
                }
            }
            form class="act" data-endpoint="/console/api/entitlements" data-step-up=(STEP_UP) data-done="Saved." method="post" action="/console/needs-script" {
                label for="e-id" { "Id" } input id="e-id" name="id" required maxlength="64";
                label for="e-subject" { "Who (group:NAME or person:ID)" } input id="e-subject" name="subject" required;
                label for="e-selector" { "What (tag:TAG or resource:NAME)" } input id="e-selector" name="selector" required;
                label for="e-max" { "At most (e.g. 8h)" } input id="e-max" name="max" required;
                label for="e-policy" { "Approval policy" } input id="e-policy" name="policy" required;
                button type="submit" { "Save entitlement with passkey" }
            }
            h3 { "Approval policies" }
            ul {
                @for p in &o.policies {
                    li { (p.name) " " (remove_button(&format!("/console/api/policies/{}/remove", p.name), &format!("policy {}", p.name))) }
                }
            }
            form class="act" data-endpoint="/console/api/policies" data-step-up=(STEP_UP) data-done="Saved." method="post" action="/console/needs-script" {
                label for="p-name" { "Name" } input id="p-name" name="name" required maxlength="64";
                label for="p-approvals" { "Approvals needed" } input id="p-approvals" name="approvals" type="number" min="1" value="1" required;
                label for="p-group" { "Approver group (empty: any approver)" } input id="p-group" name="approver_group";
                label for="p-auto" { input id="p-auto" name="auto_approve" type="checkbox"; " Approve automatically when these hold:" }
                label for="p-unless" { "Never for these tags (comma-separated)" } input id="p-unless" name="unless_tags";
                label for="p-hours" { "Only within these UTC hours (e.g. 7-19)" } input id="p-hours" name="hours";
                label for="p-max" { "Only up to (e.g. 4h)" } input id="p-max" name="auto_max";
                button type="submit" { "Save policy with passkey" }
            }
        }
    }
}

fn list(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn invalid(what: &str) -> impl Fn(String) -> ApiError + '_ {
    move |why| ApiError::invalid(format!("{what}: {why}"))
}

/// The admin, with a passkey confirmation from the last minutes, as the audit log names them.
fn confirmed_admin(s: &AppState, visitor: &Visitor, headers: &HeaderMap) -> Result<String, ApiError> {
    visitor.changing(headers, &[Role::Admin])?;
    s.broker.matrix_change_step_up(&visitor.caller)?;
    Ok(visitor.caller.actor())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceForm {
    name: String,
    address: String,
    protocol: String,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    tags: String,
    gateway: String,
    #[serde(default)]
    description: String,
}

pub async fn put_resource(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(form): ApiJson<ResourceForm>,
) -> ApiResult<serde_json::Value> {
    let actor = confirmed_admin(&s, &visitor, &headers)?;
    let spec = ResourceSpec {
        name: form.name.trim().to_string(),
        address: form.address.trim().to_string(),
        protocol: form.protocol.parse().map_err(invalid("protocol"))?,
        ports: parse_port_list(form.ports.trim()).map_err(invalid("ports"))?,
        tags: list(&form.tags),
        gateway: form.gateway.trim().to_string(),
        description: form.description.trim().to_string(),
    };
    let r = s.broker.put_resource(&actor, spec).await?;
    said(format!("Saved resource {} ({}).", r.name, r.address))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitlementForm {
    id: String,
    subject: String,
    selector: String,
    max: String,
    policy: String,
}

pub async fn put_entitlement(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(form): ApiJson<EntitlementForm>,
) -> ApiResult<serde_json::Value> {
    let actor = confirmed_admin(&s, &visitor, &headers)?;
    let e = Entitlement {
        id: form.id.trim().to_string(),
        subject: form.subject.trim().parse().map_err(invalid("who"))?,
        selector: form.selector.trim().parse().map_err(invalid("what"))?,
        max_duration_seconds: parse_duration(form.max.trim()).map_err(invalid("at most"))?,
        policy: form.policy.trim().to_string(),
    };
    let e = s.broker.put_entitlement(&actor, e).await?;
    said(format!(
        "Saved entitlement {}: {} may request {}.",
        e.id, e.subject, e.selector
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    name: String,
    approvals: String,
    #[serde(default)]
    approver_group: String,
    /// Present (`on`) when the box is ticked.
    auto_approve: Option<String>,
    #[serde(default)]
    unless_tags: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    auto_max: String,
}

pub async fn put_policy(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(form): ApiJson<PolicyForm>,
) -> ApiResult<serde_json::Value> {
    let actor = confirmed_admin(&s, &visitor, &headers)?;
    let approvals = form
        .approvals
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("approvals needed: a whole number, 1 or more"))?;
    let auto_approve = match form.auto_approve {
        None => None,
        Some(_) => Some(AutoApprove {
            unless_tags: list(&form.unless_tags),
            hours_utc: match form.hours.trim() {
                "" => None,
                h => Some(h.parse().map_err(invalid("hours"))?),
            },
            max_duration_seconds: match form.auto_max.trim() {
                "" => None,
                m => Some(parse_duration(m).map_err(invalid("only up to"))?),
            },
        }),
    };
    let group = form.approver_group.trim();
    let p = ApprovalPolicy {
        name: form.name.trim().to_string(),
        auto_approve,
        approvals_required: approvals,
        approver_group: (!group.is_empty()).then(|| group.to_string()),
    };
    let p = s.broker.put_policy(&actor, p).await?;
    said(format!("Saved policy {}.", p.name))
}

/// What `/console/api/{kind}/{name}/remove` removes.
pub async fn remove(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath((kind, name)): ApiPath<(String, String)>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    let actor = confirmed_admin(&s, &visitor, &headers)?;
    match kind.as_str() {
        "resources" => s.broker.remove_resource(&actor, &name).await?,
        "entitlements" => s.broker.remove_entitlement(&actor, &name).await?,
        "policies" => s.broker.remove_policy(&actor, &name).await?,
        _ => {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not-found",
                "nothing of that kind to remove",
            ))
        }
    }
    said(format!("Removed {name}."))
}
