//! The broker's pages through the router, with software authenticators: staff enroll from an invite
//! and sign in in the browser to a cookie session; the session is refused where it does not belong
//! (as a bearer token, for an app ceremony), every change needs the broker's origin and the session's
//! CSRF token, sessions end by sign-out and by expiry, and another passkey needs a fresh confirmation.

use crate::passkeys::{holder, soft, Api, ORIGIN};
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::Caller;
use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator as _};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// A browser: its authenticator and its cookie jar (the one session cookie).
struct Browser {
    authenticator: Box<dyn AuthenticatorBackend>,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            authenticator: soft(),
            cookie: None,
        }
    }
}

/// What came back: status, headers, body text.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn raw(api: &Api, req: Request<Body>) -> Reply {
    use tower::ServiceExt as _;
    let resp = api.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(api: &Api, b: &Browser, path: &str) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = &b.cookie {
        req = req.header(header::COOKIE, c);
    }
    raw(api, req.body(Body::empty()).unwrap()).await
}

/// A script's POST from the broker's page (origin, cookie, and the CSRF token if given).
async fn call(api: &Api, b: &Browser, path: &str, csrf: Option<&str>, body: Value) -> Reply {
    let mut req = Request::post(path)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = &b.cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    raw(api, req.body(Body::from(body.to_string())).unwrap()).await
}

/// A plain form POST, with the origin given (or none).
async fn form(api: &Api, b: &Browser, path: &str, origin: Option<&str>, fields: &str) -> Reply {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    if let Some(c) = &b.cookie {
        req = req.header(header::COOKIE, c);
    }
    raw(api, req.body(Body::from(fields.to_string())).unwrap()).await
}

/// Runs one ceremony of the pages (`sign-in`, `enroll`, `step-up`, `passkeys/add`) with the browser's
/// authenticator; keeps the cookie it sets.
async fn ceremony(api: &Api, b: &mut Browser, kind: &str, csrf: Option<&str>, start: Value) -> Reply {
    let started = call(api, b, &format!("/console/api/{kind}/start"), csrf, start).await;
    assert_eq!(started.status, StatusCode::OK, "{kind} start: {}", started.body);
    let challenge = started.json();
    let origin = Url::parse(ORIGIN).unwrap();
    let credential = if challenge["options"]["publicKey"]["user"].is_object() {
        let options: CreationChallengeResponse =
            serde_json::from_value(challenge["options"].clone()).unwrap();
        serde_json::to_value(b.authenticator.do_registration(origin, options).unwrap()).unwrap()
    } else {
        let options: RequestChallengeResponse = serde_json::from_value(challenge["options"].clone()).unwrap();
        serde_json::to_value(b.authenticator.do_authentication(origin, options).unwrap()).unwrap()
    };
    let answer = json!({ "ceremony": challenge["ceremony"], "credential": credential });
    let finished = call(api, b, &format!("/console/api/{kind}/finish"), csrf, answer).await;
    if let Some(set) = finished.headers.get(header::SET_COOKIE) {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
        b.cookie = Some(pair);
    }
    finished
}

