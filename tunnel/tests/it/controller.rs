//! The controller around a scripted broker and a recording tunnel (the real ones are proven end to
//! end in `tests/`): what it brings up, what it refuses to bring up, and what it keeps across a
//! restart.

use async_trait::async_trait;
use daypass_posture::evaluate::Report;
use daypass_posture::signed_report::ReportClaims;
use daypass_proto::api::{
    AccessRequestView, CeremonyAnswer, Challenge, CreateAccessRequest, EnrollStart, EntitledResource,
    GatewayPeer, GrantStatus, GrantView, Me, RequestStatus, SessionIssued, SignInStart, TicketCheck,
    TicketVerdict,
};
use daypass_proto::ipc::{Answer, ToService};
use daypass_proto::{Grant, GrantDevice, GrantedResource, Problem, Signed};
use daypass_tunnel::broker::{Broker, BrokerError, BrokerResult};
use daypass_tunnel::controller::{Controller, News, Settings};
use daypass_tunnel::device::DeviceKeys;
use daypass_tunnel::interface::{InterfaceError, Tunnel};
use daypass_tunnel::posture_check::PostureSource;
use daypass_tunnel::secrets::SecretStore;
use daypass_tunnel::split::TunnelPlan;
use ed25519_dalek::SigningKey;
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

/// A broker that answers from what the test put in it.
#[derive(Default)]
struct Scripted {
    request: Mutex<Option<AccessRequestView>>,
    grant: Mutex<Option<GrantView>>,
    peer: Mutex<Option<Signed<GatewayPeer>>>,
    reports: Mutex<u32>,
    signed_out: Mutex<u32>,
}

fn refused(kind: &str, detail: &str) -> BrokerError {
    BrokerError::Refused(Problem {
        kind: format!("urn:daypass:problem:{kind}"),
        title: "Forbidden".into(),
        status: 403,
        detail: detail.into(),
    })
}

#[async_trait]
impl Broker for Scripted {
    async fn me(&self, _token: &str) -> BrokerResult<Me> {
        Ok(Me {
            id: "ana".into(),
            name: "Ana".into(),
            company: "Acme".into(),
            roles: vec!["contractor".into()],
            groups: vec![],
            devices: vec!["laptop".into()],
        })
    }
    async fn entitlements(&self, _token: &str) -> BrokerResult<Vec<EntitledResource>> {
        Ok(vec![])
    }
    async fn requests(&self, _token: &str) -> BrokerResult<Vec<AccessRequestView>> {
        Ok(self.request.lock().unwrap().clone().into_iter().collect())
    }
    async fn check_ticket(&self, _token: &str, key: &str) -> BrokerResult<TicketCheck> {
        Ok(TicketCheck {
            key: key.into(),
            verdict: TicketVerdict::Usable,
            message: format!("{key} is open and yours to work on"),
            summary: Some("work".into()),
            status: Some("In Progress".into()),
        })
    }
    async fn create_request(
        &self,
        _token: &str,
        body: &CreateAccessRequest,
    ) -> BrokerResult<AccessRequestView> {
        if body.resources != ["db"] {
            return Err(refused("not-entitled", "ana may not request payroll"));
        }
        Ok(self.request.lock().unwrap().clone().unwrap())
    }
    async fn request(&self, _token: &str, _id: Uuid) -> BrokerResult<AccessRequestView> {
        Ok(self.request.lock().unwrap().clone().unwrap())
    }
    async fn grant(&self, _token: &str, _id: Uuid) -> BrokerResult<GrantView> {
        Ok(self.grant.lock().unwrap().clone().unwrap())
    }
    async fn gateway_peer(&self, _token: &str, _grant: Uuid) -> BrokerResult<Signed<GatewayPeer>> {
        Ok(self.peer.lock().unwrap().clone().unwrap())
    }
    async fn posture_nonce(&self, _token: &str, _device: &str) -> BrokerResult<String> {
        Ok("n".into())
    }
    async fn posture_report(
        &self,
        _token: &str,
        _device: &str,
        _r: &Signed<ReportClaims>,
    ) -> BrokerResult<Report> {
        *self.reports.lock().unwrap() += 1;
        Err(BrokerError::Unreachable("not in this test".into()))
    }
    async fn enroll_start(&self, body: &EnrollStart) -> BrokerResult<Challenge> {
        assert_eq!(body.device.id, "laptop", "the service binds its own device");
        Ok(Challenge {
            ceremony: Uuid::from_u128(77),
            origin: "https://localhost:8443".into(),
            options: serde_json::json!({ "publicKey": { "user": { "name": "ana" } } }),
        })
    }
    async fn enroll_finish(&self, answer: &CeremonyAnswer) -> BrokerResult<SessionIssued> {
        assert_eq!(
            answer.ceremony,
            Uuid::from_u128(77),
            "the answer goes to the ceremony handed out"
        );
        Ok(SessionIssued {
            token: "dps_session".into(),
            person: "ana".into(),
            device: "laptop".into(),
            expires_at: NOW + Duration::hours(12),
        })
    }
    async fn sign_in_start(&self, _body: &SignInStart) -> BrokerResult<Challenge> {
        Err(refused("forbidden", "unknown person or device"))
    }
    async fn sign_in_finish(&self, _answer: &CeremonyAnswer) -> BrokerResult<SessionIssued> {
        Err(refused("forbidden", "not scripted"))
    }
    async fn sign_out(&self, _token: &str) -> BrokerResult<()> {
        *self.signed_out.lock().unwrap() += 1;
        Ok(())
    }
}

