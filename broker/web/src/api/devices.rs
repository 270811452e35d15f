//! Handlers for a person's own devices.

use super::Authed;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::AppState;
use axum::extract::State;
use daypass_proto::api::ReasonBody;
use daypass_proto::Problem;

/// Revokes one of the caller's devices (admins: any device): its grants end, its sessions stop working.
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ReasonBody,
    responses((status = 200, description = "the revoked device", content_type = "application/json"), (status = 404, body = Problem)))]
pub async fn revoke(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<daypass_broker_core::domain::directory::Device> {
    Ok(ApiJson(
        s.broker.revoke_device_as(&caller, &id, &body.reason).await?,
    ))
}
