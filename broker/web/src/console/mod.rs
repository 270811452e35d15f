//! The broker's web pages for the people who are not contractors in the app (approvers, helpdesk,
//! admins, auditors; contractors may use them too): signing in and enrolling with a passkey in the
//! browser, a browser session in a cookie, and the signed-in person's home. Server-rendered HTML;
//! script only for the WebAuthn ceremonies. Every response carries a strict Content-Security-Policy;
//! every change must come from the broker's own origin and carry the session's CSRF token.

mod admin;
mod alerts;
mod approvals;
mod audit;
mod campaigns;
mod ceremonies;
mod emergency;
mod helpdesk;
mod home;
mod matrix;
mod onboarding;
mod pages;
mod reports;
mod reviews;
mod tokens;
mod visitor;

use crate::{ApiError, AppState};
use axum::http::header::{self, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use daypass_broker_core::domain::directory::Role;
use maud::Markup;
use serde::Deserialize;
use visitor::Visitor;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML page with the console's security headers; never cached (it shows personal data).
fn page(markup: Markup) -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Not `no-referrer`: with it browsers send `Origin: null` on the pages' own forms.
            (header::REFERRER_POLICY, "same-origin"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        markup,
    )
        .into_response()
}

/// A file to download (a report or evidence), named `name` (kept to safe characters).
pub(super) fn attachment(content_type: &'static str, name: String, body: String) -> Response {
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        body,
    )
        .into_response()
}

pub(super) fn see_other(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static(to))]).into_response()
}

/// The signed-in person as their pages show them.
fn signed(visitor: &Visitor) -> Result<pages::Signed, ApiError> {
    let person = visitor.caller.person()?;
    let daypass_broker_core::Caller::Session { session, .. } = &visitor.caller else {
        return Err(ApiError::unauthenticated("sign in with your passkey first"));
    };
    Ok(pages::Signed {
        id: person.id.clone(),
        name: person.name.clone(),
        roles: person.roles.clone(),
        session_ends: session.expires_at,
        csrf: visitor.csrf().to_string(),
    })
}

/// Why a page is not shown: the broker refused (a problem), or the person's roles do not open it
/// (a 403 page saying so, with their navigation).
pub(super) enum PageError {
    Problem(ApiError),
    NotForYou(Box<Response>),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Problem(e)
    }
}

impl From<daypass_broker_core::ServiceError> for PageError {
    fn from(e: daypass_broker_core::ServiceError) -> Self {
        PageError::Problem(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Problem(e) => e.into_response(),
            PageError::NotForYou(r) => *r,
        }
    }
}

/// The signed-in person, if one of `roles` opens the page at `path`; else the 403 page saying `why`.
fn admitted(visitor: &Visitor, roles: &[Role], path: &str, why: &str) -> Result<pages::Signed, PageError> {
    let who = signed(visitor)?;
    if visitor.caller.person_with(roles).is_err() {
        let mut response = page(pages::not_for_you(&who, path, why));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return Err(PageError::NotForYou(Box::new(response)));
    }
    Ok(who)
}

/// The body of changes that take no fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Nothing {}

/// What a page says after a change.
fn said(message: String) -> crate::ApiResult<serde_json::Value> {
    Ok(crate::ApiJson(serde_json::json!({ "message": message })))
}

/// A form's `YYYY-MM-DD` as the instant that day ends (UTC): a contract end, a review deadline.
fn end_of_day(date: &str) -> Result<time::OffsetDateTime, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date.trim(), &format)
        .map_err(|_| ApiError::invalid(format!("{date:?} is not a date: write it as YYYY-MM-DD")))?;
    Ok(day.next_day().unwrap_or(day).midnight().assume_utc())
}

/// How long an invite made from the admin page lasts.
const INVITE_TTL: time::Duration = time::Duration::hours(72);

/// The body of changes that need a reason (revoking, disabling).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Reason {
    reason: String,
}

