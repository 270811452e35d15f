//! The broker's JSON API under `/api/v1`, and the OpenAPI document generated from these handlers.

mod access;
mod auth;
mod contract;
mod devices;
mod gateway;
mod grants;
mod ops;
mod passkeys;
mod posture;

use crate::AppState;
use auth::Authed;
use axum::routing::{get, post};
use axum::Router;
use contract::ErrorContract;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// The routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(ops::health))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/api/v1/broker-key", get(ops::broker_key))
        .route("/api/v1/me", get(access::me))
        .route("/api/v1/entitlements", get(access::entitlements))
        .route(
            "/api/v1/requests",
            get(access::my_requests).post(access::create_request),
        )
        .route("/api/v1/requests/{id}", get(access::request))
        .route("/api/v1/tickets/{key}/check", get(access::check_ticket))
        .route("/api/v1/requests/{id}/approve", post(access::approve))
        .route("/api/v1/requests/{id}/deny", post(access::deny))
        .route("/api/v1/approvals", get(access::inbox))
        .route("/api/v1/grants", get(grants::live))
        .route("/api/v1/grants/{id}", get(grants::grant))
        .route("/api/v1/grants/{id}/revoke", post(grants::revoke))
        .route("/api/v1/grants/{id}/gateway", get(grants::gateway))
        .route("/api/v1/grants/{id}/evidence", get(grants::evidence))
        .route("/api/v1/tickets/webhook", post(ops::ticket_webhook))
        .route("/api/v1/posture/nonce", post(posture::nonce))
        .route("/api/v1/posture/reports", post(posture::report))
        .route("/api/v1/posture/failing", get(posture::failing))
        .route("/api/v1/devices/{id}/posture", get(posture::history))
        .route("/api/v1/gateway/state", get(gateway::state))
        .route("/api/v1/gateway/stream", get(gateway::stream))
        .route("/api/v1/gateway/connects", post(gateway::connects))
        .route("/api/v1/reports/access", get(ops::report))
        .route("/api/v1/audit/verify", get(ops::audit_verify))
        .route("/api/v1/audit/entries", get(ops::audit_entries))
        .route("/api/v1/passkeys", get(passkeys::mine))
        .route("/api/v1/devices/{id}/revoke", post(devices::revoke))
        .route("/api/v1/passkeys/{id}/revoke", post(passkeys::revoke))
        .route("/api/v1/passkeys/enroll/start", post(passkeys::enroll_start))
        .route("/api/v1/passkeys/enroll/finish", post(passkeys::enroll_finish))
        .route("/api/v1/passkeys/sign-in/start", post(passkeys::sign_in_start))
        .route("/api/v1/passkeys/sign-in/finish", post(passkeys::sign_in_finish))
        .route("/api/v1/passkeys/step-up/start", post(passkeys::step_up_start))
        .route("/api/v1/passkeys/step-up/finish", post(passkeys::step_up_finish))
        .route("/api/v1/passkeys/sign-out", post(passkeys::sign_out))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Daypass broker API", description = "Just-in-time access for contractors: requests, approvals, signed grants."),
    paths(
        ops::health, ops::openapi, ops::broker_key, ops::ticket_webhook, ops::report, ops::audit_verify, ops::audit_entries,
        access::me, access::entitlements, access::my_requests, access::create_request, access::request,
        access::approve, access::deny, access::inbox, access::check_ticket,
        grants::live, grants::grant, grants::revoke, grants::evidence, grants::gateway,
        gateway::state, gateway::stream, gateway::connects,
        posture::nonce, posture::report, posture::history, posture::failing,
        passkeys::enroll_start, passkeys::enroll_finish, passkeys::sign_in_start, passkeys::sign_in_finish,
        passkeys::step_up_start, passkeys::step_up_finish, passkeys::sign_out, passkeys::mine, passkeys::revoke, devices::revoke,
    ),
    components(schemas(daypass_proto::Problem)),
    modifiers(&BearerAuth, &ErrorContract)
)]
pub struct ApiDoc;
