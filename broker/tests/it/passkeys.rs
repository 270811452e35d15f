//! Passkeys through the HTTP API with software authenticators (webauthn-authenticator-rs): an invite
//! enrolls a passkey and binds a device, sign-in gives a session bound to that device, approvals need
//! a fresh passkey confirmation; and every attack or mistake is refused with a clear message and
//! recorded in the audit log.

use crate::support::{console_admin, send, Db, Harness, Options};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use daypass_broker_core::{Caller, Forbidden, ServiceError};
use daypass_broker_web::{router, AppState};
use daypass_proto::request_signature;
use ed25519_dalek::SigningKey;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator as _};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

pub(crate) const ORIGIN: &str = "https://localhost:8443";
/// The PKCE code verifier the tests' app keeps (its challenge goes with every start).
const VERIFIER: &str = "a-code-verifier-only-the-app-that-started-knows";

fn code_challenge() -> String {
    daypass_proto::pkce::challenge_of(VERIFIER)
}

pub(crate) struct Api {
    pub(crate) h: Harness,
    pub(crate) app: axum::Router,
}

/// A person's side: their authenticator and the device they bind.
pub(crate) struct Holder {
    person: &'static str,
    device: String,
    device_key: SigningKey,
    authenticator: Box<dyn AuthenticatorBackend>,
    token: Option<String>,
}

pub(crate) fn holder(
    person: &'static str,
    device: &str,
    seed: u8,
    authenticator: Box<dyn AuthenticatorBackend>,
) -> Holder {
    Holder {
        person,
        device: device.into(),
        device_key: SigningKey::from_bytes(&[seed; 32]),
        authenticator,
        token: None,
    }
}

/// The `Host` test requests are sent to (and signed for).
const BROKER_HOST: &str = "broker.test";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

impl Api {
    pub(crate) async fn new(require_step_up: bool) -> Api {
        let mut opts = Options::default();
        opts.settings.passkeys.approvals_require_step_up = require_step_up;
        Api::with(opts).await
    }

    async fn with(opts: Options) -> Api {
        Api::on(Harness::with(Db::Sqlite, opts).await)
    }

    /// The API of a broker set up already.
    pub(crate) fn on(h: Harness) -> Api {
        let app = router(AppState {
            broker: h.broker.clone(),
            ticket_webhook_secret: None,
        });
        Api { h, app }
    }

