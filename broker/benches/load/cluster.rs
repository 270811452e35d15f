//! The system under load: a PostgreSQL of its own, the organisation seeded into it through the
//! broker's own calls, and the brokers as `daypass-broker serve` processes sharing it (and one data
//! directory: one signing key, one certificate), as IT runs several behind one name.

use crate::org;
use anyhow::{Context, Result};
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::entitlement::Entitlement;
use daypass_broker_core::domain::policy::ApprovalPolicy;
use daypass_broker_core::ResourceSpec;
use daypass_proto::{PortRange, Protocol};
use secrecy::{ExposeSecret as _, SecretString};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN: &str = "bench";

/// Who and what the seeded organisation has, for the load to use.
pub struct Org {
    /// Each contractor's single-use passkey invite, contractor `i` at index `i`.
    pub invites: Vec<SecretString>,
    /// An admin's API token (revokes grants).
    pub admin: SecretString,
    /// An approver's API token (approves requests for `prod…` resources).
    pub approver: SecretString,
    /// Each gateway's stream credential, `gw{i}` at index `i`.
    pub gateways: Vec<SecretString>,
}

/// Contractor `i`'s id, ticket and device.
pub fn contractor(i: usize) -> (String, String, String) {
    (format!("c{i:04}"), format!("T-{i}"), format!("c{i:04}-laptop"))
}

/// Gateway `g` and its two resources: `db{g}` (auto-approved) and `prod{g}` (one approver).
pub fn resources_of(g: usize) -> (String, String, String) {
    (format!("gw{g}"), format!("db{g}"), format!("prod{g}"))
}

/// `devices` contractors with an invite each and an open ticket, `gateways` gateways each with an
/// auto-approved staging database and a production one an approver must approve, an admin and an
/// approver: written into the database at `url` before any broker serves it.
pub async fn seed(url: &str, devices: usize, gateways: usize) -> Result<Org> {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let b = org::open_broker_on(url, key).await?;
    let names: Vec<_> = (0..gateways).map(resources_of).collect();
    let addresses: Vec<String> = (0..gateways).map(|g| format!("10.20.{g}.10")).collect();
    let staging: Vec<(&str, &str, &str)> = names
        .iter()
        .zip(&addresses)
        .map(|((gw, db, _), addr)| (gw.as_str(), db.as_str(), addr.as_str()))
        .collect();
    let credentials = org::seed_org(&b, &staging).await?;
    b.put_policy(
        ADMIN,
        ApprovalPolicy {
            name: "manual".into(),
            auto_approve: None,
            approvals_required: 1,
            approver_group: Some("approvers".into()),
        },
    )
    .await?;
    for (g, (gw, _, prod)) in names.iter().enumerate() {
        b.put_resource(
            ADMIN,
            ResourceSpec {
                name: prod.clone(),
                address: format!("10.30.{g}.10"),
                protocol: Protocol::Tcp,
                ports: vec![PortRange::single(5432)],
                tags: ["env:prod".to_string()].into(),
                gateway: gw.clone(),
                description: String::new(),
            },
        )
        .await?;
    }
    b.put_entitlement(
        ADMIN,
        Entitlement {
            id: "prod".into(),
            subject: "group:contractors".parse().map_err(anyhow::Error::msg)?,
            selector: "tag:env:prod".parse().map_err(anyhow::Error::msg)?,
            max_duration_seconds: 8 * 3600,
            policy: "manual".into(),
        },
    )
    .await?;
    let mut invites = Vec::with_capacity(devices);
    for i in 0..devices {
        let (person, ticket, _) = contractor(i);
        org::contractor(&b, &person, &ticket, &[]).await?;
        let (invite, _) = b.invite(ADMIN, &person, time::Duration::hours(4)).await?;
        invites.push(invite);
    }
    org::person_with(&b, "it-admin", Role::Admin, "it").await?;
    org::person_with(&b, "approver", Role::Approver, "approvers").await?;
    let token = |person: &'static str| b.issue_token(ADMIN, person, "load", time::Duration::days(1));
    let (admin, approver) = (token("it-admin").await?, token("approver").await?);
    Ok(Org {
        invites,
        admin,
        approver,
        gateways: credentials,
    })
}