/// Records what was asked of the interface.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<String>>>);

impl Tunnel for Recorded {
    fn up(&mut self, plan: &TunnelPlan) -> Result<(), InterfaceError> {
        self.0.lock().unwrap().push(format!("up {}", plan.routes[0]));
        Ok(())
    }
    fn down(&mut self) -> Result<(), InterfaceError> {
        self.0.lock().unwrap().push("down".into());
        Ok(())
    }
}

impl Recorded {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

struct Bench {
    dir: tempfile::TempDir,
    broker_key: SigningKey,
    broker: Arc<Scripted>,
    tunnel: Recorded,
}

fn store(dir: &Path) -> SecretStore {
    SecretStore::Directory(dir.join("secrets"))
}

impl Bench {
    fn new() -> Bench {
        Bench {
            dir: tempfile::tempdir().unwrap(),
            broker_key: SigningKey::from_bytes(&[7; 32]),
            broker: Arc::new(Scripted::default()),
            tunnel: Recorded::default(),
        }
    }

    fn start(&self, now: OffsetDateTime) -> Controller<Scripted, Recorded> {
        let secrets = store(self.dir.path());
        let keys = DeviceKeys::load_or_create(&secrets).unwrap();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../posture/tests/fixtures/debian-12-vm-unencrypted");
        let settings = Settings {
            device: "laptop".into(),
            interface: "dp0".into(),
            broker_url: "https://broker.test".into(),
            broker_key: self.broker_key.verifying_key(),
            state_dir: self.dir.path().to_path_buf(),
            warning: Duration::minutes(10),
            posture_policy: Default::default(),
        };
        let (news, _) = tokio::sync::mpsc::channel(4);
        Controller::start(
            settings,
            self.broker.clone(),
            self.tunnel.clone(),
            secrets,
            keys,
            Arc::new(PostureSource::fixture(&fixture).unwrap()),
            news,
            now,
        )
        .0
    }

    fn device_key(&self) -> String {
        DeviceKeys::load_or_create(&store(self.dir.path()))
            .unwrap()
            .wireguard_public()
    }

