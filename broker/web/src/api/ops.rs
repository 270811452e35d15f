//! Operational endpoints: health, the API document, the broker's key, the ticket webhook, reports, audit.

use super::{ApiDoc, Authed};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::VerifyOutcome;
use daypass_proto::api::{AccessReport, BrokerKey, TicketWebhook, WebhookOutcome};
use daypass_proto::Problem;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub ticket_connector: &'static str,
}

/// Liveness and which ticket connector is in use.
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
pub async fn health(State(s): State<AppState>) -> ApiResult<Health> {
    Ok(ApiJson(Health {
        status: "ok",
        ticket_connector: s.broker.ticket_connector_name(),
    }))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> ApiJson<utoipa::openapi::OpenApi> {
    ApiJson(ApiDoc::openapi())
}

/// The grant-signing public key, for gateways and clients to compare with the key they pinned.
#[utoipa::path(get, path = "/api/v1/broker-key", responses((status = 200, body = BrokerKey)))]
pub async fn broker_key(State(s): State<AppState>) -> ApiResult<BrokerKey> {
    let key = s.broker.verifying_key();
    Ok(ApiJson(BrokerKey {
        public_key: base64::engine::general_purpose::STANDARD.encode(key.as_bytes()),
        key_id: daypass_proto::signed::key_id(&key),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// The shared secret, for ticket systems that cannot set headers.
    pub secret: Option<String>,
}

/// A ticket changed: the broker re-reads it from the ticket system (the body is not trusted) and ends
/// the grants it no longer justifies. Authenticated by Jira's `X-Hub-Signature: sha256=…` (HMAC of the
/// body with the shared secret), or by the secret itself in `X-Daypass-Webhook-Secret` or `?secret=`.
#[utoipa::path(post, path = "/api/v1/tickets/webhook", request_body = TicketWebhook, params(WebhookQuery),
    responses((status = 200, body = WebhookOutcome), (status = 401, description = "wrong or missing signature or secret", body = Problem),
        (status = 404, description = "the webhook is off (no secret configured)", body = Problem), (status = 503, body = Problem)))]
pub async fn ticket_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WebhookQuery>,
    body: axum::body::Bytes,
) -> ApiResult<WebhookOutcome> {
    let Some(expected) = &s.ticket_webhook_secret else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "webhook-off",
            "the ticket webhook is off: set ticket_webhook_secret in the broker config",
        ));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authentic = match header("x-hub-signature") {
        Some(signature) => signature_matches(expected.expose_secret().as_bytes(), &body, &signature),
        None => {
            let given = header("x-daypass-webhook-secret")
                .or(q.secret)
                .unwrap_or_default();
            bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
        }
    };
    if !authentic {
        return Err(ApiError::unauthenticated(
            "wrong or missing webhook signature or secret",
        ));
    }
    let body: TicketWebhook = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            format!("the webhook body is not the expected JSON: {e}"),
        )
    })?;
    let key = body.ticket.or(body.issue.map(|i| i.key)).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "name the ticket: {\"ticket\": \"OPS-1\"} or a Jira webhook body with issue.key",
        )
    })?;
    daypass_broker_core::domain::ticket::validate_ticket_key(&key)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-body", e))?;
    Ok(ApiJson(s.broker.recheck_ticket(&key, "tickets:webhook").await?))
}

/// Checks a WebSub-style `sha256=<hex>` HMAC over the raw body, in constant time.
fn signature_matches(secret: &[u8], body: &[u8], header: &str) -> bool {
    use hmac::Mac as _;
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Window length in days, ending now (default 7).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<i64>,
}

/// The weekly access figures (admins, approvers and auditors).
#[utoipa::path(get, path = "/api/v1/reports/access", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = AccessReport), (status = 403, body = Problem)))]
pub async fn report(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<AccessReport> {
    caller.person_with(&[Role::Admin, Role::Approver, Role::Auditor])?;
    let days = q.days.unwrap_or(7);
    if !(1..=366).contains(&days) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "days must be between 1 and 366",
        ));
    }
    Ok(ApiJson(s.broker.report(days).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditStatus {
    pub intact: bool,
    pub entries: Option<i64>,
    pub checkpoints_verified: Option<usize>,
    /// The first problem found, naming the entry.
    pub problem: Option<String>,
}

/// Verifies the audit chain now (admins and auditors).
#[utoipa::path(get, path = "/api/v1/audit/verify", security(("bearer" = [])),
    responses((status = 200, body = AuditStatus), (status = 403, body = Problem)))]
pub async fn audit_verify(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<AuditStatus> {
    caller.person_with(&[Role::Admin, Role::Auditor])?;
    Ok(ApiJson(match s.broker.verify_audit().await? {
        VerifyOutcome::Intact(sum) => AuditStatus {
            intact: true,
            entries: Some(sum.entries),
            checkpoints_verified: Some(sum.checkpoints_verified),
            problem: None,
        },
        VerifyOutcome::Broken(b) => AuditStatus {
            intact: false,
            entries: None,
            checkpoints_verified: None,
            problem: Some(b.to_string()),
        },
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Entries after this sequence number (0: from the first).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (default 500).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One audit log entry, chained to the one before it by `prev_hash`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryOut>,
    /// Ask again with `after` set to this for the next page (the same when nothing is newer).
    pub next_after: i64,
}

/// The audit log page by page, oldest first (admins, auditors, and tokens with `audit:read`).
#[utoipa::path(get, path = "/api/v1/audit/entries", security(("bearer" = [])), params(EntriesQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
pub async fn audit_entries(
    State(s): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> ApiResult<AuditPage> {
    let after = query.after.unwrap_or(0);
    if after < 0 || !(1..=1000).contains(&query.limit.unwrap_or(500)) {
        return Err(ApiError::invalid(
            "after must be 0 or more and limit between 1 and 1000",
        ));
    }
    let entries = s
        .broker
        .audit_entries_after(&caller, after, query.limit.unwrap_or(500))
        .await?;
    let next_after = entries.last().map_or(after, |e| e.seq);
    Ok(ApiJson(AuditPage {
        entries: entries
            .into_iter()
            .map(|e| AuditEntryOut {
                seq: e.seq,
                at: e
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                actor: e.actor,
                action: e.action,
                subject: e.subject,
                details: e.details,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
        next_after,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn jira_signature_is_an_hmac_of_the_exact_body() {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{\"issue\":{\"key\":\"OPS-1\"}}");
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(super::signature_matches(
            b"s3cret",
            b"{\"issue\":{\"key\":\"OPS-1\"}}",
            &good
        ));
        assert!(!super::signature_matches(
            b"s3cret",
            b"{\"issue\":{\"key\":\"OPS-2\"}}",
            &good
        ));
        assert!(!super::signature_matches(
            b"other",
            b"{\"issue\":{\"key\":\"OPS-1\"}}",
            &good
        ));
        assert!(!super::signature_matches(b"s3cret", b"x", "sha1=00"));
        assert!(!super::signature_matches(b"s3cret", b"x", "sha256=zz"));
    }
}