    pub(crate) async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, value, _) = send(&self.app, req).await;
        (status, value)
    }

    /// A request with a session token, signed by `key` (the device's, or an impostor's).
    async fn as_session(
        &self,
        token: &str,
        key: Option<&SigningKey>,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, BROKER_HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(k) = key {
            req = req.header(
                request_signature::HEADER,
                self.signature(k, token, method, uri, bytes.as_bytes()),
            );
        }
        let (status, value, _) = send(&self.app, req.body(Body::from(bytes)).unwrap()).await;
        (status, value)
    }

    /// A fresh `Daypass-Signature` for one request of `token`'s session, by `key`.
    fn signature(&self, key: &SigningKey, token: &str, method: &str, uri: &str, body: &[u8]) -> String {
        let request = request_signature::Request {
            method,
            host: BROKER_HOST,
            path_and_query: uri,
            token,
            body,
        };
        let at = self.h.broker.now().unix_timestamp();
        request_signature::sign(key, &request, at, &request_signature::nonce(rand::random()))
    }

    pub(crate) async fn invite(&self, person: &str) -> String {
        let (code, _) = self
            .h
            .broker
            .invite("person:ida", person, time::Duration::hours(72))
            .await
            .unwrap();
        code.expose_secret().to_string()
    }

    /// Enrollment up to the challenge.
    pub(crate) async fn enroll_start(&self, code: &str, who: &Holder) -> (StatusCode, Value) {
        let body = json!({
            "invite": code,
            "device": {
                "id": who.device,
                "wireguard_public_key": B64.encode([who.device_key.as_bytes()[0] ^ 1; 32]),
                "report_public_key": B64.encode(who.device_key.verifying_key().as_bytes()),
            },
            "code_challenge": code_challenge(),
        });
        self.post("/api/v1/passkeys/enroll/start", body).await
    }

    /// The whole enrollment; the holder keeps the session token.
    pub(crate) async fn enroll(&self, who: &mut Holder) -> Value {
        let code = self.invite(who.person).await;
        let (status, challenge) = self.enroll_start(&code, who).await;
        assert_eq!(status, StatusCode::OK, "{challenge}");
        let options: CreationChallengeResponse =
            serde_json::from_value(challenge["options"].clone()).unwrap();
        let credential = who.authenticator.do_registration(origin(), options).unwrap();
        let answer =
            json!({ "ceremony": challenge["ceremony"], "credential": credential, "code_verifier": VERIFIER });
        let (status, session) = self.post("/api/v1/passkeys/enroll/finish", answer).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        who.token = session["token"].as_str().map(String::from);
        session
    }

    async fn sign_in_challenge(&self, who: &Holder) -> Value {
        let body = json!({ "person": who.person, "device": who.device, "code_challenge": code_challenge() });
        let (status, challenge) = self.post("/api/v1/passkeys/sign-in/start", body).await;
        assert_eq!(status, StatusCode::OK, "{challenge}");
        challenge
    }

    /// Answers a challenge with the holder's authenticator at `at` (the page's origin).
    fn answer(who: &mut Holder, challenge: &Value, at: &str) -> Value {
        let options: RequestChallengeResponse = serde_json::from_value(challenge["options"].clone()).unwrap();
        let credential = who
            .authenticator
            .do_authentication(Url::parse(at).unwrap(), options)
            .unwrap();
        json!({ "ceremony": challenge["ceremony"], "credential": credential, "code_verifier": VERIFIER })
    }

    async fn sign_in(&self, who: &mut Holder) -> (StatusCode, Value) {
        let challenge = self.sign_in_challenge(who).await;
        let answer = Self::answer(who, &challenge, ORIGIN);
        let (status, session) = self.post("/api/v1/passkeys/sign-in/finish", answer).await;
        if status == StatusCode::OK {
            who.token = session["token"].as_str().map(String::from);
        }
        (status, session)
    }

    async fn me(&self, who: &Holder) -> (StatusCode, Value) {
        self.as_session(
            who.token.as_deref().unwrap(),
            Some(&who.device_key),
            "GET",
            "/api/v1/me",
            None,
        )
        .await
    }

    pub(crate) async fn actions(&self) -> Vec<String> {
        self.h.actions().await
    }
}

pub(crate) fn soft() -> Box<dyn AuthenticatorBackend> {
    Box::new(SoftPasskey::new(true))
}

