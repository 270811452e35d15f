//! The auditors' page: whether the audit chain verifies, the log filtered by actor, action, subject
//! and time (newest first), and each grant's evidence bundle — request, ticket as checked,
//! approvals, posture, connects and end — downloaded as one file signed with the broker's key.

use super::pages::{layout, when, Signed};
use super::visitor::Visitor;
use super::{admitted, attachment, page, PageError};
use crate::{ApiError, ApiPath, AppState};
use axum::extract::{Query, State};
use axum::response::Response;
use daypass_broker_core::domain::audit::AuditEntry;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::AuditFilter;
use daypass_broker_core::VerifyOutcome;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

const PATH: &str = "/console/audit";
const ROLES: [Role; 2] = [Role::Auditor, Role::Admin];
/// Entries shown at once.
const SHOWN: i64 = 200;

/// The filter form's fields, as typed (dates as `YYYY-MM-DD`, both days included).
#[derive(Debug, Default, Deserialize)]
pub struct Fields {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn day(text: &str, field: &str) -> Result<Option<time::Date>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(Some)
        .map_err(|_| ApiError::invalid(format!("{field} {text:?} is not a date: write it as YYYY-MM-DD")))
}

impl Fields {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        Ok(AuditFilter {
            actor: self.actor.trim().to_string(),
            action: self.action.trim().to_string(),
            subject: self.subject.trim().to_string(),
            from: day(&self.from, "from")?.map(|d| d.midnight().assume_utc()),
            to: day(&self.to, "to")?.map(|d| d.next_day().unwrap_or(d).midnight().assume_utc()),
        })
    }
}

fn verification(outcome: &VerifyOutcome) -> Markup {
    match outcome {
        VerifyOutcome::Intact(s) => html! {
            p id="chain" class="good" {
                strong { "The audit chain verifies" } ": " (s.entries) " entries, every link and hash checked, "
                (s.checkpoints_verified) " signed checkpoint(s) verified; head " code { (s.last_hash.get(..16).unwrap_or(&s.last_hash)) } "…"
            }
        },
        VerifyOutcome::Broken(b) => html! {
            p id="chain" class="bad" { strong { "The audit chain does not verify: " } (b.to_string()) }
        },
    }
}

fn row(e: &AuditEntry, evidence: bool) -> Markup {
    let details = serde_json::to_string(&e.details).unwrap_or_default();
    html! {
        tr {
            td { (e.seq) }
            td { (when(e.at)) }
            td { (e.actor) }
            td { (e.action) }
            td {
                @if evidence {
                    (e.subject) " " a href={ (PATH) "/evidence/" (e.subject) ".json" } download { "evidence" }
                } @else { (e.subject) }
            }
            td class="details" { code { (details) } }
        }
    }
}

fn audit_page(
    who: &Signed,
    fields: &Fields,
    outcome: &VerifyOutcome,
    entries: &[AuditEntry],
    reviews: Markup,
) -> Markup {
    let body = html! {
        h1 { "Audit" }
        (verification(outcome))
        form method="get" action=(PATH) class="filters" {
            @for (name, label, value, kind) in [
                ("actor", "Actor (e.g. person:ana)", &fields.actor, "text"),
                ("action", "Action (e.g. grant.issued)", &fields.action, "text"),
                ("subject", "Subject (a person, request or grant id)", &fields.subject, "text"),
                ("from", "From (day)", &fields.from, "date"),
                ("to", "To (day, included)", &fields.to, "date"),
            ] {
                label for=(name) { (label) }
                input id=(name) name=(name) type=(kind) value=(value);
            }
            button type="submit" { "Show" }
        }
        p { "The newest " (entries.len()) " matching entries (at most " (SHOWN) "). A grant's evidence bundle is one JSON file signed with the broker's key." }
        table id="log" {
            thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Actor" } th scope="col" { "Action" } th scope="col" { "Subject" } th scope="col" { "Details" } } }
            tbody {
                @for e in entries { (row(e, e.action.starts_with("grant.") && Uuid::parse_str(&e.subject).is_ok())) }
            }
        }
        (reviews)
    };
    layout("Audit", Some((who, PATH)), body)
}

pub async fn log(
    State(s): State<AppState>,
    visitor: Visitor,
    Query(fields): Query<Fields>,
) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &ROLES,
        PATH,
        "The audit pages are for auditors and admins.",
    )?;
    let filter = fields.filter()?;
    let entries = s.broker.audit_entries(&visitor.caller, &filter, SHOWN).await?;
    let outcome = s.broker.verify_audit().await?;
    let campaigns = s.broker.review_campaigns(&visitor.caller).await?;
    let reviews = super::campaigns::listing(&campaigns, s.broker.now());
    Ok(page(audit_page(&who, &fields, &outcome, &entries, reviews)))
}

/// `…/evidence/{grant}.json`: the signed bundle as a download.
pub async fn evidence(
    State(s): State<AppState>,
    visitor: Visitor,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = file
        .strip_suffix(".json")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not-found",
                "an evidence file is named after its grant: GRANT-ID.json",
            )
        })?;
    visitor.caller.person_with(&ROLES)?;
    let signed = s.broker.signed_evidence(&visitor.caller, id).await?;
    let body = serde_json::to_string_pretty(&signed).unwrap_or_default();
    Ok(attachment(
        "application/json",
        format!("evidence-{id}.json"),
        body,
    ))
}
