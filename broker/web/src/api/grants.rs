//! Handlers for grants: list, read, revoke, evidence.

use super::Authed;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::AppState;
use axum::extract::State;
use daypass_broker_core::EvidenceBundle;
use daypass_proto::api::{GatewayPeer, GrantView, ReasonBody};
use daypass_proto::{Problem, Signed};
use uuid::Uuid;

/// Live grants: the caller's own, or all for admins, approvers, helpdesk and auditors.
#[utoipa::path(get, path = "/api/v1/grants", security(("bearer" = [])),
    responses((status = 200, body = Vec<GrantView>), (status = 401, body = Problem)))]
pub async fn live(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Vec<GrantView>> {
    Ok(ApiJson(s.broker.live_grants(caller.person()?).await?))
}

/// One grant, with its signed form for clients and gateways.
#[utoipa::path(get, path = "/api/v1/grants/{id}", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = GrantView), (status = 404, body = Problem)))]
pub async fn grant(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<GrantView> {
    Ok(ApiJson(s.broker.grant_view(&caller, id).await?))
}

/// The WireGuard peer (gateway endpoint and key) for a grant, signed with the broker key.
#[utoipa::path(get, path = "/api/v1/grants/{id}/gateway", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, description = "signed GatewayPeer envelope", body = GatewayPeer), (status = 404, body = Problem)))]
pub async fn gateway(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Signed<GatewayPeer>> {
    Ok(ApiJson(s.broker.grant_gateway(&caller, id).await?))
}

/// Ends a live grant now (admins and approvers); the gateway is told at once.
#[utoipa::path(post, path = "/api/v1/grants/{id}/revoke", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = GrantView), (status = 404, body = Problem), (status = 409, description = "the grant has ended already", body = Problem)))]
pub async fn revoke(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<GrantView> {
    Ok(ApiJson(
        s.broker.revoke(caller.person()?, id, &body.reason).await?,
    ))
}

/// The grant's whole story: request, ticket as checked, approvals, grant, end, with audit hashes.
#[utoipa::path(get, path = "/api/v1/grants/{id}/evidence", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = EvidenceBundle), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn evidence(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<EvidenceBundle> {
    Ok(ApiJson(s.broker.evidence(&caller, id).await?))
}