    /// A grant for this device (or `key`), signed by `signer`, and the broker's answers for it.
    fn script(&self, status: RequestStatus, key: Option<&str>, signer: &SigningKey, minutes: i64) -> Uuid {
        let grant = Grant {
            id: Uuid::from_u128(9),
            request_id: Uuid::from_u128(1),
            person: "ana".into(),
            device: GrantDevice {
                id: "laptop".into(),
                wireguard_public_key: key.map(String::from).unwrap_or_else(|| self.device_key()),
                tunnel_address: "100.96.0.2/32".into(),
            },
            gateway: "gw".into(),
            resources: vec![GrantedResource::tcp("db", "10.20.0.10", &[5432])],
            ticket: "OPS-1".into(),
            approvals: vec![],
            not_before: NOW,
            not_after: NOW + Duration::minutes(minutes),
        };
        *self.broker.grant.lock().unwrap() = Some(GrantView {
            signed: Signed::sign(&grant, signer),
            grant: grant.clone(),
            status: GrantStatus::Active,
            end_reason: None,
            ended_at: None,
            suspension: None,
            posture_recheck_seconds: None,
        });
        let peer = GatewayPeer {
            name: "gw".into(),
            endpoint: "198.18.0.1:51820".into(),
            wireguard_public_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        };
        *self.broker.peer.lock().unwrap() = Some(Signed::sign(&peer, signer));
        *self.broker.request.lock().unwrap() = Some(AccessRequestView {
            id: grant.request_id,
            requester: "ana".into(),
            device: "laptop".into(),
            resources: vec!["db".into()],
            ticket: "OPS-1".into(),
            reason: "r".into(),
            duration_seconds: minutes * 60,
            status,
            policy: "p".into(),
            approvals_required: 1,
            approvals: vec![],
            created_at: NOW,
            expires_at: NOW + Duration::hours(1),
            denial_reason: None,
            grant_id: (status == RequestStatus::Granted).then_some(grant.id),
        });
        grant.id
    }
}

fn ask_for(resource: &str) -> ToService {
    ToService::Request {
        resources: vec![resource.into()],
        ticket: "OPS-1".into(),
        duration: "1h".into(),
        reason: "r".into(),
    }
}

fn state(answer: &Answer) -> String {
    match answer {
        Answer::Status(s) => serde_json::to_value(&s.session).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string(),
        other => panic!("not a status: {other:?}"),
    }
}

async fn signed_in(b: &Bench) -> Controller<Scripted, Recorded> {
    let c = b.start(NOW);
    let answer = c
        .errand(ToService::Login {
            token: "t0k3n".into(),
        })
        .ok()
        .unwrap()
        .await;
    assert!(matches!(answer, Ok(Answer::SignedIn { .. })), "{answer:?}");
    b.tunnel.take();
    c
}

#[tokio::test]
async fn an_auto_approved_request_brings_the_grant_up_and_the_clock_takes_it_down() {
    let b = Bench::new();
    let mut c = signed_in(&b).await;
    let key = b.broker_key.clone();
    b.script(RequestStatus::Granted, None, &key, 60);
    let answer = c.command(ask_for("db"), NOW).await.unwrap();
    assert_eq!(state(&answer), "active");
    assert_eq!(b.tunnel.take(), vec!["up 10.20.0.10/32"]);
    assert_eq!(
        *b.broker.reports.lock().unwrap(),
        1,
        "a posture report went first"
    );
    c.tick(NOW + Duration::minutes(59));
    assert!(b.tunnel.take().is_empty());
    c.tick(NOW + Duration::minutes(60));
    assert_eq!(b.tunnel.take(), vec!["down"]);
}

#[tokio::test]
async fn nothing_comes_up_for_a_grant_signed_by_another_key_or_for_another_device_key() {
    let b = Bench::new();
    let mut c = signed_in(&b).await;
    b.script(
        RequestStatus::Granted,
        None,
        &SigningKey::from_bytes(&[8; 32]),
        60,
    );
    let refused = c.command(ask_for("db"), NOW).await.unwrap_err();
    assert_eq!(refused.code, "tunnel", "{}", refused.message);
    let key = b.broker_key.clone();
    b.script(
        RequestStatus::Granted,
        Some("c29tZW9uZSBlbHNlJ3Mga2V5IGFuZCBub3QgdGhpcyBvbmU="),
        &key,
        60,
    );
    let refused = c.command(ask_for("db"), NOW).await.unwrap_err();
    assert_eq!(refused.code, "device", "{}", refused.message);
    assert!(b.tunnel.take().iter().all(|a| a == "down"), "never up");
    let refused = c.command(ask_for("payroll"), NOW).await.unwrap_err();
    assert_eq!(refused.code, "not-entitled");
    assert!(refused.message.contains("payroll"));
}

#[tokio::test]
async fn an_approval_heard_later_brings_it_up_and_a_revocation_takes_it_down() {
    let b = Bench::new();
    let mut c = signed_in(&b).await;
    let key = b.broker_key.clone();
    b.script(RequestStatus::Pending, None, &key, 60);
    assert_eq!(
        state(&c.command(ask_for("db"), NOW).await.unwrap()),
        "pending_approval"
    );
    assert!(b.tunnel.take().is_empty());
    b.script(RequestStatus::Granted, None, &key, 60);
    let approved = b.broker.request.lock().unwrap().clone().unwrap();
    c.news(News::Request(Box::new(approved)), NOW).await;
    assert_eq!(b.tunnel.take(), vec!["up 10.20.0.10/32"]);
    let mut ended = b.broker.grant.lock().unwrap().clone().unwrap();
    ended.status = GrantStatus::Revoked;
    ended.end_reason = Some("ticket OPS-1 closed".into());
    c.news(News::Grant(Box::new(ended)), NOW).await;
    assert_eq!(b.tunnel.take(), vec!["down"]);
    assert!(c.status(NOW).session != daypass_proto::ipc::SessionView::Idle);
}

#[tokio::test]
async fn a_hold_is_shown_with_its_fix_and_released_while_the_tunnel_stays_up() {
    let b = Bench::new();
    let mut c = signed_in(&b).await;
    let key = b.broker_key.clone();
    b.script(RequestStatus::Granted, None, &key, 60);
    c.command(ask_for("db"), NOW).await.unwrap();
    assert_eq!(b.tunnel.take(), vec!["up 10.20.0.10/32"]);
    let reports_before = *b.broker.reports.lock().unwrap();
    tokio::spawn(c.rechecker());

    let mut held = b.broker.grant.lock().unwrap().clone().unwrap();
    held.status = GrantStatus::Suspended;
    held.posture_recheck_seconds = Some(300);
    held.suspension = Some(daypass_proto::api::SuspensionView {
        since: NOW,
        reason: "posture_failed".into(),
        detail: "firewall (for the organisation's policy)".into(),
        fix: "Turn on the firewall.".into(),
    });
    c.news(News::Grant(Box::new(held.clone())), NOW).await;
    let shown = serde_json::to_value(c.status(NOW).session).unwrap();
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["suspended"]["fix"], "Turn on the firewall.");
    assert!(b.tunnel.take().is_empty(), "the tunnel stays up while held");
    // The broker watches this grant: the service reports posture on its own.
    for _ in 0..100 {
        if *b.broker.reports.lock().unwrap() > reports_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        *b.broker.reports.lock().unwrap() > reports_before,
        "a report while the grant runs"
    );