#[tokio::test]
async fn an_invite_enrolls_a_passkey_binds_the_device_and_sessions_are_bound_to_it() {
    let api = Api::new(true).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    let session = api.enroll(&mut ana).await;
    assert_eq!(session["device"], "ana-desk");
    assert!(session["token"].as_str().unwrap().starts_with("dps_"));
    let (status, me) = api.me(&ana).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(
        me["devices"].as_array().unwrap().contains(&json!("ana-desk")),
        "the device is bound: {me}"
    );

    // Signing in again gives a new session on that device.
    let first = ana.token.clone().unwrap();
    let (status, _) = api.sign_in(&mut ana).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(ana.token.as_deref(), Some(first.as_str()));
    assert_eq!(api.me(&ana).await.0, StatusCode::OK);

    // The token alone, or signed by any other key, is useless.
    let token = ana.token.clone().unwrap();
    let (status, problem) = api.as_session(&token, None, "GET", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("Daypass-Signature"),
        "{problem}"
    );
    let thief = SigningKey::from_bytes(&[99; 32]);
    let (status, problem) = api
        .as_session(&token, Some(&thief), "GET", "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not signed by the device"),
        "{problem}"
    );
    // A signature fits its own request only.
    let signed = |uri: &str, sig: &str| {
        Request::get(uri)
            .header(header::HOST, BROKER_HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(request_signature::HEADER, sig)
            .body(Body::empty())
            .unwrap()
    };
    let sig = api.signature(&ana.device_key, &token, "GET", "/api/v1/grants", b"");
    assert_eq!(
        send(&api.app, signed("/api/v1/me", &sig)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Each signature is taken once: a captured request cannot be sent again.
    let sig = api.signature(&ana.device_key, &token, "GET", "/api/v1/me", b"");
    assert_eq!(send(&api.app, signed("/api/v1/me", &sig)).await.0, StatusCode::OK);
    let (status, problem, _) = send(&api.app, signed("/api/v1/me", &sig)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("sent before"),
        "{problem}"
    );
    // Nor sent to another broker, nor with another session's token.
    let sig = api.signature(&ana.device_key, &token, "GET", "/api/v1/me", b"");
    let elsewhere = Request::get("/api/v1/me")
        .header(header::HOST, "other-broker.test")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(request_signature::HEADER, sig)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&api.app, elsewhere).await.0, StatusCode::UNAUTHORIZED);

    // Signing out ends it.
    let (status, _) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/passkeys/sign-out",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.me(&ana).await.0, StatusCode::UNAUTHORIZED);
    let actions = api.actions().await;
    for a in [
        "passkey.invited",
        "admin.device_added",
        "passkey.enrolled",
        "session.opened",
        "session.ended",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn a_signed_request_one_broker_took_is_refused_by_the_others_on_its_database() {
    let api = Api::on(Harness::with(Db::Postgres, Options::default()).await);
    let other = router(AppState {
        broker: api.h.replica().await,
        ticket_webhook_secret: None,
    });
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    let token = ana.token.clone().unwrap();
    let me = |sig: &str| {
        Request::get("/api/v1/me")
            .header(header::HOST, BROKER_HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(request_signature::HEADER, sig)
            .body(Body::empty())
            .unwrap()
    };
    let sign = || api.signature(&ana.device_key, &token, "GET", "/api/v1/me", b"");
    let replayed = |(status, problem, _): (StatusCode, Value, String)| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("sent before"),
            "{problem}"
        );
    };

    // Both brokers answer to one name: a request either took is refused by both.
    let sig = sign();
    assert_eq!(send(&api.app, me(&sig)).await.0, StatusCode::OK);
    replayed(send(&other, me(&sig)).await);
    replayed(send(&api.app, me(&sig)).await);
    let sig = sign();
    assert_eq!(send(&other, me(&sig)).await.0, StatusCode::OK);
    replayed(send(&api.app, me(&sig)).await);
    replayed(send(&other, me(&sig)).await);

    // Once no broker would take their signatures (a minute either side, a minute more for
    // brokers' clocks), the sweep forgets them; a request signed then is taken as usual.
    assert_eq!(api.h.count("request_nonces").await, 2);
    api.h.clock.advance(time::Duration::seconds(179));
    api.h.broker.sweep().await.unwrap();
    assert_eq!(
        api.h.count("request_nonces").await,
        2,
        "kept for the clock margin"
    );
    api.h.clock.advance(time::Duration::seconds(32));
    api.h.broker.sweep().await.unwrap();
    assert_eq!(api.h.count("request_nonces").await, 0);
    assert_eq!(send(&other, me(&sign())).await.0, StatusCode::OK);
}

#[tokio::test]
async fn invites_are_single_use_and_expire() {
    let api = Api::new(true).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    let code = api.invite("ana").await;
    let (status, challenge) = api.enroll_start(&code, &ana).await;
    assert_eq!(status, StatusCode::OK);
    let options: CreationChallengeResponse = serde_json::from_value(challenge["options"].clone()).unwrap();
    let credential = ana.authenticator.do_registration(origin(), options).unwrap();
    let answer =
        json!({ "ceremony": challenge["ceremony"], "credential": credential, "code_verifier": VERIFIER });
    assert_eq!(
        api.post("/api/v1/passkeys/enroll/finish", answer).await.0,
        StatusCode::OK
    );

    let mut other = holder("ana", "ana-second", 12, soft());
    let (status, problem) = api.enroll_start(&code, &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("already used"),
        "{problem}"
    );

    let late = api.invite("ana").await;
    api.h.clock.advance(time::Duration::hours(73));
    let (status, problem) = api.enroll_start(&late, &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    let (status, problem) = api.enroll_start("dpi_made-up", &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("unknown invite"),
        "{problem}"
    );
    other.token = None;
    assert!(
        api.actions()
            .await
            .iter()
            .filter(|a| *a == "passkey.enroll_refused")
            .count()
            >= 3
    );
}

#[tokio::test]
async fn replayed_expired_foreign_and_unknown_answers_are_refused() {
    let api = Api::new(true).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;

    // Replay: the same answer twice.
    let challenge = api.sign_in_challenge(&ana).await;
    let answer = Api::answer(&mut ana, &challenge, ORIGIN);
    assert_eq!(
        api.post("/api/v1/passkeys/sign-in/finish", answer.clone())
            .await
            .0,
        StatusCode::OK
    );
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("already answered"),
        "{problem}"
    );

    // An answer intercepted on its way back to the app is useless without the app's code verifier,
    // and trying does not use the ceremony up.
    let challenge = api.sign_in_challenge(&ana).await;
    let mut answer = Api::answer(&mut ana, &challenge, ORIGIN);
    for verifier in [json!(null), json!("guessed")] {
        let mut stolen = answer.clone();
        stolen["code_verifier"] = verifier;
        let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", stolen).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("code verifier does not match"),
            "{problem}"
        );
    }
    answer["code_verifier"] = json!(VERIFIER);
    let (status, _) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::OK, "the app itself still finishes it");
    let body = json!({ "person": "ana", "device": "ana-desk", "code_challenge": "plain" });
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/start", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("PKCE"), "{problem}");

    // Too late: the challenge lives five minutes.
    let challenge = api.sign_in_challenge(&ana).await;
    let answer = Api::answer(&mut ana, &challenge, ORIGIN);
    api.h.clock.advance(time::Duration::minutes(6));
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );

    // Another origin (a look-alike page on another port) and another RP ID.
    let challenge = api.sign_in_challenge(&ana).await;
    let answer = Api::answer(&mut ana, &challenge, "https://localhost:9443");
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let mut challenge = api.sign_in_challenge(&ana).await;
    challenge["options"]["publicKey"]["rpId"] = json!("evil.localhost");
    let answer = Api::answer(&mut ana, &challenge, "https://evil.localhost:8443");
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    // A passkey that is not ana's answering her challenge.
    let mut ben = holder("ben", "ben-desk", 21, soft());
    let ben_session = api.enroll(&mut ben).await;
    assert_eq!(ben_session["person"], "ben");
    let (_, bens) = api
        .as_session(
            ben.token.as_deref().unwrap(),
            Some(&ben.device_key),
            "GET",
            "/api/v1/passkeys",
            None,
        )
        .await;
    let mut challenge = api.sign_in_challenge(&ana).await;
    challenge["options"]["publicKey"]["allowCredentials"] =
        json!([{ "type": "public-key", "id": bens[0]["id"] }]);
    let answer = Api::answer(&mut ben, &challenge, ORIGIN);
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    // A sign-in for a device that is not the person's: a challenge like any other (the caller does
    // not learn whose device it is), which no answer finishes; the reason is on record.
    let (status, decoy) = api
        .post(
            "/api/v1/passkeys/sign-in/start",
            json!({ "person": "ana", "device": "ben-desk", "code_challenge": code_challenge() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decoy}");
    // No authenticator holds the decoy's credential; a genuine answer to another challenge of
    // ana's, sent for the decoy, is refused.
    let genuine = api.sign_in_challenge(&ana).await;
    let mut answer = Api::answer(&mut ana, &genuine, ORIGIN);
    answer["ceremony"] = decoy["ceremony"].clone();
    let (status, problem) = api.post("/api/v1/passkeys/sign-in/finish", answer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        api.h
            .refusals()
            .await
            .iter()
            .any(|r| r.contains("not an enrolled device")),
        "the real reason is in the audit log"
    );
    assert!(
        api.actions()
            .await
            .iter()
            .filter(|a| *a == "session.refused")
            .count()
            >= 5
    );
}

/// A software token the test can still reach after handing it to a holder (to copy it).
struct Shared(std::rc::Rc<std::cell::RefCell<SoftToken>>);

impl AuthenticatorBackend for Shared {
    fn perform_register(
        &mut self,
        origin: Url,
        options: webauthn_rs_proto::PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<
        webauthn_rs::prelude::RegisterPublicKeyCredential,
        webauthn_authenticator_rs::error::WebauthnCError,
    > {
        self.0.borrow_mut().perform_register(origin, options, timeout_ms)
    }

    fn perform_auth(
        &mut self,
        origin: Url,
        options: webauthn_rs_proto::PublicKeyCredentialRequestOptions,
        timeout_ms: u32,
    ) -> Result<webauthn_rs::prelude::PublicKeyCredential, webauthn_authenticator_rs::error::WebauthnCError>
    {
        self.0.borrow_mut().perform_auth(origin, options, timeout_ms)
    }
}

#[tokio::test]
async fn a_cloned_authenticator_is_caught_by_its_counter() {
    let api = Api::new(true).await;
    let token = std::rc::Rc::new(std::cell::RefCell::new(SoftToken::new(true).unwrap().0));
    let mut ana = holder("ana", "ana-desk", 11, Box::new(Shared(token.clone())));
    api.enroll(&mut ana).await;
    // A copy of the authenticator (its key and counter) taken after enrollment.
    let copy = SoftToken::from_cbor(&token.borrow().to_cbor().unwrap()).unwrap();
    assert_eq!(api.sign_in(&mut ana).await.0, StatusCode::OK);
    assert_eq!(
        api.sign_in(&mut ana).await.0,
        StatusCode::OK,
        "the counter moves forward"
    );
    ana.authenticator = Box::new(copy);
    let (status, problem) = api.sign_in(&mut ana).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"].as_str().unwrap().contains("cloned"),
        "{problem}"
    );
}

#[tokio::test]
async fn approving_needs_a_fresh_passkey_confirmation_and_never_ones_own_request() {
    let api = Api::new(true).await;
    let view = api.h.request("prod", "OPS-2", "1h").await;
    let approve = format!("/api/v1/requests/{}/approve", view.id);

    // An API token cannot approve.
    let ben_token = api
        .h
        .broker
        .issue_token("test", "ben", "t", time::Duration::days(1))
        .await
        .unwrap();
    let req = Request::post(&approve)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", ben_token.expose_secret()),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, problem, _) = send(&api.app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("passkey confirmation"),
        "{problem}"
    );

    // Ben's fresh sign-in counts; six minutes later it no longer does, until he confirms again.
    let mut ben = holder("ben", "ben-desk", 21, soft());
    api.enroll(&mut ben).await;
    api.h.clock.advance(time::Duration::minutes(6));
    let token = ben.token.clone().unwrap();
    let (status, problem) = api
        .as_session(&token, Some(&ben.device_key), "POST", &approve, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, challenge) = api
        .as_session(
            &token,
            Some(&ben.device_key),
            "POST",
            "/api/v1/passkeys/step-up/start",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    let answer = Api::answer(&mut ben, &challenge, ORIGIN);
    let (status, stepped) = api
        .as_session(
            &token,
            Some(&ben.device_key),
            "POST",
            "/api/v1/passkeys/step-up/finish",
            Some(answer),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stepped}");
    let (status, approved) = api
        .as_session(&token, Some(&ben.device_key), "POST", &approve, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["approvals"][0]["approver"], "ben");

    // Ana, with a valid passkey and a fresh confirmation, still cannot approve her own request.
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    let (status, problem) = api
        .as_session(
            ana.token.as_deref().unwrap(),
            Some(&ana.device_key),
            "POST",
            &approve,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let approvals = api.actions().await;
    assert!(approvals.contains(&"session.stepped_up".to_string()));
}

#[tokio::test]
async fn a_disabled_account_or_revoked_passkey_ends_its_sessions_at_once() {
    let api = Api::new(true).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    let (_, keys) = api.me(&ana).await;
    assert_eq!(keys["id"], "ana");
    let (_, passkeys) = api
        .as_session(
            ana.token.as_deref().unwrap(),
            Some(&ana.device_key),
            "GET",
            "/api/v1/passkeys",
            None,
        )
        .await;
    let id = passkeys[0]["id"].as_str().unwrap().to_string();
    let uri = format!("/api/v1/passkeys/{id}/revoke");
    let (status, revoked) = api
        .as_session(
            ana.token.as_deref().unwrap(),
            Some(&ana.device_key),
            "POST",
            &uri,
            None,
        )
        .await;
    assert_eq!(
        (status, revoked["revoked"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        api.me(&ana).await.0,
        StatusCode::UNAUTHORIZED,
        "its session ended"
    );
    let body = json!({ "person": "ana", "device": "ana-desk", "code_challenge": code_challenge() });
    let (status, decoy) = api.post("/api/v1/passkeys/sign-in/start", body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a challenge like anyone's, which nothing answers: {decoy}"
    );
    assert!(
        api.h.refusals().await.iter().any(|r| r.contains("no passkey")),
        "the real reason is in the audit log"
    );

    let mut ben = holder("ben", "ben-desk", 21, soft());
    api.enroll(&mut ben).await;
    api.h
        .broker
        .set_person_disabled("person:ida", "ben", true, "contract ended")
        .await
        .unwrap();
    let (status, problem) = api.me(&ben).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(problem["detail"].as_str().unwrap().contains("ended"), "{problem}");
}

#[tokio::test]
async fn sensitive_resources_need_a_fresh_passkey_confirmation_kept_as_evidence() {
    let mut opts = Options::default();
    opts.settings.passkeys.step_up_tags = ["env:prod".to_string()].into();
    let api = Api::with(opts).await;
    let body = json!({ "device": "ana-desk", "resources": ["prod"], "ticket": "OPS-2", "reason": "fix", "duration": "1h" });
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    api.h.clock.advance(time::Duration::minutes(6));
    let token = ana.token.clone().unwrap();
    let (status, problem) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/requests",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("sensitive"),
        "{problem}"
    );
    let (_, challenge) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/passkeys/step-up/start",
            None,
        )
        .await;
    let answer = Api::answer(&mut ana, &challenge, ORIGIN);
    let (status, _) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/passkeys/step-up/finish",
            Some(answer),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/requests",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut evidence = None;
    api.h
        .broker
        .export_audit(|e| {
            if e.action == "request.created" {
                evidence = Some(e.details["passkey_step_up"].clone());
            }
            Ok(())
        })
        .await
        .unwrap();
    let evidence = evidence.unwrap();
    assert!(
        evidence["passkey"].is_string() && evidence["at"].is_string(),
        "{evidence}"
    );
}

#[tokio::test]
async fn an_off_hours_alert_demands_a_fresh_passkey_with_the_next_request() {
    use daypass_broker_core::domain::anomaly::{Action, Hours, Rule};
    let mut opts = Options::default();
    // Working hours 13:00-12:00 UTC: the hour after noon, when this test runs, is the one outside.
    opts.settings.anomaly.working_hours = Some(Hours::parse("13-12").unwrap());
    opts.settings
        .anomaly
        .actions
        .insert(Rule::OffHours, Action::StepUp);
    let api = Api::with(opts).await;
    let body = json!({ "device": "ana-desk", "resources": ["db"], "ticket": "OPS-1", "reason": "fix", "duration": "1h" });
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    api.h.clock.advance(time::Duration::minutes(6));
    let token = ana.token.clone().unwrap();
    let device_key = ana.device_key.clone();
    let request =
        |body: Value| api.as_session(&token, Some(&device_key), "POST", "/api/v1/requests", Some(body));
    let (status, created) = request(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let alerts = api
        .h
        .broker
        .alert_list(&Caller::Person(api.h.person("ida").await), true)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].rule, alerts[0].action),
        (Rule::OffHours, Action::StepUp)
    );
    assert_eq!(api.h.person("ana").await.step_up_demanded_by, Some(alerts[0].id));

    let (status, problem) = request(body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("unusual activity"),
        "{problem}"
    );

    let (_, challenge) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/passkeys/step-up/start",
            None,
        )
        .await;
    let answer = Api::answer(&mut ana, &challenge, ORIGIN);
    let (status, _) = api
        .as_session(
            &token,
            Some(&ana.device_key),
            "POST",
            "/api/v1/passkeys/step-up/finish",
            Some(answer),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = request(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        api.h.person("ana").await.step_up_demanded_by,
        None,
        "the demand is met"
    );
    assert!(api
        .h
        .actions()
        .await
        .contains(&"person.step_up_given".to_string()));
}

