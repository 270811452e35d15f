//! The real broker and the real gateway agent, each a process in the gateway's namespace, and a
//! contractor asking for access over HTTPS: the granted port opens once the agent hears of the
//! grant, a revocation closes it at once, a grant still closes at `not_after` after the agent was
//! killed (the kernel's own timeouts), and without the broker the agent (even restarted) keeps
//! enforcing what it holds until `not_after`, never longer.

use daypass_e2e::bins::bin;
use daypass_e2e::net::{echo, pause, Key, Net, GATEWAY_PORT};
use daypass_proto::api::GatewayPeer;
use daypass_proto::Signed;
use ed25519_dalek::VerifyingKey;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

const BROKER: &str = "https://198.18.0.1:8443";
const REFUSED: Duration = Duration::from_millis(700);

struct Org {
    ana_token: String,
    ida_token: String,
    gateway_credential: String,
}

fn admin(data: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(bin("daypass-broker"))
        .args(["--data-dir", data.to_str().unwrap(), "--json", "admin"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn field(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in the answer"))
        .to_string()
}

/// A broker data directory with ana (contractor) entitled to db:5432, ida (admin), the gateway.
fn seed(net: &Net, data: &Path) -> Org {
    let gw_pub = net.gateway_private.get_public().to_base64();
    let gateway = admin(
        data,
        &[
            "gateway",
            "add",
            "gw-e2e",
            "--endpoint",
            "198.18.0.1:51820",
            "--wireguard-key",
            &gw_pub,
        ],
    );
    admin(
        data,
        &[
            "person",
            "add",
            "ana",
            "--name",
            "Ana",
            "--email",
            "ana@example.com",
            "--company",
            "Acme",
            "--role",
            "contractor",
        ],
    );
    admin(
        data,
        &[
            "person",
            "add",
            "ida",
            "--name",
            "Ida",
            "--email",
            "ida@example.com",
            "--company",
            "Example",
            "--role",
            "admin",
        ],
    );
    admin(
        data,
        &[
            "device",
            "add",
            "ana-laptop",
            "--person",
            "ana",
            "--wireguard-key",
            &net.client_public.to_base64(),
        ],
    );
    admin(
        data,
        &[
            "resource",
            "add",
            "db",
            "--address",
            "10.20.0.10",
            "--protocol",
            "tcp",
            "--ports",
            "5432",
            "--gateway",
            "gw-e2e",
        ],
    );
    admin(
        data,
        &[
            "policy",
            "set",
            "low",
            "--auto-approve",
            "--approvals",
            "1",
            "--approver-group",
            "approvers",
        ],
    );
    admin(
        data,
        &[
            "entitlement",
            "add",
            "e1",
            "--subject",
            "person:ana",
            "--selector",
            "resource:db",
            "--max",
            "1h",
            "--policy",
            "low",
        ],
    );
    admin(
        data,
        &[
            "ticket",
            "set",
            "OPS-1",
            "--summary",
            "e2e",
            "--status",
            "In Progress",
            "--assignee",
            "ana",
        ],
    );
    Org {
        ana_token: field(&admin(data, &["token", "issue", "ana", "--ttl", "1h"]), "token"),
        ida_token: field(&admin(data, &["token", "issue", "ida", "--ttl", "1h"]), "token"),
        gateway_credential: field(&gateway, "credential"),
    }
}

/// `curl` from the contractor's host to the broker; the token travels in the environment.
fn api(
    net: &Net,
    cert: &Path,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> serde_json::Value {
    let url = format!("{BROKER}{path}");
    let mut args = vec![
        "curl",
        "-sS",
        "--fail-with-body",
        "--cacert",
        cert.to_str().unwrap(),
        "-X",
        method,
    ];
    let header = format!("Authorization: Bearer {token}");
    args.extend(["-H", &header, "-H", "content-type: application/json"]);
    if let Some(b) = body {
        args.extend(["-d", b]);
    }
    args.push(&url);
    serde_json::from_str(&net.exec(&net.client_ns, &args, &[])).unwrap()
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} did not happen within {limit:?}");
        pause(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The gateway agent's health answer.
fn health(net: &Net) -> serde_json::Value {
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.gateway_ns,
            "curl",
            "-s",
            "http://127.0.0.1:9108/health",
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// The broker and the gateway agent running, with the seeded organisation.
struct World {
    net: Net,
    dir: tempfile::TempDir,
    org: Org,
    cert: std::path::PathBuf,
    broker: u32,
    agent: u32,
    broker_key: String,
}

impl World {
    fn start() -> World {
        let mut net = Net::build();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("broker");
        std::fs::create_dir_all(&data).unwrap();
        let config = dir.path().join("broker.toml");
        // Posture is not this test's subject: the contractor's device sends no reports.
        let toml = "tls_names = [\"198.18.0.1\"]\nposture_auto_approve_requires_report = false\n";
        std::fs::write(&config, toml).unwrap();
        let org = seed(&net, &data);
        let g = net.gateway_ns.clone();
        let broker_bin = bin("daypass-broker");
        let args = [
            broker_bin.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "198.18.0.1:8443",
        ];
        let broker = net.spawn(&g, &args, &[], &dir.path().join("broker.log"));
        let cert = data.join("broker-cert.pem");
        wait_for("the broker listening", Duration::from_secs(20), || {
            cert.exists() && net.connect("198.18.0.1:8443", REFUSED).is_ok()
        });
        let url = format!("{BROKER}/api/v1/broker-key");
        let answer = net.exec(
            &net.client_ns,
            &["curl", "-sS", "--cacert", cert.to_str().unwrap(), &url],
            &[],
        );
        let broker_key = field(&answer, "public_key");
        let mut world = World {
            net,
            dir,
            org,
            cert,
            broker,
            agent: 0,
            broker_key,
        };
        world.start_agent();
        world
    }

    /// Starts (or restarts) the gateway agent and waits for its health endpoint.
    fn start_agent(&mut self) {
        let key_file = self.dir.path().join("gateway.key");
        std::fs::write(&key_file, self.net.gateway_private.to_base64()).unwrap();
        let state_dir = self.dir.path().join("gateway-state");
        let (port, iface, g) = (
            GATEWAY_PORT.to_string(),
            self.net.gateway_wg.clone(),
            self.net.gateway_ns.clone(),
        );
        let gateway_bin = bin("daypass-gateway");
        let args = [
            gateway_bin.to_str().unwrap(),
            "--broker",
            BROKER,
            "--broker-key",
            &self.broker_key,
            "--broker-ca",
            self.cert.to_str().unwrap(),
            "--name",
            "gw-e2e",
            "--interface",
            &iface,
            "--private-key-file",
            key_file.to_str().unwrap(),
            "--listen-port",
            &port,
            "--tunnel-address",
            "100.96.0.1/16",
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--health-listen",
            "127.0.0.1:9108",
        ];
        let env = [("DAYPASS_GATEWAY_TOKEN", self.org.gateway_credential.as_str())];
        let log = self.dir.path().join(format!("gateway-{}.log", self.agent));
        self.agent = self.net.spawn(&g, &args, &env, &log);
        wait_for("the gateway agent answering", Duration::from_secs(20), || {
            !health(&self.net).is_null()
        });
    }

    /// The broker key as a client pins it (here: as the broker gave it at the start of the test).
    fn pinned_key(&self) -> VerifyingKey {
        let bytes: [u8; 32] = base64_decode(&self.broker_key).try_into().unwrap();
        VerifyingKey::from_bytes(&bytes).unwrap()
    }

    fn kill(pid: u32) {
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn until_not_after(grant: &serde_json::Value) -> Duration {
    let not_after = time::OffsetDateTime::parse(
        grant["grant"]["not_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    #[allow(clippy::disallowed_methods)] // the kernel's timers run on the wall clock
    let left = not_after - time::OffsetDateTime::now_utc();
    assert!(left.is_positive(), "the grant ended before the test got there");
    left.try_into().unwrap()
}

/// Requests db for `duration`, waits until the gateway enforces the grant, and brings the
/// contractor's tunnel up for it (as the client service does once the grant is in force).
fn request(
    net: &Net,
    cert: &Path,
    org: &Org,
    broker_key: &VerifyingKey,
    duration: &str,
) -> serde_json::Value {
    let body = format!(
        r#"{{"device":"ana-laptop","resources":["db"],"ticket":"OPS-1","reason":"e2e","duration":"{duration}"}}"#
    );
    let created = api(net, cert, &org.ana_token, "POST", "/api/v1/requests", Some(&body));
    let id = created["grant_id"].as_str().expect("auto-approved").to_string();
    let issued = Instant::now();
    let grant = api(
        net,
        cert,
        &org.ana_token,
        "GET",
        &format!("/api/v1/grants/{id}"),
        None,
    );
    wait_for("the gateway enforcing the grant", Duration::from_secs(5), || {
        health(net)["active_grants"] == 1
    });
    eprintln!(
        "gateway enforcing the grant {:?} after it was issued",
        issued.elapsed()
    );
    net.readdress_client(grant["grant"]["device"]["tunnel_address"].as_str().unwrap());
    // The gateway to talk to comes from the broker, signed with the key the client pinned.
    let path = format!("/api/v1/grants/{id}/gateway");
    let signed: Signed<GatewayPeer> =
        serde_json::from_value(api(net, cert, &org.ana_token, "GET", &path, None)).unwrap();
    let peer = signed
        .verify(broker_key)
        .expect("the gateway peer is signed by the pinned broker key");
    let gateway_key = Key::from_base64(&peer.wireguard_public_key).unwrap();
    net.connect_client_to(&gateway_key, peer.endpoint.parse().unwrap());
    grant
}

#[test]
fn broker_and_gateway_agent_open_revoke_and_expire_access() {
    let w = World::start();
    let net = &w.net;
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(net)["broker"] == "connected",
    );
    assert!(
        net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "nothing flows before a grant"
    );

    // 1. Auto-approved request: the granted port opens, nothing else does.
    let grant = request(net, &w.cert, &w.org, &w.pinned_key(), "1h");
    let mut open = net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");
    assert!(net.connect("10.20.0.10:22", REFUSED).is_err(), "another port");
    assert!(net.connect("10.20.0.11:5432", REFUSED).is_err(), "another host");

    // 2. An admin revokes it: the open connection stops at once.
    let id = grant["grant"]["id"].as_str().unwrap().to_string();
    let revoked = Instant::now();
    let path = format!("/api/v1/grants/{id}/revoke");
    api(
        net,
        &w.cert,
        &w.org.ida_token,
        "POST",
        &path,
        Some(r#"{"reason":"e2e revocation"}"#),
    );
    wait_for("the revoked connection stopping", Duration::from_secs(3), || {
        echo(&mut open, "x", Duration::from_millis(200)).is_err()
    });
    eprintln!(
        "revocation took effect {:?} after the API call",
        revoked.elapsed()
    );
    assert!(net.connect("10.20.0.10:5432", REFUSED).is_err());

    // 3. A short grant, then the agent is killed: the kernel still closes it at not_after.
    let grant = request(net, &w.cert, &w.org, &w.pinned_key(), "8s");
    let mut open = net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");
    World::kill(w.agent);
    pause(until_not_after(&grant) + Duration::from_millis(500));
    assert!(
        echo(&mut open, "again", Duration::from_secs(1)).is_err(),
        "open connection cut at not_after"
    );
    assert!(
        net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "new connections refused after not_after"
    );
}

#[test]
fn without_the_broker_the_agent_enforces_what_it_holds_until_not_after_even_restarted() {
    let mut w = World::start();
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    let grant = request(&w.net, &w.cert, &w.org, &w.pinned_key(), "12s");
    let mut open = w.net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");

    // The broker dies: the agent says so, and access goes on.
    World::kill(w.broker);
    wait_for(
        "the agent noticing the broker is gone",
        Duration::from_secs(5),
        || health(&w.net)["broker"] == "unreachable",
    );
    assert_eq!(echo(&mut open, "still", Duration::from_secs(2)).unwrap(), "still");

    // The agent dies too and comes back without the broker: the grant it kept on disk is enforced
    // again, and the contractor's tunnel session survives (its peer was never removed).
    World::kill(w.agent);
    w.start_agent();
    assert_eq!(health(&w.net)["active_grants"], 1, "{}", health(&w.net));
    assert_eq!(
        echo(&mut open, "after restart", Duration::from_secs(3)).unwrap(),
        "after restart"
    );

    // At not_after it ends, broker or no broker, and the agent removes the peer.
    pause(until_not_after(&grant) + Duration::from_millis(500));
    assert!(
        echo(&mut open, "late", Duration::from_secs(1)).is_err(),
        "cut at not_after"
    );
    wait_for(
        "the agent removing the ended grant",
        Duration::from_secs(3),
        || health(&w.net)["active_grants"] == 0,
    );
    assert!(w.net.connect("10.20.0.10:5432", REFUSED).is_err());
}