    held.status = GrantStatus::Active;
    held.suspension = None;
    c.news(News::Grant(Box::new(held)), NOW).await;
    let shown = serde_json::to_value(c.status(NOW).session).unwrap();
    assert!(shown["suspended"].is_null(), "{shown}");
    assert!(b.tunnel.take().is_empty());
}

#[tokio::test]
async fn a_restart_resumes_a_live_grant_and_closes_an_expired_one() {
    let b = Bench::new();
    let mut c = signed_in(&b).await;
    let key = b.broker_key.clone();
    b.script(RequestStatus::Granted, None, &key, 60);
    c.command(ask_for("db"), NOW).await.unwrap();
    drop(c);
    b.tunnel.take();
    let resumed = b.start(NOW + Duration::minutes(30));
    assert_eq!(
        b.tunnel.take(),
        vec!["down", "up 10.20.0.10/32"],
        "leftovers removed, then up again"
    );
    drop(resumed);
    let _late = b.start(NOW + Duration::minutes(61));
    assert_eq!(b.tunnel.take(), vec!["down"], "an expired grant is never resumed");
}

#[tokio::test]
async fn requests_need_a_sign_in_and_a_readable_duration() {
    let b = Bench::new();
    let mut c = b.start(NOW);
    let refused = c.command(ask_for("db"), NOW).await.unwrap_err();
    assert_eq!(refused.code, "not-signed-in");
    let mut c = signed_in(&b).await;
    let bad = ToService::Request {
        resources: vec!["db".into()],
        ticket: "OPS-1".into(),
        duration: "soon".into(),
        reason: "r".into(),
    };
    assert_eq!(c.command(bad, NOW).await.unwrap_err().code, "bad-request");
}

#[tokio::test]
async fn enrollment_hands_the_challenge_out_and_takes_the_answer_once() {
    let b = Bench::new();
    let c = b.start(NOW);
    let run = |cmd: ToService| c.errand(cmd).ok().unwrap();
    let ceremony = run(ToService::Enroll {
        invite: "dpi_x".into(),
    })
    .await
    .unwrap();
    assert!(matches!(ceremony, Answer::Ceremony { .. }), "{ceremony:?}");
    let credential = serde_json::json!({ "id": "abc" });
    let signed_in = run(ToService::FinishCeremony {
        credential: credential.clone(),
    })
    .await
    .unwrap();
    assert_eq!(signed_in, Answer::SignedIn { person: "ana".into() });
    let again = run(ToService::FinishCeremony { credential }).await.unwrap_err();
    assert_eq!(again.code, "bad-request", "{}", again.message);
    let refused = run(ToService::SignIn {
        person: "nobody".into(),
    })
    .await
    .unwrap_err();
    assert!(refused.message.contains("unknown person"), "{}", refused.message);

    // Signing out ends the passkey session at the broker too.
    let mut c = c;
    c.command(ToService::Logout, NOW).await.unwrap();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*b.broker.signed_out.lock().unwrap(), 1);
    let after = c.command(ask_for("db"), NOW).await.unwrap_err();
    assert_eq!(after.code, "not-signed-in");
}