/// Brokers serving one database.
pub struct BrokerProcesses {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// Their base URLs (`https://localhost:PORT`).
    pub bases: Vec<String>,
    /// The certificate they share, for clients to trust.
    pub cert: PathBuf,
}

impl BrokerProcesses {
    /// Starts `count` brokers on `url`, one after the other (the first makes the key and certificate).
    pub fn start(url: &str, count: usize) -> Result<BrokerProcesses> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("broker");
        std::fs::create_dir_all(&data)?;
        let database = dir.path().join("database-url");
        std::fs::write(&database, url)?;
        let policy = dir.path().join("posture-policy.json");
        std::fs::write(&policy, r#"{"required": []}"#)?;
        let ports: Vec<u16> = (0..count).map(|_| daypass_e2e::net::free_port()).collect();
        let bases: Vec<String> = ports.iter().map(|p| format!("https://localhost:{p}")).collect();
        let mut children = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            // Posture is wanted for auto-approval (a fresh report, judged by a policy every machine
            // meets); passkeys name the first broker as the origin, as one name would.
            let config = dir.path().join(format!("broker-{i}.toml"));
            std::fs::write(
                &config,
                format!(
                    "tls_names = [\"localhost\"]\npasskey_rp_id = \"localhost\"\npasskey_origin = \"{}\"\n\
                     approvals_require_passkey = false\nposture_policy = \"{}\"\n",
                    bases[0],
                    policy.display()
                ),
            )?;
            let log = std::fs::File::create(dir.path().join(format!("broker-{i}.log")))?;
            let child = Command::new(env!("CARGO_BIN_EXE_daypass-broker"))
                .arg("--data-dir")
                .arg(&data)
                .arg("--database-file")
                .arg(&database)
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .context("starting daypass-broker")?;
            children.push(child);
            daypass_e2e::world::wait_for(
                "the broker listening (see its log)",
                Duration::from_secs(30),
                || std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok(),
            );
        }
        Ok(BrokerProcesses {
            cert: data.join("broker-cert.pem"),
            dir,
            children,
            bases,
        })
    }

    /// The end of each broker's log, for a run that failed.
    pub fn print_logs(&self) {
        for i in 0..self.children.len() {
            let log =
                std::fs::read_to_string(self.dir.path().join(format!("broker-{i}.log"))).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            println!("--- broker {i} log (end) ---");
            for line in &lines[lines.len().saturating_sub(20)..] {
                println!("{line}");
            }
        }
    }

    /// Each broker's resident memory, in MiB.
    pub fn rss_mib(&self) -> Vec<f64> {
        self.children
            .iter()
            .map(|c| daypass_e2e::measure::rss_mib(&c.id().to_string()))
            .collect()
    }

    /// The bases starting with the `i`th (counting round): a client's own order of brokers.
    pub fn list_from(&self, i: usize) -> String {
        let n = self.bases.len();
        (0..n)
            .map(|k| self.bases[(i + k) % n].as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for BrokerProcesses {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The key the brokers sign with, as a client pins it.
pub async fn broker_key(client: &reqwest::Client, base: &str) -> Result<ed25519_dalek::VerifyingKey> {
    use base64::Engine as _;
    let answer: serde_json::Value = client
        .get(format!("{base}/api/v1/broker-key"))
        .send()
        .await?
        .json()
        .await?;
    let text = answer["public_key"].as_str().context("a broker key")?;
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(text)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("a 32-byte key"))?;
    Ok(ed25519_dalek::VerifyingKey::from_bytes(&bytes)?)
}

/// A token's text, for the calls that carry it.
pub fn text(secret: &SecretString) -> String {
    secret.expose_secret().to_string()
}
