//! Handlers for contractors and approvers: entitlements, requests, approvals, denials.

use super::Authed;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use daypass_broker_core::domain::directory::Role;
use daypass_proto::api::{
    AccessRequestView, ApproveBody, CreateAccessRequest, EntitledResource, Me, ReasonBody, TicketCheck,
};
use daypass_proto::Problem;
use uuid::Uuid;

/// Who the token belongs to, with roles, groups and enrolled devices.
#[utoipa::path(get, path = "/api/v1/me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Me> {
    Ok(ApiJson(s.broker.me(caller.person()?).await?))
}

/// The resources the caller may request, with tags, maximum duration and policy.
#[utoipa::path(get, path = "/api/v1/entitlements", security(("bearer" = [])),
    responses((status = 200, body = Vec<EntitledResource>), (status = 401, body = Problem)))]
pub async fn entitlements(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Vec<EntitledResource>> {
    Ok(ApiJson(s.broker.entitlements_of(caller.person()?).await?))
}

/// The caller's own requests, newest first.
#[utoipa::path(get, path = "/api/v1/requests", security(("bearer" = [])),
    responses((status = 200, body = Vec<AccessRequestView>), (status = 401, body = Problem)))]
pub async fn my_requests(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Vec<AccessRequestView>> {
    Ok(ApiJson(s.broker.my_requests(caller.person()?).await?))
}

/// Whether the caller could ask for access against this ticket now: open, and theirs where the
/// broker requires the requester to be the assignee.
#[utoipa::path(get, path = "/api/v1/tickets/{key}/check", security(("bearer" = [])), params(("key" = String, Path, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    responses((status = 200, body = TicketCheck), (status = 400, description = "not a ticket key", body = Problem),
        (status = 429, description = "too many checks by this person in a minute (see Retry-After)", body = Problem),
        (status = 503, description = "ticket system unreachable", body = Problem)))]
pub async fn check_ticket(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<TicketCheck> {
    Ok(ApiJson(s.broker.check_ticket_for(caller.person()?, &key).await?))
}

/// Requests access. Auto-approved requests come back `granted` with a `grant_id`; others `pending`.
#[utoipa::path(post, path = "/api/v1/requests", security(("bearer" = [])), request_body = CreateAccessRequest,
    responses(
        (status = 201, body = AccessRequestView),
        (status = 400, description = "malformed input", body = Problem),
        (status = 403, description = "not entitled, posture refused, step-up needed, or the account is inactive", body = Problem),
        (status = 404, description = "not one of the caller's enrolled devices", body = Problem),
        (status = 409, description = "ten of the caller's requests wait already, or the governing approval policy no longer exists", body = Problem),
        (status = 422, description = "ticket missing, closed or not assigned to the requester", body = Problem),
        (status = 503, description = "ticket system unreachable", body = Problem)))]
pub async fn create_request(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<CreateAccessRequest>,
) -> Result<(StatusCode, ApiJson<AccessRequestView>), crate::ApiError> {
    let view = s.broker.create_request_as(&caller, body).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// One request (its requester, approvers, helpdesk, admins and auditors may read it).
#[utoipa::path(get, path = "/api/v1/requests/{id}", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessRequestView), (status = 404, body = Problem)))]
pub async fn request(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<AccessRequestView> {
    Ok(ApiJson(s.broker.request_view(&caller, id).await?))
}

/// Adds the caller's approval; the last required approval issues the grant.
#[utoipa::path(post, path = "/api/v1/requests/{id}/approve", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ApproveBody,
    responses((status = 200, body = AccessRequestView), (status = 403, description = "not an approver of it, self-approval, or the passkey confirmation is too old", body = Problem),
        (status = 404, body = Problem), (status = 409, description = "the request is decided already", body = Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> ApiResult<AccessRequestView> {
    let approver = caller.person_with(&[Role::Approver])?;
    let step_up = s.broker.approval_step_up(&caller)?;
    Ok(ApiJson(
        s.broker.approve(approver, id, body.comment, step_up).await?,
    ))
}

/// Denies a pending request with a reason the requester sees.
#[utoipa::path(post, path = "/api/v1/requests/{id}/deny", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = AccessRequestView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "the request is decided already", body = Problem)))]
pub async fn deny(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<AccessRequestView> {
    let approver = caller.person_with(&[Role::Approver])?;
    Ok(ApiJson(s.broker.deny(approver, id, &body.reason).await?))
}

/// The approver's inbox: pending requests the caller may approve.
#[utoipa::path(get, path = "/api/v1/approvals", security(("bearer" = [])),
    responses((status = 200, body = Vec<AccessRequestView>), (status = 403, body = Problem)))]
pub async fn inbox(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Vec<AccessRequestView>> {
    let approver = caller.person_with(&[Role::Approver])?;
    Ok(ApiJson(s.broker.approval_inbox(approver).await?))
}
