//! Benchmark: a passkey sign-in round trip against a local broker over HTTPS (SQLite): start the
//! ceremony, answer it with a software authenticator (webauthn-authenticator-rs `SoftPasskey`),
//! finish it and get a device-bound session. 200 sign-ins one after another, after one warm-up.
//! Run: `cargo bench -p daypass-broker --bench passkeys`

use anyhow::{Context, Result};
use base64::Engine as _;
use daypass_broker::server::RunningServer;
use daypass_broker_core::clock::SystemClock;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::tickets::{http_client, BuiltinTickets};
use daypass_broker_core::Store;
use daypass_broker_core::{Broker, BrokerSettings, PersonSpec, RelyingParty};
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;

const SIGN_INS: usize = 200;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Result<Value> {
    let resp = client.post(&url).json(&body).send().await?;
    let status = resp.status();
    let value: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status} {value}");
    Ok(value)
}

async fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let origin = format!("https://localhost:{port}");
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let mut settings = BrokerSettings::default();
    settings.passkeys.relying_party = RelyingParty::new("localhost", &origin).map_err(anyhow::Error::msg)?;
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let broker = Broker::new(
        store.clone(),
        key,
        Arc::new(SystemClock),
        Arc::new(BuiltinTickets::new(store)),
        settings,
    );
    broker
        .put_person(
            "bench",
            PersonSpec {
                id: "ana".into(),
                name: "Ana".into(),
                email: "ana@example.com".into(),
                company: "Acme".into(),
                roles: [Role::Contractor].into(),
                groups: Default::default(),
                contract_end: None,
                ticket_identities: Default::default(),
            },
        )
        .await?;
    let id = daypass_broker::tls::identity(None, dir.path(), &["localhost".into()])?;
    let _server = RunningServer::start(
        broker.clone(),
        format!("127.0.0.1:{port}").parse()?,
        Some(&id),
        None,
    )
    .await?;
    let client = http_client(Some(&id.cert))?;
    let api = |path: &str| format!("{origin}/api/v1/passkeys/{path}");
    let at = Url::parse(&origin)?;

    let (invite, _) = broker.invite("bench", "ana", time::Duration::hours(1)).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let device_key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let device = json!({
        "id": "ana-laptop",
        "wireguard_public_key": b64.encode([9u8; 32]),
        "report_public_key": b64.encode(device_key.verifying_key().as_bytes()),
    });
    let mut passkey = SoftPasskey::new(true);
    let verifier = "the-bench-app-code-verifier";
    let code_challenge = daypass_proto::pkce::challenge_of(verifier);
    let challenge = post(
        &client,
        api("enroll/start"),
        json!({ "invite": invite.expose_secret(), "device": device, "code_challenge": code_challenge }),
    )
    .await?;
    let options: CreationChallengeResponse = serde_json::from_value(challenge["options"].clone())?;
    let credential = passkey
        .do_registration(at.clone(), options)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    post(
        &client,
        api("enroll/finish"),
        json!({ "ceremony": challenge["ceremony"], "credential": credential, "code_verifier": verifier }),
    )
    .await?;

    let mut times = Vec::with_capacity(SIGN_INS);
    for i in 0..=SIGN_INS {
        let started = Instant::now();
        let challenge = post(
            &client,
            api("sign-in/start"),
            json!({ "person": "ana", "device": "ana-laptop", "code_challenge": code_challenge }),
        )
        .await?;
        let options: RequestChallengeResponse = serde_json::from_value(challenge["options"].clone())?;
        let credential = passkey
            .do_authentication(at.clone(), options)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let session = post(
            &client,
            api("sign-in/finish"),
            json!({ "ceremony": challenge["ceremony"], "credential": credential, "code_verifier": verifier }),
        )
        .await?;
        session["token"].as_str().context("a session token")?;
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "passkey sign-in round trip (start, software authenticator, finish): median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} sign-ins)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(times[times.len() - 1]),
        times.len()
    );
    Ok(())
}