impl Reason {
    /// The reason given, or a refusal saying to give one for `what`.
    fn given(&self, what: &str) -> Result<&str, ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(ApiError::invalid(format!("say why {what}")));
        }
        Ok(reason)
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(home::home))
        .route("/console/sign-in", get(|| async { page(pages::sign_in()) }))
        .route("/console/enroll", get(|| async { page(pages::enroll()) }))
        .route(
            "/console/needs-script",
            post(|| async { page(pages::needs_script()) }),
        )
        .route("/console/sign-out", post(home::sign_out))
        .route("/console/api/devices/{id}/revoke", post(home::revoke_device))
        .route("/console/approvals", get(approvals::page))
        .route("/console/reviews", get(reviews::page))
        .route(
            "/console/api/reviews",
            get(reviews::waiting).post(campaigns::open),
        )
        .route("/console/api/reviews/items/{id}", post(reviews::answer))
        .route("/console/api/reviews/keep", post(reviews::keep_in_bulk))
        .route("/console/api/reviews/{id}/close", post(campaigns::close))
        .route("/console/reviews/{id}/evidence.json", get(campaigns::evidence))
        .route("/console/api/approvals", get(approvals::waiting))
        .route("/console/admin", get(admin::page_for_admins))
        .route("/console/api/grants", get(admin::live))
        .route("/console/api/grants/{id}/revoke", post(admin::revoke))
        .route("/console/api/people/{id}/invite", post(admin::invite))
        .route(
            "/console/api/invites/{reference}/confirm",
            post(admin::confirm_invite),
        )
        .route("/console/api/people/{id}/disable", post(admin::disable))
        .route(
            "/console/api/emergency-stops",
            get(emergency::watched).post(emergency::propose),
        )
        .route(
            "/console/api/emergency-stops/{id}/confirm",
            post(emergency::confirm),
        )
        .route("/console/api/emergency-stops/{id}/lift", post(emergency::lift))
        .route("/console/api/tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/api/contractors", post(onboarding::add))
        .route("/console/api/resources", post(matrix::put_resource))
        .route("/console/api/entitlements", post(matrix::put_entitlement))
        .route("/console/api/policies", post(matrix::put_policy))
        .route("/console/api/{kind}/{name}/remove", post(matrix::remove))
        .route("/console/api/people/{id}/enable", post(admin::enable))
        .route("/console/api/people/{id}/contract-end", post(admin::contract_end))
        .route("/console/alerts", get(alerts::page_for_staff))
        .route("/console/api/alerts", get(alerts::watched))
        .route("/console/api/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/console/api/alerts/{id}/close", post(alerts::close))
        .route("/console/audit", get(audit::log))
        .route("/console/reports", get(reports::reports))
        .route("/console/audit/evidence/{file}", get(audit::evidence))
        .route("/console/helpdesk", get(helpdesk::search))
        .route("/console/helpdesk/devices/{id}", get(helpdesk::device))
        .route(
            "/console/helpdesk/devices/{id}/report.json",
            get(helpdesk::report_json),
        )
        .route(
            "/console/helpdesk/devices/{id}/report.html",
            get(helpdesk::report_html),
        )
        .route("/console/api/requests/{id}/approve", post(approvals::approve))
        .route("/console/api/requests/{id}/deny", post(approvals::deny))
        .route("/console/passkeys/{id}/revoke", post(home::revoke_passkey))
        .route("/console/api/sign-in/start", post(ceremonies::sign_in_start))
        .route("/console/api/sign-in/finish", post(ceremonies::sign_in_finish))
        .route("/console/api/enroll/start", post(ceremonies::enroll_start))
        .route("/console/api/enroll/finish", post(ceremonies::enroll_finish))
        .route("/console/api/step-up/start", post(ceremonies::step_up_start))
        .route("/console/api/step-up/finish", post(ceremonies::step_up_finish))
        .route("/console/api/passkeys/add/start", post(ceremonies::add_start))
        .route("/console/api/passkeys/add/finish", post(ceremonies::add_finish))
        .layer(axum::middleware::from_fn_with_state(state, visitor::same_origin))
}
