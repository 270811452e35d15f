//! Handlers for device posture: nonces, signed reports, and a device's history.

use super::Authed;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use daypass_broker_core::PostureNonce;
use daypass_broker_core::PostureRecord;
use daypass_posture::policy::Check;
use daypass_posture::signed_report::ReportClaims;
use daypass_proto::{Problem, Signed};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonceBody {
    pub device: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub device: String,
    /// The device-signed report (`daypass-posture`'s signed envelope over the facts and the nonce).
    #[schema(value_type = Signed<String>)]
    pub report: Signed<ReportClaims>,
}

/// A single-use nonce (5 minutes) for the device's next posture report.
#[utoipa::path(post, path = "/api/v1/posture/nonce", security(("bearer" = [])), request_body = NonceBody,
    responses((status = 200, body = PostureNonce), (status = 404, description = "not one of the caller's enrolled devices", body = Problem)))]
pub async fn nonce(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<NonceBody>,
) -> ApiResult<PostureNonce> {
    Ok(ApiJson(
        s.broker.posture_nonce(caller.person()?, &body.device).await?,
    ))
}

/// Submits a signed report; the broker verifies it and evaluates the facts itself.
#[utoipa::path(post, path = "/api/v1/posture/reports", security(("bearer" = [])), request_body = ReportBody,
    responses((status = 201, description = "the broker's evaluation", content_type = "application/json"),
              (status = 403, description = "signature, device or nonce refused", body = Problem),
              (status = 404, description = "not one of the caller's enrolled devices", body = Problem),
              (status = 409, description = "the device has no report-signing key enrolled", body = Problem)))]
pub async fn report(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<(StatusCode, ApiJson<PostureRecord>), crate::ApiError> {
    let record = s
        .broker
        .receive_posture(caller.person()?, &body.device, &body.report)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(record)))
}

/// A device's posture reports, newest first (its owner, helpdesk, approvers, admins, auditors).
#[utoipa::path(get, path = "/api/v1/devices/{id}/posture", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "reports, newest first", content_type = "application/json"), (status = 404, body = Problem)))]
pub async fn history(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Vec<PostureRecord>> {
    Ok(ApiJson(s.broker.device_posture(&caller, &id, 50).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailingQuery {
    /// disk_encryption, edr, os_patch, os_supported, firewall or screen_lock.
    #[param(value_type = String, pattern = "^(disk_encryption|edr|os_patch|os_supported|firewall|screen_lock)$")]
    pub check: Check,
}

/// Devices whose latest report does not pass one check (helpdesk, approvers, admins, auditors).
#[utoipa::path(get, path = "/api/v1/posture/failing", security(("bearer" = [])), params(FailingQuery),
    responses((status = 200, description = "the latest report of each such device", content_type = "application/json"),
              (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn failing(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(q): ApiQuery<FailingQuery>,
) -> ApiResult<Vec<PostureRecord>> {
    Ok(ApiJson(s.broker.devices_failing(&caller, q.check).await?))
}
