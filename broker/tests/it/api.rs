//! The HTTP API through the router: status codes, problem documents, role checks, and that refused
//! input writes nothing.

use crate::support::{send, Db, Harness};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use daypass_broker_web::{router, ApiDoc, AppState};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

struct Api {
    h: Harness,
    app: axum::Router,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Api {
    async fn new() -> Api {
        let h = Harness::new(Db::Sqlite).await;
        let mut tokens = std::collections::HashMap::new();
        for who in ["ana", "ben", "cy", "ida", "aud"] {
            let t = h
                .broker
                .issue_token("test", who, "t", time::Duration::days(1))
                .await
                .unwrap();
            tokens.insert(who, t.expose_secret().to_string());
        }
        let state = AppState {
            broker: h.broker.clone(),
            ticket_webhook_secret: Some(Arc::new(SecretString::from("hook-secret"))),
        };
        Api {
            app: router(state),
            h,
            tokens,
        }
    }

    async fn call(
        &self,
        who: Option<&str>,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, serde_json::Value, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(w) = who {
            req = req.header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.tokens.get(w).map(String::as_str).unwrap_or(w)),
            );
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
            .unwrap();
        send(&self.app, req).await
    }
}

/// (caller, method, path, body, expected status, what the detail must mention)
type Case<'a> = (
    Option<&'a str>,
    &'a str,
    &'a str,
    Option<&'a str>,
    StatusCode,
    &'a str,
);

const GOOD: &str =
    r#"{"device":"ana-laptop","resources":["db"],"ticket":"OPS-1","reason":"migrate","duration":"1h"}"#;