#[tokio::test]
async fn a_person_revokes_their_own_device_and_its_sessions_stop_others_cannot() {
    let api = Api::new(true).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    let mut ben = holder("ben", "ben-desk", 21, soft());
    api.enroll(&mut ben).await;
    let body = json!({ "reason": "laptop stolen" });
    let (status, _) = api
        .as_session(
            ben.token.as_deref().unwrap(),
            Some(&ben.device_key),
            "POST",
            "/api/v1/devices/ana-desk/revoke",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not ben's device");
    assert_eq!(api.me(&ana).await.0, StatusCode::OK);
    let (status, device) = api
        .as_session(
            ana.token.as_deref().unwrap(),
            Some(&ana.device_key),
            "POST",
            "/api/v1/devices/ana-desk/revoke",
            Some(body),
        )
        .await;
    assert_eq!(
        (status, device["revoked"].clone()),
        (StatusCode::OK, json!(true)),
        "{device}"
    );
    let (status, problem) = api.me(&ana).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
}

fn sign_in_body(person: &str) -> Value {
    json!({ "person": person, "device": "ana-laptop", "code_challenge": code_challenge() })
}

#[tokio::test]
async fn anonymous_sign_in_starts_are_checked_before_anything_is_written_and_limited_per_person() {
    let api = Api::new(false).await;
    let head = api.h.audit_head().await;
    let long = "x".repeat(2000);
    for person in ["ana\u{0}", long.as_str(), "two words"] {
        let (status, body) = api
            .post("/api/v1/passkeys/sign-in/start", sign_in_body(person))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(api.h.audit_head().await, head, "nothing of them recorded");
    assert_eq!(api.h.count("ceremonies").await, 0);
    for _ in 0..20 {
        let (status, body) = api
            .post("/api/v1/passkeys/sign-in/start", sign_in_body("ana"))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "ana has no passkey: a decoy challenge: {body}"
        );
    }
    let (status, body) = api
        .post("/api/v1/passkeys/sign-in/start", sign_in_body("ana"))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _) = api
        .post("/api/v1/passkeys/sign-in/start", sign_in_body("ben"))
        .await;
    assert_eq!(status, StatusCode::OK, "ana's starts do not count against ben");
}