/// The CSRF token of the home page the browser is shown.
async fn csrf_of_home(api: &Api, b: &Browser) -> String {
    let home = get(api, b, "/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let at = home.body.find("name=\"csrf-token\" content=\"").unwrap();
    let rest = &home.body[at + "name=\"csrf-token\" content=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn redirected_to_sign_in(r: &Reply) -> bool {
    r.status == StatusCode::SEE_OTHER && r.headers.get(header::LOCATION).unwrap() == "/console/sign-in"
}

#[tokio::test]
async fn staff_enroll_and_sign_in_in_the_browser_to_a_cookie_session_that_stays_there() {
    let api = Api::new(true).await;
    let mut browser = Browser::new();
    assert!(redirected_to_sign_in(&get(&api, &browser, "/console").await));
    // The broker's bare address leads there too.
    let root = get(&api, &browser, "/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.headers[header::LOCATION], "/console");
    let sign_in_page = get(&api, &browser, "/console/sign-in").await;
    let csp = sign_in_page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));

    // Enroll from an invite, no device: the cookie is host-only, secure, hidden from scripts.
    let code = api.invite("ida").await;
    let enrolled = ceremony(&api, &mut browser, "enroll", None, json!({ "invite": code })).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let set = enrolled.headers[header::SET_COOKIE].to_str().unwrap();
    for part in ["__Host-daypass=dpw_", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(part), "{set}");
    }
    let home = get(&api, &browser, "/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Signed in as"), "{}", home.body);
    assert!(
        home.body.contains("(ida)") && home.body.contains("admin"),
        "{}",
        home.body
    );
    assert!(home.body.contains("first passkey"));

    // The cookie's token is not an API token, and an app's session token is not a cookie.
    let token = browser
        .cookie
        .clone()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let as_bearer = Request::get("/api/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(raw(&api, as_bearer).await.status, StatusCode::UNAUTHORIZED);
    let mut ana = holder("ana", "ana-desk", 11, soft());
    let app_session = api.enroll(&mut ana).await;
    let stolen = Browser {
        authenticator: soft(),
        cookie: Some(format!(
            "__Host-daypass={}",
            app_session["token"].as_str().unwrap()
        )),
    };
    assert!(redirected_to_sign_in(&get(&api, &stolen, "/console").await));

    // A ceremony finishes only where it started.
    let started = call(
        &api,
        &browser,
        "/console/api/sign-in/start",
        None,
        json!({ "person": "ida" }),
    )
    .await;
    let challenge = started.json();
    let options: RequestChallengeResponse = serde_json::from_value(challenge["options"].clone()).unwrap();
    let credential = browser
        .authenticator
        .do_authentication(Url::parse(ORIGIN).unwrap(), options)
        .unwrap();
    let (status, problem) = api
        .post(
            "/api/v1/passkeys/sign-in/finish",
            json!({ "ceremony": challenge["ceremony"], "credential": credential }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("broker's page"),
        "{problem}"
    );

    // Signing out needs the session's CSRF token and the broker's origin.
    let csrf = csrf_of_home(&api, &browser).await;
    let forged = form(&api, &browser, "/console/sign-out", Some(ORIGIN), "csrf=guess").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.json()["detail"]
        .as_str()
        .unwrap()
        .contains("reload the page"));
    let elsewhere = form(
        &api,
        &browser,
        "/console/sign-out",
        Some("https://evil.example"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert!(elsewhere.json()["detail"]
        .as_str()
        .unwrap()
        .contains("evil.example"));
    let no_origin = form(&api, &browser, "/console/sign-out", None, &format!("csrf={csrf}")).await;
    assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&api, &browser, "/console").await.status,
        StatusCode::OK,
        "still signed in"
    );
    let out = form(
        &api,
        &browser,
        "/console/sign-out",
        Some(ORIGIN),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert!(redirected_to_sign_in(&get(&api, &browser, "/console").await));

    // Sign in again with the passkey; the session ends by itself at its end.
    let signed = ceremony(&api, &mut browser, "sign-in", None, json!({ "person": "ida" })).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(signed.json()["next"], "/console");
    assert_eq!(get(&api, &browser, "/console").await.status, StatusCode::OK);
    api.h.clock.advance(time::Duration::hours(12));
    assert!(redirected_to_sign_in(&get(&api, &browser, "/console").await));

    let actions = api.actions().await;
    for a in [
        "passkey.enrolled",
        "session.opened",
        "session.ended",
        "session.refused",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn another_passkey_needs_a_fresh_confirmation_and_then_signs_in_too() {
    let api = Api::new(true).await;
    let mut browser = Browser::new();
    let code = api.invite("ben").await;
    let enrolled = ceremony(&api, &mut browser, "enroll", None, json!({ "invite": code })).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let csrf = csrf_of_home(&api, &browser).await;

    // Without the CSRF token, nothing starts; a stale confirmation is not enough.
    let no_token = call(
        &api,
        &browser,
        "/console/api/passkeys/add/start",
        None,
        json!({ "name": "key" }),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    api.h.clock.advance(time::Duration::minutes(6));
    let stale = call(
        &api,
        &browser,
        "/console/api/passkeys/add/start",
        Some(&csrf),
        json!({ "name": "key" }),
    )
    .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(stale.json()["detail"]
        .as_str()
        .unwrap()
        .contains("confirm with your passkey first"));
    let unnamed = call(
        &api,
        &browser,
        "/console/api/passkeys/add/start",
        Some(&csrf),
        json!({ "name": " " }),
    )
    .await;
    assert_eq!(unnamed.status, StatusCode::BAD_REQUEST);

    // Confirm, then add a security key.
    let confirmed = ceremony(&api, &mut browser, "step-up", Some(&csrf), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let first = std::mem::replace(&mut browser.authenticator, Box::new(SoftPasskey::new(true)));
    let added = ceremony(
        &api,
        &mut browser,
        "passkeys/add",
        Some(&csrf),
        json!({ "name": "YubiKey <5>" }),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.json()["name"], "YubiKey <5>");
    let home = get(&api, &browser, "/console").await;
    assert!(home.body.contains("YubiKey &lt;5&gt;") && home.body.contains("first passkey"));

    // The new key signs in on its own; then the first one is revoked from the page.
    browser.cookie = None;
    let signed = ceremony(&api, &mut browser, "sign-in", None, json!({ "person": "ben" })).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let csrf = csrf_of_home(&api, &browser).await;
    let ben = Caller::Person(api.h.person("ben").await);
    let mine = api.h.broker.passkeys(&ben).await.unwrap();
    let old = mine.iter().find(|p| p.name == "first passkey").unwrap();
    let revoked = form(
        &api,
        &browser,
        &format!("/console/passkeys/{}/revoke", old.id),
        Some(ORIGIN),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    browser.authenticator = first;
    browser.cookie = None;
    let started = call(
        &api,
        &browser,
        "/console/api/sign-in/start",
        None,
        json!({ "person": "ben" }),
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(started.json()["options"].clone()).unwrap();
    assert!(
        browser
            .authenticator
            .do_authentication(Url::parse(ORIGIN).unwrap(), options)
            .is_err(),
        "the revoked key is no longer offered"
    );
    let actions = api.actions().await;
    for a in [
        "passkey.add_refused",
        "session.stepped_up",
        "passkey.added",
        "passkey.revoked",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
}

/// A person enrolled on the pages from an invite, with their browser (signed in) and CSRF token.
async fn staff(api: &Api, person: &str) -> (Browser, String) {
    let mut browser = Browser::new();
    let code = api.invite(person).await;
    let enrolled = ceremony(api, &mut browser, "enroll", None, json!({ "invite": code })).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let csrf = csrf_of_home(api, &browser).await;
    (browser, csrf)
}

#[tokio::test]
async fn approvers_see_what_to_decide_on_and_approve_only_after_a_fresh_passkey() {
    let api = Api::new(true).await;
    let waiting = api.h.request("prod", "OPS-1", "1h").await;
    let (mut ben, ben_csrf) = staff(&api, "ben").await;

    let page = get(&api, &ben, "/console/approvals").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for words in [
        "ANA (Acme Contracting) asks for prod for 1 h",
        "OPS-1",
        "In Progress",
        "env:prod",
        "migrate the schema",
        "No posture report from ana-laptop",
        "0 of 2 approvals",
        "Approve with passkey",
        r#"href="/console/approvals""#,
    ] {
        assert!(page.body.contains(words), "{words:?} missing from {}", page.body);
    }
    let ids = get(&api, &ben, "/console/api/approvals").await;
    assert_eq!(ids.json(), json!([waiting.id]));

    // Not in the policy's approver group: the request shows, with why, and no way to approve.
    let (dan, _) = staff(&api, "dan").await;
    let page = get(&api, &dan, "/console/approvals").await;
    assert!(
        page.body.contains("You cannot decide on this request"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Approve with passkey"));
    // Not an approver at all: the page is refused, and so are its calls.
    let (ida, ida_csrf) = staff(&api, "ida").await;
    let page = get(&api, &ida, "/console/approvals").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("for approvers") && !page.body.contains("prod"),
        "{}",
        page.body
    );
    let path = format!("/console/api/requests/{}/approve", waiting.id);
    assert_eq!(
        call(&api, &ida, &path, Some(&ida_csrf), json!({})).await.status,
        StatusCode::FORBIDDEN
    );

    // Approving needs the CSRF token and a passkey confirmation from the last minutes.
    assert_eq!(
        call(&api, &ben, &path, None, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    api.h.clock.advance(time::Duration::minutes(6));
    let stale = call(&api, &ben, &path, Some(&ben_csrf), json!({})).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(stale.json()["detail"]
        .as_str()
        .unwrap()
        .contains("passkey confirmation"));
    let confirmed = ceremony(&api, &mut ben, "step-up", Some(&ben_csrf), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let approved = call(&api, &ben, &path, Some(&ben_csrf), json!({ "comment": "ok" })).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["approvals"][0]["approver"], "ben");
    let page = get(&api, &ben, "/console/approvals").await;
    assert!(page.body.contains("1 of 2 approvals") && page.body.contains("You cannot decide"));

    // Another approver denies, with a reason (none is refused).
    let (cy, cy_csrf) = staff(&api, "cy").await;
    let deny = format!("/console/api/requests/{}/deny", waiting.id);
    let unreasoned = call(&api, &cy, &deny, Some(&cy_csrf), json!({ "reason": " " })).await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST, "{}", unreasoned.body);
    let denied = call(
        &api,
        &cy,
        &deny,
        Some(&cy_csrf),
        json!({ "reason": "use staging" }),
    )
    .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.body);
    assert_eq!(denied.json()["status"], "denied");
    assert_eq!(get(&api, &cy, "/console/api/approvals").await.json(), json!([]));
}

#[tokio::test]
async fn helpdesk_finds_people_and_reads_a_devices_posture_in_plain_words() {
    let h = crate::posture::broker(crate::support::Db::Sqlite, false).await;
    let record = crate::posture::report_now(&h).await;
    let api = Api::on(h);
    let (ida, _) = staff(&api, "ida").await;

    let found = get(&api, &ida, "/console/helpdesk?q=acme").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains("(ana, Acme Contracting"), "{}", found.body);
    assert!(found
        .body
        .contains(r#"href="/console/helpdesk/devices/ana-desk""#));
    assert!(get(&api, &ida, "/console/helpdesk?q=nobody-like-this")
        .await
        .body
        .contains("Nobody matches"));

    let device = get(&api, &ida, "/console/helpdesk/devices/ana-desk").await;
    assert_eq!(device.status, StatusCode::OK);
    for words in [
        "Latest posture report",
        "disk encryption",
        "What to tell the contractor",
        "report.json",
        "report.html",
    ] {
        assert!(
            device.body.contains(words),
            "{words:?} missing from {}",
            device.body
        );
    }

    // Every device whose latest report does not pass a check, as the broker judged it.
    let edr_passes = record
        .report
        .result(daypass_posture::policy::Check::Edr)
        .is_some_and(|c| c.outcome == daypass_posture::evaluate::Outcome::Pass);
    let failing = get(&api, &ida, "/console/helpdesk?check=edr").await;
    assert!(
        failing.body.contains("Failing endpoint protection (EDR)"),
        "{}",
        failing.body
    );
    assert_eq!(
        failing.body.contains("devices/ana-desk"),
        !edr_passes,
        "{}",
        failing.body
    );

    // The report as files to attach to a ticket.
    let json = get(&api, &ida, "/console/helpdesk/devices/ana-desk/report.json").await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(json.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("posture-ana-desk.json"));
    assert_eq!(json.json()["device"], "ana-desk");
    assert_eq!(json.json()["id"], record.id.to_string());
    let html = get(&api, &ida, "/console/helpdesk/devices/ana-desk/report.html").await;
    assert!(html.body.contains("Posture report — device ana-desk") && !html.body.contains("<script"));

    // A contractor sees none of it.
    let (ana, _) = staff(&api, "ana").await;
    assert_eq!(
        get(&api, &ana, "/console/helpdesk?q=acme").await.status,
        StatusCode::FORBIDDEN
    );
    let export = get(&api, &ana, "/console/helpdesk/devices/ana-desk/report.json").await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);
    assert!(
        !get(&api, &ana, "/console")
            .await
            .body
            .contains("/console/helpdesk"),
        "no link either"
    );

    // Ana lists her devices on her page and revokes a lost one, with a reason.
    let ana_csrf = csrf_of_home(&api, &ana).await;
    let home = get(&api, &ana, "/console").await;
    assert!(home.body.contains("Revoke ana-desk because") && home.body.contains("Revoke ana-laptop because"));
    let lost = "/console/api/devices/ana-desk/revoke";
    let unreasoned = call(&api, &ana, lost, Some(&ana_csrf), json!({ "reason": "" })).await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST);
    let revoked = call(
        &api,
        &ana,
        lost,
        Some(&ana_csrf),
        json!({ "reason": "left on a train" }),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(!get(&api, &ana, "/console")
        .await
        .body
        .contains("Revoke ana-desk because"));
    let (ben, ben_csrf) = staff(&api, "ben").await;
    let not_his = call(
        &api,
        &ben,
        "/console/api/devices/ana-laptop/revoke",
        Some(&ben_csrf),
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(
        not_his.status,
        StatusCode::NOT_FOUND,
        "only the owner or an admin"
    );
}

#[tokio::test]
async fn admins_oversee_and_revoke_access_and_manage_people_from_the_page() {
    let api = Api::new(true).await;
    let grant = api.h.granted("db", "OPS-1", "1h").await;
    let (ida, csrf) = staff(&api, "ida").await;

    let admin_page = get(&api, &ida, "/console/admin").await;
    assert_eq!(admin_page.status, StatusCode::OK, "{}", admin_page.body);
    for words in [
        "Live access (1)",
        "ana on ana-laptop",
        "OPS-1",
        "Who may request what",
        "group:dba",
        "tag:db:staging",
        "low-risk: automatic when its conditions hold, else 1 approval(s) from group approvers",
        "env:prod",
        "never connected",
        "Ticket connector",
        "It last answered a ticket check at",
    ] {
        assert!(
            admin_page.body.contains(words),
            "{words:?} missing from {}",
            admin_page.body
        );
    }
    assert_eq!(
        get(&api, &ida, "/console/api/grants").await.json(),
        json!([grant])
    );

    // Revoking needs a reason; then the grant is gone from the live list.
    let revoke = format!("/console/api/grants/{grant}/revoke");
    let unreasoned = call(&api, &ida, &revoke, Some(&csrf), json!({ "reason": "" })).await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST, "{}", unreasoned.body);
    let revoked = call(
        &api,
        &ida,
        &revoke,
        Some(&csrf),
        json!({ "reason": "laptop lost" }),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(revoked.json()["message"]
        .as_str()
        .unwrap()
        .contains("Revoked ana's access"));
    assert_eq!(get(&api, &ida, "/console/api/grants").await.json(), json!([]));

    // People: an invite shown once, a contract end, disabling and enabling.
    let invited = call(
        &api,
        &ida,
        "/console/api/people/ana/invite",
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert!(invited.json()["message"].as_str().unwrap().contains("dpi_"));
    let bad_date = call(
        &api,
        &ida,
        "/console/api/people/ana/contract-end",
        Some(&csrf),
        json!({ "date": "31/12/2026" }),
    )
    .await;
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    assert!(bad_date.json()["detail"].as_str().unwrap().contains("YYYY-MM-DD"));
    let ends = call(
        &api,
        &ida,
        "/console/api/people/ana/contract-end",
        Some(&csrf),
        json!({ "date": "2026-12-31" }),
    )
    .await;
    assert_eq!(ends.status, StatusCode::OK, "{}", ends.body);
    assert_eq!(
        api.h.person("ana").await.contract_end,
        Some(time::macros::datetime!(2027-01-01 00:00 UTC))
    );
    let again = api.h.granted("db", "OPS-1", "1h").await;
    let disabled = call(
        &api,
        &ida,
        "/console/api/people/ana/disable",
        Some(&csrf),
        json!({ "reason": "contract paused" }),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert!(api.h.person("ana").await.disabled);
    assert!(
        !get(&api, &ida, "/console/api/grants")
            .await
            .body
            .contains(&again.to_string()),
        "her access ended"
    );
    let enabled = call(
        &api,
        &ida,
        "/console/api/people/ana/enable",
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert!(!api.h.person("ana").await.disabled);

    // Without the CSRF token nothing changes; and the page is for admins only.
    assert_eq!(
        call(
            &api,
            &ida,
            "/console/api/people/ana/disable",
            None,
            json!({ "reason": "x" })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let (ben, ben_csrf) = staff(&api, "ben").await;
    assert_eq!(
        get(&api, &ben, "/console/admin").await.status,
        StatusCode::FORBIDDEN
    );
    let by_approver = call(
        &api,
        &ben,
        "/console/api/people/ana/invite",
        Some(&ben_csrf),
        json!({}),
    )
    .await;
    assert_eq!(by_approver.status, StatusCode::FORBIDDEN);
}

/// The emergency stop on the admin page: one admin proposes (fresh passkey), the page of another
/// shows it to confirm, the proposer cannot confirm it, the second admin does and the contractors'
/// access ends; lifting needs a reason.
#[tokio::test]
async fn two_admins_stop_every_contractor_from_the_admin_page_and_one_lifts_it() {
    let api = Api::new(true).await;
    api.h
        .broker
        .put_person("test", crate::support::spec("zoe", &[Role::Admin], &[]))
        .await
        .unwrap();
    let grant = api.h.granted("db", "OPS-1", "1h").await;
    let (ida, ida_csrf) = staff(&api, "ida").await;
    let (mut zoe, zoe_csrf) = staff(&api, "zoe").await;

    let page = get(&api, &ida, "/console/admin").await;
    assert!(
        page.body.contains("Propose emergency stop with passkey"),
        "{}",
        page.body
    );
    let propose = "/console/api/emergency-stops";
    let unreasoned = call(
        &api,
        &ida,
        propose,
        Some(&ida_csrf),
        json!({ "company": "", "reason": " " }),
    )
    .await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST, "{}", unreasoned.body);
    let proposed = call(
        &api,
        &ida,
        propose,
        Some(&ida_csrf),
        json!({ "company": "", "reason": "supplier breach" }),
    )
    .await;
    assert_eq!(proposed.status, StatusCode::OK, "{}", proposed.body);
    assert!(proposed.json()["message"]
        .as_str()
        .unwrap()
        .contains("second admin"));
    let watched = get(&api, &zoe, propose).await.json();
    let entry = watched[0].as_str().unwrap().to_string();
    let (id, state) = entry.split_once(' ').unwrap();
    assert_eq!(state, "proposed");

    // Nothing has stopped yet; the proposer's page says to wait, the other admin's offers to confirm.
    assert!(get(&api, &ida, "/console/admin")
        .await
        .body
        .contains("A second admin must confirm it"));
    let zoe_page = get(&api, &zoe, "/console/admin").await;
    assert!(
        zoe_page.body.contains("Confirm emergency stop with passkey"),
        "{}",
        zoe_page.body
    );
    let confirm = format!("/console/api/emergency-stops/{id}/confirm");
    let own = call(&api, &ida, &confirm, Some(&ida_csrf), json!({})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(own.json()["detail"].as_str().unwrap().contains("second admin"));
    // A stale confirmation is refused; a fresh one puts it in force.
    api.h.clock.advance(time::Duration::minutes(6));
    let stale = call(&api, &zoe, &confirm, Some(&zoe_csrf), json!({})).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    assert!(stale.json()["detail"]
        .as_str()
        .unwrap()
        .contains("passkey confirmation"));
    let stepped = ceremony(&api, &mut zoe, "step-up", Some(&zoe_csrf), json!({})).await;
    assert_eq!(stepped.status, StatusCode::OK, "{}", stepped.body);
    let stopped = call(&api, &zoe, &confirm, Some(&zoe_csrf), json!({})).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert!(stopped.json()["message"]
        .as_str()
        .unwrap()
        .contains("1 live grants ended"));
    assert_eq!(get(&api, &zoe, "/console/api/grants").await.json(), json!([]));
    let viewer = Caller::Person(api.h.person("ida").await);
    let ended = api.h.broker.grant_view(&viewer, grant).await.unwrap();
    assert!(ended.end_reason.unwrap().contains("supplier breach"));
    let page = get(&api, &zoe, "/console/admin").await;
    assert!(
        page.body.contains("EMERGENCY STOP in force") && page.body.contains("Lift with passkey"),
        "{}",
        page.body
    );

    let lift = format!("/console/api/emergency-stops/{id}/lift");
    let unreasoned = call(&api, &zoe, &lift, Some(&zoe_csrf), json!({ "reason": "" })).await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST, "{}", unreasoned.body);
    let lifted = call(
        &api,
        &zoe,
        &lift,
        Some(&zoe_csrf),
        json!({ "reason": "keys rotated" }),
    )
    .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.body);
    let again = call(
        &api,
        &zoe,
        &lift,
        Some(&zoe_csrf),
        json!({ "reason": "keys rotated" }),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let page = get(&api, &zoe, "/console/admin").await;
    assert!(
        !page.body.contains("EMERGENCY STOP in force") && page.body.contains("keys rotated"),
        "{}",
        page.body
    );
    assert_eq!(
        get(&api, &zoe, propose).await.json(),
        json!([format!("{id} lifted")])
    );
}

/// A new contractor in one step from the admin page: person and invite together, after a fresh
/// passkey confirmation; the invite works.
#[tokio::test]
async fn admins_add_a_contractor_and_their_invite_in_one_step() {
    let api = Api::new(true).await;
    let (mut ida, csrf) = staff(&api, "ida").await;
    assert!(get(&api, &ida, "/console/admin")
        .await
        .body
        .contains("Add and invite with passkey"));
    let form = |id: &str, end: &str| {
        json!({ "id": id, "name": "Lee Chen", "email": "lee@initech.example", "company": "Initech",
                "contract_end": end, "groups": "dba, readers" })
    };
    let path = "/console/api/contractors";
    let bad_date = call(&api, &ida, path, Some(&csrf), form("lee", "31/03/2027")).await;
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST, "{}", bad_date.body);
    let ended = call(&api, &ida, path, Some(&csrf), form("lee", "2020-01-01")).await;
    assert_eq!(ended.status, StatusCode::BAD_REQUEST, "{}", ended.body);
    api.h.clock.advance(time::Duration::minutes(6));
    let stale = call(&api, &ida, path, Some(&csrf), form("lee", "2099-03-31")).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    assert!(
        api.h.broker.person("lee").await.unwrap().is_none(),
        "nothing half-written"
    );
    let stepped = ceremony(&api, &mut ida, "step-up", Some(&csrf), json!({})).await;
    assert_eq!(stepped.status, StatusCode::OK, "{}", stepped.body);
    let added = call(&api, &ida, path, Some(&csrf), form("lee", "2099-03-31")).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let message = added.json()["message"].as_str().unwrap().to_string();
    let code = message
        .split("send it to them: ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .to_string();
    assert!(code.starts_with("dpi_"), "{message}");
    let lee = api.h.person("lee").await;
    assert_eq!(lee.roles, [Role::Contractor].into());
    assert_eq!((lee.company.as_str(), lee.groups.len()), ("Initech", 2));
    assert_eq!(
        lee.contract_end.unwrap().date(),
        time::macros::date!(2099 - 04 - 01)
    );
    let again = call(&api, &ida, path, Some(&csrf), form("lee", "2099-03-31")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // The invite enrolls Lee in the browser.
    let mut lee_browser = Browser::new();
    let enrolled = ceremony(&api, &mut lee_browser, "enroll", None, json!({ "invite": code })).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
}

/// Resources, entitlements and approval policies made, replaced and removed on the admin page,
/// with the CLI's validation and audit, each after a fresh passkey confirmation.
#[tokio::test]
async fn admins_change_the_access_matrix_on_the_page() {
    let api = Api::new(true).await;
    let (mut ida, csrf) = staff(&api, "ida").await;
    assert!(get(&api, &ida, "/console/admin")
        .await
        .body
        .contains("Save resource with passkey"));
    let resource = |ports: &str| {
        json!({ "name": "wiki", "address": "10.20.0.30", "protocol": "tcp", "ports": ports,
                "tags": "env:staging, app:wiki", "gateway": "gw1", "description": "the team wiki" })
    };
    let bad = call(
        &api,
        &ida,
        "/console/api/resources",
        Some(&csrf),
        resource("http"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.json()["detail"].as_str().unwrap().starts_with("ports"),
        "{}",
        bad.body
    );
    let saved = call(
        &api,
        &ida,
        "/console/api/resources",
        Some(&csrf),
        resource("443, 8000-8100"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let policy = json!({ "name": "wiki-auto", "approvals": "1", "approver_group": "approvers",
                         "auto_approve": "on", "unless_tags": "env:prod", "hours": "7-19", "auto_max": "4h" });
    let saved = call(&api, &ida, "/console/api/policies", Some(&csrf), policy).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let entitlement = json!({ "id": "dba-wiki", "subject": "group:dba", "selector": "resource:wiki",
                              "max": "8h", "policy": "wiki-auto" });
    let saved = call(&api, &ida, "/console/api/entitlements", Some(&csrf), entitlement).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // Ana (group dba) may now ask for the wiki, auto-approved by the new policy.
    api.h.granted("wiki", "OPS-1", "1h").await;

    let in_use = call(
        &api,
        &ida,
        "/console/api/policies/wiki-auto/remove",
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT, "{}", in_use.body);
    assert!(in_use.json()["detail"].as_str().unwrap().contains("dba-wiki"));
    api.h.clock.advance(time::Duration::minutes(6));
    let stale = call(
        &api,
        &ida,
        "/console/api/entitlements/dba-wiki/remove",
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    let stepped = ceremony(&api, &mut ida, "step-up", Some(&csrf), json!({})).await;
    assert_eq!(stepped.status, StatusCode::OK, "{}", stepped.body);
    for path in ["entitlements/dba-wiki", "policies/wiki-auto", "resources/wiki"] {
        let removed = call(
            &api,
            &ida,
            &format!("/console/api/{path}/remove"),
            Some(&csrf),
            json!({}),
        )
        .await;
        assert_eq!(removed.status, StatusCode::OK, "{path}: {}", removed.body);
    }
    let gone = call(
        &api,
        &ida,
        "/console/api/resources/wiki/remove",
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    let actions = api.h.actions().await;
    for action in [
        "admin.policy_removed",
        "admin.resource_removed",
        "admin.entitlement_removed",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// The admin page lists API tokens with their scopes and revokes them one by one.
#[tokio::test]
async fn admins_see_api_tokens_and_revoke_one_from_the_page() {
    use daypass_broker_core::domain::token::Scope;
    let api = Api::new(true).await;
    let scopes = Some([Scope::ReportsRead].into_iter().collect());
    api.h
        .broker
        .issue_scoped_token("test", "aud", "bi-dashboard", time::Duration::days(30), scopes)
        .await
        .unwrap();
    let (ida, csrf) = staff(&api, "ida").await;
    let page = get(&api, &ida, "/console/admin").await;
    assert!(
        page.body.contains("bi-dashboard") && page.body.contains("reports:read"),
        "{}",
        page.body
    );
    let id = api.h.broker.api_tokens(Some("aud")).await.unwrap()[0].0.clone();
    let revoked = call(
        &api,
        &ida,
        &format!("/console/api/tokens/{id}/revoke"),
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(api.h.broker.api_tokens(Some("aud")).await.unwrap().is_empty());
    let again = call(
        &api,
        &ida,
        &format!("/console/api/tokens/{id}/revoke"),
        Some(&csrf),
        json!({}),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
}

#[tokio::test]
async fn the_admin_page_warns_before_the_posture_baseline_expires_and_says_when_it_has() {
    let mut opts = crate::support::Options::default();
    opts.settings.posture.baseline_origin = "imported (test)".into();
    opts.settings.posture.baseline = Some((
        crate::posture::signed_baseline(),
        crate::posture::baseline_key().verifying_key(),
    ));
    let api = Api::on(crate::support::Harness::with(crate::support::Db::Sqlite, opts).await);
    let (ida, _) = staff(&api, "ida").await;
    let fine = get(&api, &ida, "/console/admin").await;
    assert!(fine.body.contains("imported (test)"), "{}", fine.body);
    assert!(!fine.body.contains("data-baseline"), "no warning a month ahead");

    // The test baseline is valid until 2026-12-31: five days before, the page warns.
    let until = time::macros::datetime!(2026-12-31 00:00 UTC);
    api.h
        .clock
        .advance(until - time::Duration::days(5) - api.h.broker.now());
    // (A console session lasts hours: ida signs in again after the clock's jump.)
    let (ida, _) = staff(&api, "ida").await;
    let soon = get(&api, &ida, "/console/admin").await;
    assert!(soon.body.contains(r#"data-baseline="expiring""#), "{}", soon.body);
    assert!(soon.body.contains("(5 days left)"), "{}", soon.body);

    api.h.clock.advance(time::Duration::days(6));
    let (ida, _) = staff(&api, "ida").await;
    let expired = get(&api, &ida, "/console/admin").await;
    assert!(
        expired.body.contains(r#"data-baseline="unusable""#),
        "{}",
        expired.body
    );
    assert!(expired.body.contains("the baseline expired"), "{}", expired.body);
}

#[tokio::test]
async fn staff_see_alerts_and_acknowledge_them_on_the_alerts_page() {
    let mut opts = crate::support::Options::default();
    opts.settings.anomaly.burst_threshold = 2;
    let api = Api::on(crate::support::Harness::with(crate::support::Db::Sqlite, opts).await);
    let ana = api.h.person("ana").await;
    for _ in 0..2 {
        let _ = api
            .h
            .broker
            .create_request(&ana, crate::support::ask("db", "OPS-404", "1h"))
            .await;
    }
    let (ida, csrf) = staff(&api, "ida").await;
    let page = get(&api, &ida, "/console/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for words in [
        "Alerts (1 new)",
        "refusal_burst",
        "2 refused requests or sign-ins within 10 minutes",
        "/acknowledge",
        "/close",
    ] {
        assert!(page.body.contains(words), "{words} in {}", page.body);
    }
    let id = api
        .h
        .broker
        .alert_list(&Caller::Person(api.h.person("ida").await), true)
        .await
        .unwrap()[0]
        .id;
    let path = format!("/console/api/alerts/{id}/acknowledge");
    let blank = call(&api, &ida, &path, Some(&csrf), json!({ "reason": " " })).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.body);
    let done = call(
        &api,
        &ida,
        &path,
        Some(&csrf),
        json!({ "reason": "looking into it" }),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let after = get(&api, &ida, "/console/alerts").await;
    assert!(after.body.contains("acknowledged by ida"), "{}", after.body);
    let (ben, _) = staff(&api, "ben").await;
    assert_eq!(
        get(&api, &ben, "/console/alerts").await.status,
        StatusCode::FORBIDDEN,
        "approvers do not triage alerts"
    );
}

#[tokio::test]
async fn auditors_filter_the_log_see_it_verify_and_download_signed_evidence() {
    let api = Api::new(true).await;
    let grant = api.h.granted("db", "OPS-1", "1h").await;
    let (aud, _) = staff(&api, "aud").await;

    let all = get(&api, &aud, "/console/audit").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains("The audit chain verifies"), "{}", all.body);
    let issued = get(&api, &aud, "/console/audit?action=grant.issued").await;
    assert!(
        issued
            .body
            .contains(&format!("/console/audit/evidence/{grant}.json")),
        "{}",
        issued.body
    );
    assert!(
        !issued.body.contains("passkey.enrolled"),
        "only the action asked for"
    );
    let none = get(&api, &aud, "/console/audit?action=grant.issued&to=2000-01-01").await;
    assert!(!none.body.contains(&grant.to_string()), "nothing that early");
    assert_eq!(
        get(&api, &aud, "/console/audit?from=yesterday").await.status,
        StatusCode::BAD_REQUEST
    );

    // The evidence file is signed with the broker's key: whoever holds that key can check it.
    let file = get(&api, &aud, &format!("/console/audit/evidence/{grant}.json")).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert!(file.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(&format!("evidence-{grant}.json")));
    let signed: daypass_proto::signed::Signed<daypass_broker_core::EvidenceBundle> =
        serde_json::from_str(&file.body).unwrap();
    let bundle = signed.verify(&api.h.broker.verifying_key()).unwrap();
    assert_eq!(bundle.grant.grant.id, grant);
    assert_eq!(bundle.request.ticket, "OPS-1");
    let mut forged: Value = serde_json::from_str(&file.body).unwrap();
    forged["payload"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"{}"
    ));
    let forged: daypass_proto::signed::Signed<daypass_broker_core::EvidenceBundle> =
        serde_json::from_value(forged).unwrap();
    assert!(forged.verify(&api.h.broker.verifying_key()).is_err());

    // An edited entry shows at once.
    api.h
        .exec("UPDATE audit_log SET actor = 'person:nobody' WHERE seq = 2")
        .await;
    let broken = get(&api, &aud, "/console/audit").await;
    assert!(
        broken.body.contains("The audit chain does not verify"),
        "{}",
        broken.body
    );
    assert!(broken.body.contains("entry 2"), "{}", broken.body);

    // Nobody else reads it.
    let (ben, _) = staff(&api, "ben").await;
    assert_eq!(
        get(&api, &ben, "/console/audit").await.status,
        StatusCode::FORBIDDEN
    );
    let evidence = get(&api, &ben, &format!("/console/audit/evidence/{grant}.json")).await;
    assert_eq!(evidence.status, StatusCode::FORBIDDEN);
}

/// Access reviews on the pages: approvers go through their items (one answer, then many kept at once
/// after a fresh passkey), the admin opens a campaign, auditors see it and download its signed evidence.
#[tokio::test]
async fn approvers_answer_access_reviews_on_their_page_and_auditors_download_the_evidence() {
    use daypass_broker_core::domain::review::{OnDeadline, ReviewScope};
    let api = Api::new(true).await;
    let grant = api.h.granted("db", "OPS-1", "1h").await;
    let deadline = api.h.broker.now() + time::Duration::days(14);
    let opened = api
        .h
        .broker
        .open_review_as(
            "cli:root",
            daypass_broker_core::CampaignSpec {
                name: "Q1 contractors".into(),
                scope: ReviewScope::Contractors,
                deadline,
                on_deadline: OnDeadline::Remove,
            },
        )
        .await
        .unwrap();
    let (mut ben, ben_csrf) = staff(&api, "ben").await;
    let page = get(&api, &ben, "/console/reviews").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for words in [
        "Q1 contractors — 2 waiting",
        "ANA (ana)",
        "tag:db:staging",
        "resource:prod",
        "Keep selected with passkey",
        r#"href="/console/reviews""#,
        "<kbd>y</kbd> keep",
    ] {
        assert!(page.body.contains(words), "{words:?} missing from {}", page.body);
    }
    assert_eq!(page.body.matches("data-item=").count(), 2);
    let ids = get(&api, &ben, "/console/api/reviews").await.json();
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    assert_eq!(ids.len(), 2);
    let (prod, dba) = (&ids[0], &ids[1]);

    let answer = |id: &str| format!("/console/api/reviews/items/{id}");
    let unreasoned = call(
        &api,
        &ben,
        &answer(dba),
        Some(&ben_csrf),
        json!({ "verdict": "remove", "reason": " " }),
    )
    .await;
    assert_eq!(unreasoned.status, StatusCode::BAD_REQUEST, "{}", unreasoned.body);
    let forged = call(
        &api,
        &ben,
        &answer(dba),
        None,
        json!({ "verdict": "remove", "reason": "done" }),
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "no CSRF token: {}",
        forged.body
    );
    let removed = call(
        &api,
        &ben,
        &answer(dba),
        Some(&ben_csrf),
        json!({ "verdict": "remove", "reason": "migration over" }),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert!(removed.json()["message"].as_str().unwrap().contains("has ended"));
    let viewer = Caller::Person(api.h.person("ida").await);
    assert!(api
        .h
        .broker
        .grant_view(&viewer, grant)
        .await
        .unwrap()
        .end_reason
        .unwrap()
        .contains("migration over"));

    // Many at once need a fresh passkey confirmation.
    api.h.clock.advance(time::Duration::minutes(6));
    let keep = json!({ "items": [prod], "reason": "on call" });
    let stale = call(
        &api,
        &ben,
        "/console/api/reviews/keep",
        Some(&ben_csrf),
        keep.clone(),
    )
    .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN, "{}", stale.body);
    let stepped = ceremony(&api, &mut ben, "step-up", Some(&ben_csrf), json!({})).await;
    assert_eq!(stepped.status, StatusCode::OK, "{}", stepped.body);
    let kept = call(&api, &ben, "/console/api/reviews/keep", Some(&ben_csrf), keep).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.json()["message"], "Kept 1 items.");
    assert!(get(&api, &ben, "/console/reviews")
        .await
        .body
        .contains("Nothing waits for your review"));

    // Not an approver: the page says who it is for.
    let (ida, ida_csrf) = staff(&api, "ida").await;
    assert_eq!(
        get(&api, &ida, "/console/reviews").await.status,
        StatusCode::FORBIDDEN
    );
    let admin = get(&api, &ida, "/console/admin").await;
    assert!(
        admin.body.contains("Open review with passkey") && admin.body.contains("Q1 contractors"),
        "{}",
        admin.body
    );
    assert!(admin.body.contains("2 of 2"), "{}", admin.body);
    let bad = call(
        &api,
        &ida,
        "/console/api/reviews",
        Some(&ida_csrf),
        json!({ "name": "Q2", "scope": "everyone", "deadline": "2099-01-31", "on_deadline": "remove" }),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.json()["detail"].as_str().unwrap().contains("company:NAME"));
    let second = call(&api, &ida, "/console/api/reviews", Some(&ida_csrf), json!({ "name": "dba group", "scope": "group:dba", "deadline": "2099-01-31", "on_deadline": "keep-and-flag" })).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(
        second.json()["message"].as_str().unwrap().contains("1 items"),
        "ana's prod access only: dba was removed"
    );

    // Auditors see the campaigns and download each one's signed evidence; approvers do not.
    let (aud, _) = staff(&api, "aud").await;
    assert!(get(&api, &aud, "/console/audit")
        .await
        .body
        .contains("Q1 contractors"));
    let path = format!("/console/reviews/{}/evidence.json", opened.campaign.id);
    let file = get(&api, &aud, &path).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert!(file.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("review-"));
    let signed: daypass_proto::signed::Signed<daypass_broker_core::ReviewEvidence> =
        serde_json::from_str(&file.body).unwrap();
    let evidence = signed.verify(&api.h.broker.verifying_key()).unwrap();
    let outcomes: Vec<_> = evidence
        .items
        .iter()
        .map(|i| (i.entitlement.as_str(), i.outcome, i.bulk))
        .collect();
    use daypass_broker_core::domain::review::Outcome;
    assert_eq!(
        outcomes,
        [
            ("ana-prod", Outcome::Kept, true),
            ("dba", Outcome::Removed, false)
        ]
    );
    assert_eq!(get(&api, &ben, &path).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reports_show_this_weeks_figures_and_twelve_weeks_of_them() {
    let api = Api::new(true).await;
    api.h.granted("db", "OPS-1", "1h").await;
    api.h.clock.advance(time::Duration::days(15));
    api.h.granted("db", "OPS-1", "1h").await;
    api.h.granted("db", "OPS-2", "2h").await;

    let weeks = api.h.broker.weekly_reports(12).await.unwrap();
    assert_eq!(weeks.len(), 12);
    let issued: Vec<u64> = weeks.iter().map(|w| w.grants_issued).collect();
    assert_eq!(issued[11], 2, "this week: {issued:?}");
    assert_eq!(issued[9], 1, "two weeks before this one: {issued:?}");
    assert_eq!(issued.iter().sum::<u64>(), 3);
    assert!(
        (weeks[11].average_grant_seconds - 5400.0).abs() < 1.0,
        "1 h and 2 h"
    );
    assert_eq!(weeks[11].stale_accounts, 0, "ana asked this week");

    let (ida, _) = staff(&api, "ida").await;
    let page = get(&api, &ida, "/console/reports").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.matches("<rect").count(), 12, "{}", page.body);
    assert!(page.body.contains("3 in all"), "{}", page.body);
    assert!(
        page.body.contains("<dt>Grants issued</dt><dd>2</dd>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<dd>1 h 30 min</dd>"), "{}", page.body);
    let (ana, _) = staff(&api, "ana").await;
    assert_eq!(
        get(&api, &ana, "/console/reports").await.status,
        StatusCode::FORBIDDEN
    );
}

/// A chat server's incoming webhook on loopback: what was posted to it arrives on the channel.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook/secret-part",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook/secret-part", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn approvers_hear_of_a_waiting_request_on_a_slack_compatible_webhook() {
    let (url, mut posted) = webhook_receiver().await;
    let mut opts = crate::support::Options::default();
    opts.settings.approval_webhook = Some(daypass_broker_core::Notifier::new(url.into()).unwrap());
    let h = crate::support::Harness::with(crate::support::Db::Sqlite, opts).await;

    // Auto-approved: nobody needs to hear of it.
    h.granted("db", "OPS-1", "1h").await;
    let waiting = h.request("prod", "OPS-1", "90m").await;
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), posted.recv())
        .await
        .expect("the webhook was called")
        .unwrap();
    let text = body["text"].as_str().unwrap();
    for words in [
        "ANA (Acme Contracting) asks for prod for 1 h 30 min on OPS-1",
        "migrate the schema",
        &format!(
            "<https://localhost:8443/console/approvals#r-{}|Review it>",
            waiting.id
        ),
    ] {
        assert!(text.contains(words), "{words:?} missing from {text}");
    }
    assert!(
        posted.try_recv().is_err(),
        "one message, for the waiting request only"
    );
}