#[tokio::test]
async fn auto_approved_request_returns_201_with_grant() {
    let api = Api::new().await;
    let (status, body, _) = api
        .call(Some("ana"), "POST", "/api/v1/requests", Some(GOOD))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "granted");
    let gid = body["grant_id"].as_str().unwrap();
    let (status, grant, _) = api
        .call(Some("ana"), "GET", &format!("/api/v1/grants/{gid}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grant["status"], "active");
    assert!(grant["signed"]["signature"].as_str().unwrap().len() > 80);
}

#[tokio::test]
async fn a_grants_gateway_peer_is_signed_and_shown_only_to_who_may_see_the_grant() {
    let api = Api::new().await;
    let (_, body, _) = api
        .call(Some("ana"), "POST", "/api/v1/requests", Some(GOOD))
        .await;
    let uri = format!("/api/v1/grants/{}/gateway", body["grant_id"].as_str().unwrap());
    let (status, signed, _) = api.call(Some("ana"), "GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let signed: daypass_proto::Signed<daypass_proto::api::GatewayPeer> =
        serde_json::from_value(signed).unwrap();
    let peer = signed
        .verify(&api.h.broker.verifying_key())
        .expect("signed with the broker key");
    assert_eq!(
        (
            peer.name.as_str(),
            peer.endpoint.as_str(),
            peer.wireguard_public_key.as_str()
        ),
        ("gw1", "127.0.0.1:51820", crate::support::WG_KEY)
    );
    let (status, _, _) = api.call(Some("ben"), "GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "approvers see grants");
    let (status, _, _) = api.call(None, "GET", &uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_of_every_kind_is_a_4xx_problem_and_writes_nothing() {
    let api = Api::new().await;
    let head = api.h.audit_head().await;
    let (extra_field, bad_duration, stolen_device, bad_ticket) = (
        GOOD.replace("\"duration\"", "\"admin\":true,\"duration\""),
        GOOD.replace("1h", "soon"),
        GOOD.replace("ana-laptop", "stolen"),
        GOOD.replace("OPS-1", "OPS 1; DROP TABLE"),
    );
    // (caller, method, path, body, expected status, what the detail must mention)
    let cases: Vec<Case> = vec![
        (
            None,
            "POST",
            "/api/v1/requests",
            Some(GOOD),
            StatusCode::UNAUTHORIZED,
            "Bearer",
        ),
        (
            Some("dpt_forged"),
            "GET",
            "/api/v1/me",
            None,
            StatusCode::UNAUTHORIZED,
            "unknown or expired token",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "JSON",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some(r#"{"device":"ana-laptop"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some(&extra_field),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some(&bad_duration),
            StatusCode::BAD_REQUEST,
            "30m, 4h",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some(&stolen_device),
            StatusCode::NOT_FOUND,
            "enrolled devices",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/requests",
            Some(&bad_ticket),
            StatusCode::BAD_REQUEST,
            "ticket key",
        ),
        (
            Some("ana"),
            "GET",
            "/api/v1/requests/not-a-uuid",
            None,
            StatusCode::BAD_REQUEST,
            "UUID",
        ),
        (
            Some("ana"),
            "GET",
            "/api/v1/requests/00000000-0000-0000-0000-000000000000",
            None,
            StatusCode::NOT_FOUND,
            "no access request",
        ),
        (
            Some("ana"),
            "GET",
            "/api/v1/approvals",
            None,
            StatusCode::FORBIDDEN,
            "approver",
        ),
        (
            Some("ana"),
            "GET",
            "/api/v1/gateway/state",
            None,
            StatusCode::FORBIDDEN,
            "gateway credentials",
        ),
        (
            Some("ana"),
            "GET",
            "/api/v1/reports/access",
            None,
            StatusCode::FORBIDDEN,
            "roles",
        ),
        (
            Some("ida"),
            "GET",
            "/api/v1/reports/access?days=0",
            None,
            StatusCode::BAD_REQUEST,
            "days",
        ),
        (
            Some("ida"),
            "GET",
            "/api/v1/reports/access?days=many",
            None,
            StatusCode::BAD_REQUEST,
            "days",
        ),
        (
            None,
            "POST",
            "/api/v1/tickets/webhook",
            Some(r#"{"ticket":"OPS-1"}"#),
            StatusCode::UNAUTHORIZED,
            "webhook signature or secret",
        ),
        (
            None,
            "GET",
            "/api/v1/nope",
            None,
            StatusCode::NOT_FOUND,
            "openapi.json",
        ),
        (
            Some("ida"),
            "GET",
            "/api/v1/posture/failing?check=nope",
            None,
            StatusCode::BAD_REQUEST,
            "unknown variant",
        ),
        (
            Some("ana"),
            "POST",
            "/api/v1/posture/nonce",
            Some(r#"{"device":"bens-laptop"}"#),
            StatusCode::NOT_FOUND,
            "enrolled devices",
        ),
    ];
    for (who, method, uri, body, want, says) in cases {
        let (status, problem, ctype) = api.call(who, method, uri, body).await;
        assert_eq!(status, want, "{method} {uri}: {problem}");
        assert_eq!(ctype, "application/problem+json", "{method} {uri}");
        assert_eq!(problem["status"], want.as_u16());
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(says),
            "{method} {uri}: {detail:?} should mention {says:?}"
        );
    }
    assert_eq!(
        api.h.audit_head().await,
        head,
        "refused input wrote audit entries"
    );
    assert_eq!(api.h.count("requests").await, 0);
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let api = Api::new().await;
    let req = Request::post("/api/v1/requests")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.tokens["ana"]))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(GOOD))
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn approval_flow_over_http_with_self_approval_refused() {
    let api = Api::new().await;
    let body = GOOD.replace("[\"db\"]", "[\"prod\"]").replace("OPS-1", "OPS-2");
    let (_, req, _) = api
        .call(Some("ana"), "POST", "/api/v1/requests", Some(&body))
        .await;
    assert_eq!(req["status"], "pending");
    let id = req["id"].as_str().unwrap();
    let (_, inbox, _) = api.call(Some("ben"), "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    let approve = format!("/api/v1/requests/{id}/approve");
    let (status, _, _) = api.call(Some("ana"), "POST", &approve, Some("{}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = api.call(Some("ben"), "POST", &approve, Some("{}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem, _) = api.call(Some("ben"), "POST", &approve, Some("{}")).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("urn:daypass:problem:approval-refused")
        )
    );
    let (status, done, _) = api
        .call(Some("cy"), "POST", &approve, Some(r#"{"comment":"fine"}"#))
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (StatusCode::OK, Some("granted"))
    );
    // Deny needs a reason; a finished request cannot be denied.
    let (status, _, _) = api
        .call(
            Some("ben"),
            "POST",
            &format!("/api/v1/requests/{id}/deny"),
            Some(r#"{"reason":"late"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let gid = done["grant_id"].as_str().unwrap();
    let (status, ev, _) = api
        .call(
            Some("aud"),
            "GET",
            &format!("/api/v1/grants/{gid}/evidence"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ev["audit"].as_array().unwrap().len() >= 6);
    let (status, _, _) = api
        .call(
            Some("ana"),
            "GET",
            &format!("/api/v1/grants/{gid}/evidence"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, rv, _) = api
        .call(
            Some("ida"),
            "POST",
            &format!("/api/v1/grants/{gid}/revoke"),
            Some(r#"{"reason":"done"}"#),
        )
        .await;
    assert_eq!((status, rv["status"].as_str()), (StatusCode::OK, Some("revoked")));
    let (_, verify, _) = api.call(Some("aud"), "GET", "/api/v1/audit/verify", None).await;
    assert_eq!(verify["intact"], true);
}

#[tokio::test]
async fn gateway_credential_reads_only_its_own_state() {
    let api = Api::new().await;
    let (_, secret) = api
        .h
        .broker
        .put_gateway("test", "gw1", "127.0.0.1:51820", crate::support::WG_KEY)
        .await
        .unwrap();
    api.call(Some("ana"), "POST", "/api/v1/requests", Some(GOOD))
        .await;
    let (status, state, _) = api
        .call(Some(secret.expose_secret()), "GET", "/api/v1/gateway/state", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            state["gateway"].as_str(),
            state["grants"].as_array().map(Vec::len)
        ),
        (Some("gw1"), Some(1))
    );
    let (status, _, _) = api
        .call(Some(secret.expose_secret()), "GET", "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The stream's one option takes true or false, and says so otherwise.
    let (status, problem, ctype) = api
        .call(
            Some(secret.expose_secret()),
            "GET",
            "/api/v1/gateway/stream?deltas=null",
            None,
        )
        .await;
    assert_eq!(
        (status, ctype.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("deltas"),
        "{problem}"
    );
}

#[tokio::test]
async fn ticket_webhook_rechecks_the_ticket_and_ends_grants() {
    let api = Api::new().await;
    let (_, req, _) = api
        .call(Some("ana"), "POST", "/api/v1/requests", Some(GOOD))
        .await;
    assert_eq!(req["status"], "granted");
    // The webhook body is not trusted: the ticket is still open, so nothing ends.
    let hook = |body: &'static str| {
        Request::post("/api/v1/tickets/webhook")
            .header("x-daypass-webhook-secret", "hook-secret")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let resp = api
        .app
        .clone()
        .oneshot(hook(r#"{"issue":{"key":"OPS-1"}}"#))
        .await
        .unwrap();
    let out: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(
        (
            out["ticket_open"].as_bool(),
            out["grants_ended"].as_array().map(Vec::len)
        ),
        (Some(true), Some(0))
    );
    // Closing the ticket in the ticket store without going through the broker, then notifying:
    api.h.exec(r#"UPDATE tickets SET data = '{"key":"OPS-1","summary":"w","status":"Done","done":true,"assignee":"ana","url":null}' WHERE key = 'OPS-1'"#).await;
    let resp = api
        .app
        .clone()
        .oneshot(hook(r#"{"ticket":"OPS-1"}"#))
        .await
        .unwrap();
    let out: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(out["grants_ended"].as_array().map(Vec::len), Some(1), "{out}");
}

#[tokio::test]
async fn jira_signed_webhook_is_accepted_and_a_bad_signature_is_not() {
    use hmac::Mac as _;
    let api = Api::new().await;
    let body = r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"OPS-1","fields":{}}}"#;
    let sign = |secret: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let send = |signature: String| {
        Request::post("/api/v1/tickets/webhook")
            .header("x-hub-signature", signature)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let ok = api.app.clone().oneshot(send(sign(b"hook-secret"))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let forged = api.app.clone().oneshot(send(sign(b"guess"))).await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openapi_document_lists_every_route_the_router_serves() {
    let api = Api::new().await;
    let (status, doc, _) = api.call(None, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let documented: std::collections::BTreeSet<String> =
        doc["paths"].as_object().unwrap().keys().cloned().collect();
    let generated: std::collections::BTreeSet<String> =
        ApiDoc::openapi().paths.paths.keys().cloned().collect();
    assert_eq!(documented, generated);
    // Every documented path answers (not the fallback 404) on the router.
    for path in &documented {
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let methods = doc["paths"][path].as_object().unwrap();
        for m in methods.keys() {
            let (status, body, _) = api
                .call(
                    Some("ida"),
                    &m.to_uppercase(),
                    &concrete,
                    (m == "post").then_some("{}"),
                )
                .await;
            assert!(
                body["type"] != "urn:daypass:problem:not-found"
                    || body["detail"]
                        .as_str()
                        .is_some_and(|d| !d.contains("no such endpoint")),
                "{m} {path} is documented but not routed ({status})"
            );
        }
    }
    assert!(doc["components"]["schemas"]["CreateAccessRequest"].is_object());
}

#[tokio::test]
async fn a_ticket_check_says_whether_the_caller_could_use_the_ticket() {
    let api = Api::new().await;
    let verdict = |body: &serde_json::Value| body["verdict"].as_str().unwrap_or("").to_string();
    let (status, body, _) = api
        .call(Some("ana"), "GET", "/api/v1/tickets/OPS-1/check", None)
        .await;
    assert_eq!(
        (status, verdict(&body)),
        (StatusCode::OK, "usable".into()),
        "{body}"
    );
    assert_eq!(body["status"], "In Progress");
    // Assigned to ana, so not ben's.
    let (_, body, _) = api
        .call(Some("ben"), "GET", "/api/v1/tickets/OPS-1/check", None)
        .await;
    // Someone else's ticket: neither its assignee nor its summary or status (no browsing the
    // company's tickets through the broker's ticket account).
    assert_eq!(verdict(&body), "not_yours", "{body}");
    assert!(!body["message"].as_str().unwrap().contains("ana"), "{body}");
    assert!(body["summary"].is_null() && body["status"].is_null(), "{body}");
    let (_, body, _) = api
        .call(Some("ana"), "GET", "/api/v1/tickets/OPS-404/check", None)
        .await;
    assert_eq!(
        (verdict(&body), body["summary"].is_null()),
        ("unknown".into(), true),
        "{body}"
    );
    api.h.exec(r#"UPDATE tickets SET data = '{"key":"OPS-2","summary":"w","status":"Done","done":true,"assignee":"ana","url":null}' WHERE key = 'OPS-2'"#).await;
    let (_, body, _) = api
        .call(Some("ana"), "GET", "/api/v1/tickets/OPS-2/check", None)
        .await;
    assert_eq!(verdict(&body), "closed", "{body}");
    let (status, body, _) = api
        .call(Some("ana"), "GET", "/api/v1/tickets/OPS%20142/check", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Whitespace around a key is not a key (Schemathesis found a tab accepted once).
    let (status, body, _) = api
        .call(Some("ana"), "GET", "/api/v1/tickets/%09OPS-1/check", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = api.call(None, "GET", "/api/v1/tickets/OPS-1/check", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ticket_checks_are_limited_per_person() {
    let api = Api::new().await;
    let check = "/api/v1/tickets/OPS-1/check";
    for _ in 0..60 {
        let (status, body, _) = api.call(Some("ana"), "GET", check, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let over = Request::builder()
        .uri(check)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.tokens["ana"]))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(over).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let (status, _, _) = api.call(Some("ben"), "GET", check, None).await;
    assert_eq!(status, StatusCode::OK, "ana's checks do not count against ben");
    api.h.clock.advance(time::Duration::minutes(1));
    let (status, _, _) = api.call(Some("ana"), "GET", check, None).await;
    assert_eq!(status, StatusCode::OK, "a new minute");
}

/// An integrator's token reads only what its scopes name, within its holder's roles; it is listed
/// and revoked one by one. The audit log is read page by page.
#[tokio::test]
async fn scoped_tokens_read_only_their_scopes_and_are_revoked_one_by_one() {
    use daypass_broker_core::domain::token::Scope;
    let mut api = Api::new().await;
    api.h.granted("db", "OPS-1", "1h").await;
    let scoped = |scopes: &[Scope]| Some(scopes.iter().copied().collect());
    let siem = api
        .h
        .broker
        .issue_scoped_token(
            "test",
            "aud",
            "siem",
            time::Duration::days(90),
            scoped(&[Scope::AuditRead, Scope::ReportsRead]),
        )
        .await
        .unwrap();
    api.tokens.insert("siem", siem.expose_secret().to_string());

    let (status, report, _) = api
        .call(Some("siem"), "GET", "/api/v1/reports/access", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (status, first, _) = api
        .call(Some("siem"), "GET", "/api/v1/audit/entries?after=0&limit=3", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let seqs: Vec<i64> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(first["next_after"], 3);
    let (_, next, _) = api
        .call(Some("siem"), "GET", "/api/v1/audit/entries?after=3&limit=2", None)
        .await;
    assert_eq!(next["entries"][0]["seq"], 4);
    assert_eq!(
        next["entries"][0]["prev_hash"], first["entries"][2]["hash"],
        "chained"
    );
    for (method, path) in [
        ("GET", "/api/v1/grants"),
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/audit/entries"),
    ] {
        let (status, problem, _) = api.call(Some("siem"), method, path, None).await;
        if method == "POST" {
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            continue;
        }
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert!(
            problem["type"].as_str().unwrap().ends_with("out-of-scope"),
            "{problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("reports:read, audit:read"),
            "{problem}"
        );
    }
    // A scope never lifts the holder's roles: a contractor's audit:read token reads no audit log.
    let ana_audit = api
        .h
        .broker
        .issue_scoped_token(
            "test",
            "ana",
            "x",
            time::Duration::days(1),
            scoped(&[Scope::AuditRead]),
        )
        .await
        .unwrap();
    api.tokens
        .insert("ana-audit", ana_audit.expose_secret().to_string());
    let (status, _, _) = api
        .call(Some("ana-audit"), "GET", "/api/v1/audit/entries", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = api
        .call(Some("ida"), "GET", "/api/v1/audit/entries?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Refused: no scopes at all, no lifetime.
    let none = api
        .h
        .broker
        .issue_scoped_token("test", "aud", "x", time::Duration::days(1), scoped(&[]))
        .await;
    assert!(none.unwrap_err().to_string().contains("at least one scope"));
    let expired = api
        .h
        .broker
        .issue_token("test", "aud", "x", time::Duration::ZERO)
        .await;
    assert!(expired.is_err());

    // Listed with ids; one revoked, the others keep working.
    let listed = api.h.broker.api_tokens(Some("aud")).await.unwrap();
    let (id, token) = listed.iter().find(|(_, t)| t.label == "siem").unwrap();
    assert_eq!(token.scopes, scoped(&[Scope::AuditRead, Scope::ReportsRead]));
    assert!(
        !siem.expose_secret().contains(id.as_str()),
        "the id is not the token"
    );
    api.h.broker.revoke_api_token("test", id).await.unwrap();
    let (status, _, _) = api
        .call(Some("siem"), "GET", "/api/v1/reports/access", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = api.call(Some("aud"), "GET", "/api/v1/reports/access", None).await;
    assert_eq!(status, StatusCode::OK, "aud's own token still works");
    assert!(
        api.h.broker.revoke_api_token("test", id).await.is_err(),
        "already gone"
    );
    let actions = api.h.actions().await;
    assert!(actions.iter().any(|a| a == "admin.token_revoked"), "{actions:?}");
}