#[tokio::test]
async fn ceremonies_started_from_one_address_are_limited() {
    let api = Api::new(false).await;
    let start = |person: String, from: [u8; 4]| {
        Request::post("/api/v1/passkeys/sign-in/start")
            .header(header::CONTENT_TYPE, "application/json")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                from, 40_000,
            ))))
            .body(Body::from(sign_in_body(&person).to_string()))
            .unwrap()
    };
    let far = [203, 0, 113, 7];
    for i in 0..120 {
        let (status, body, _) = send(&api.app, start(format!("p{i}"), far)).await;
        assert_eq!(status, StatusCode::OK, "an unknown person gets a decoy: {body}");
    }
    let (status, body, _) = send(&api.app, start("p-last".into(), far)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _, _) = send(&api.app, start("p-last".into(), [198, 51, 100, 9])).await;
    assert_eq!(status, StatusCode::OK, "another address has its own count");
    let (status, _, _) = send(&api.app, start("p-last".into(), [127, 0, 0, 1])).await;
    assert_eq!(status, StatusCode::OK, "the broker's own machine is not counted");
}

#[tokio::test]
async fn answered_or_expired_ceremonies_are_forgotten() {
    let api = Api::new(false).await;
    let ana = holder("ana", "ana-desk", 11, soft());
    let code = api.invite("ana").await;
    let (status, body) = api.enroll_start(&code, &ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.h.count("ceremonies").await, 1);
    assert_eq!(
        api.h.broker.forget_spent_ceremonies().await.unwrap(),
        0,
        "still open"
    );
    api.h.clock.advance(time::Duration::minutes(6));
    assert_eq!(api.h.broker.forget_spent_ceremonies().await.unwrap(), 1);
    assert_eq!(api.h.count("ceremonies").await, 0);
}

