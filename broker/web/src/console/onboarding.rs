//! The admin page's "new contractor" form: the person (id, name, email, company, contract end,
//! groups) and their invite in one step, after the admin's passkey confirmation. The invite is
//! shown once, to send to the contractor.

use super::pages::when;
use super::visitor::Visitor;
use super::{said, INVITE_TTL};
use crate::{ApiError, ApiJson, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::PersonSpec;
use maud::{html, Markup};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use std::collections::BTreeSet;

pub(super) fn section() -> Markup {
    html! {
        section id="new-contractor" aria-labelledby="new-contractor-title" {
            h2 id="new-contractor-title" { "New contractor" }
            p { "Adds the person and makes their invite in one step; you confirm with your passkey. The invite is shown once: send it to them." }
            form class="act" data-endpoint="/console/api/contractors" data-step-up="add a contractor" data-done="Added." method="post" action="/console/needs-script" {
                label for="nc-id" { "Id (letters, digits, - _ . @)" } input id="nc-id" name="id" required maxlength="64";
                label for="nc-name" { "Name" } input id="nc-name" name="name" required maxlength="200";
                label for="nc-email" { "Email" } input id="nc-email" name="email" type="email" required maxlength="200";
                label for="nc-company" { "Company" } input id="nc-company" name="company" required maxlength="200";
                label for="nc-end" { "Contract ends (the account and its access end with that day)" } input id="nc-end" name="contract_end" type="date" required;
                label for="nc-groups" { "Groups (comma-separated, e.g. dba)" } input id="nc-groups" name="groups" maxlength="500";
                button type="submit" { "Add and invite with passkey" }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContractor {
    id: String,
    name: String,
    email: String,
    company: String,
    /// `YYYY-MM-DD`: a contractor always has an end.
    contract_end: String,
    #[serde(default)]
    groups: String,
}

pub async fn add(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewContractor>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(body.contract_end.trim(), &format).map_err(|_| {
        ApiError::invalid(format!(
            "{:?} is not a date: write the contract's last day as YYYY-MM-DD",
            body.contract_end
        ))
    })?;
    let end = day.next_day().unwrap_or(day).midnight().assume_utc();
    if end <= s.broker.now() {
        return Err(ApiError::invalid(
            "the contract has ended already: give its last day, today or later",
        ));
    }
    if body.company.trim().is_empty() {
        return Err(ApiError::invalid("give the contractor's company"));
    }
    let groups: BTreeSet<String> = body
        .groups
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    let spec = PersonSpec {
        id: body.id.trim().to_string(),
        name: body.name,
        email: body.email.trim().to_string(),
        company: body.company,
        roles: BTreeSet::new(),
        groups,
        contract_end: Some(end),
        ticket_identities: BTreeSet::new(),
    };
    let person = spec.id.clone();
    let (code, invite) = s
        .broker
        .onboard_contractor(&visitor.caller, spec, INVITE_TTL)
        .await?;
    said(format!(
        "Added {person} (contract until {}). Their invite, valid until {} and shown only now — send it to them: {}.",
        when(end),
        when(invite.expires_at),
        code.expose_secret()
    ))
}