/// Whether a person exists, has a passkey or owns the device, a sign-in start answers alike.
#[tokio::test]
async fn sign_in_starts_look_alike_whoever_is_named() {
    let api = Api::new(false).await;
    let mut ana = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut ana).await;
    let real = api.sign_in_challenge(&ana).await;
    let start = |person: &str, device: &str| {
        api.post(
            "/api/v1/passkeys/sign-in/start",
            json!({ "person": person, "device": device, "code_challenge": code_challenge() }),
        )
    };
    let shape = |challenge: &Value| {
        let options = &challenge["options"]["publicKey"];
        let mut keys: Vec<String> = options.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let credentials: Vec<Vec<String>> = options["allowCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_object().unwrap().keys().cloned().collect())
            .collect();
        (
            keys,
            credentials,
            options["rpId"].clone(),
            options["timeout"].clone(),
            options["userVerification"].clone(),
        )
    };
    for (person, device) in [("nobody", "ana-desk"), ("ben", "ana-desk"), ("ana", "nowhere")] {
        let (status, decoy) = start(person, device).await;
        assert_eq!(status, StatusCode::OK, "{person}/{device}: {decoy}");
        assert_eq!(shape(&decoy), shape(&real), "{person}/{device}");
    }
    let (_, first) = start("nobody", "ana-desk").await;
    let (_, again) = start("nobody", "ana-desk").await;
    let ids = |c: &Value| c["options"]["publicKey"]["allowCredentials"].clone();
    assert_eq!(
        ids(&first),
        ids(&again),
        "a name's credential ids are as stable as a real person's"
    );
    assert_ne!(
        first["options"]["publicKey"]["challenge"],
        again["options"]["publicKey"]["challenge"]
    );
}

/// An admin cannot take over an account with standing by inviting it and enrolling her own
/// passkey: such an invite needs her fresh passkey confirmation and a second admin's.
#[tokio::test]
async fn an_invite_for_an_account_with_standing_needs_a_second_admin() {
    let api = Api::new(false).await;
    let h = &api.h;
    h.broker
        .put_person(
            "test",
            crate::support::spec("zoe", &[daypass_broker_core::domain::directory::Role::Admin], &[]),
        )
        .await
        .unwrap();
    let now = h.broker.now();
    let ida = console_admin(h.person("ida").await, now, 1);
    let stale_ida = console_admin(h.person("ida").await, now, 60);
    let zoe = console_admin(h.person("zoe").await, now, 1);
    let ttl = time::Duration::hours(1);

    // A contractor without a passkey: an invite as before.
    let (_, plain) = h.broker.invite_as(&ida, "ana", ttl).await.unwrap();
    assert!(plain.second_admin.is_none());

    // ben is an approver: the issuer must have confirmed with her passkey just now…
    let refused = h.broker.invite_as(&stale_ida, "ben", ttl).await.unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::InviteNeedsStepUp(_))),
        "{refused}"
    );
    // …and the invite works only once a second admin confirms it.
    let (code, guarded) = h.broker.invite_as(&ida, "ben", ttl).await.unwrap();
    assert!(guarded
        .second_admin
        .as_ref()
        .unwrap()
        .needed_because
        .contains("approver"));
    let ben = holder("ben", "ben-desk", 21, soft());
    let (status, problem) = api.enroll_start(code.expose_secret(), &ben).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("second administrator"),
        "{problem}"
    );

    let waiting = h.broker.invites_awaiting_second_admin().await.unwrap();
    assert_eq!(waiting.len(), 1);
    let reference = waiting[0].0.clone();
    assert!(
        !code.expose_secret().contains(&reference),
        "the reference is not the code"
    );
    let own = h.broker.confirm_invite(&ida, &reference).await.unwrap_err();
    assert!(
        matches!(own, ServiceError::Forbidden(Forbidden::OwnInvite)),
        "{own}"
    );
    h.broker.confirm_invite(&zoe, &reference).await.unwrap();
    assert!(h.broker.invites_awaiting_second_admin().await.unwrap().is_empty());
    let (status, body) = api.enroll_start(code.expose_secret(), &ben).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions = h.actions().await;
    assert!(
        actions.iter().any(|a| a == "passkey.invite_confirmed"),
        "{actions:?}"
    );
}

/// A passkey enrolled from an invite beside one the person has already is put on record as such
/// (and announced in the chat channel), never added silently.
#[tokio::test]
async fn a_second_passkey_from_an_invite_is_never_silent() {
    let api = Api::new(false).await;
    let mut first = holder("ana", "ana-desk", 11, soft());
    api.enroll(&mut first).await;
    let mut second = holder("ana", "ana-other", 12, soft());
    api.enroll(&mut second).await;
    let mut beside = Vec::new();
    api.h
        .broker
        .export_audit(|e| {
            if e.action == "passkey.enrolled" {
                beside.push(e.details["beside_another"].clone());
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(beside, [json!(false), json!(true)]);
}
