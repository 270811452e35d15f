//! The whole product around a test network: the broker (SQLite) and the gateway agent as processes
//! in the gateway's namespace, an organisation seeded through the broker's admin CLI (ana the
//! contractor entitled to db on auto-approval and to db2 with an approver; ida the admin; abe the
//! approver), and the contractor's `daypass-tunneld` when a test asks for one.

use crate::bins::bin;
use crate::net::{pause, Net, GATEWAY_PORT};
use ed25519_dalek::VerifyingKey;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const BROKER: &str = "https://198.18.0.1:8443";
/// Where a second broker sharing the first one's database listens, when a test starts one.
pub const SECOND_BROKER: &str = "https://198.18.0.1:8444";
/// In a broker data directory: the file naming its PostgreSQL database (else it is SQLite in there).
const DATABASE_FILE: &str = "database-url";
pub const REFUSED: Duration = Duration::from_millis(700);

pub struct Org {
    pub ana_token: String,
    pub ida_token: String,
    pub abe_token: String,
    pub gateway_credential: String,
}

pub fn admin(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["--json", "admin"];
    all.extend_from_slice(args);
    broker_cli(data, &all)
}

/// `daypass-broker ARGS` on the broker data directory `data` (and its database); its output.
pub fn broker_cli(data: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(bin("daypass-broker"))
        .args(["--data-dir", data.to_str().unwrap()])
        .args(database_args(data))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "daypass-broker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--database-file` for a data directory whose database is PostgreSQL.
fn database_args(data: &Path) -> Vec<String> {
    let file = data.join(DATABASE_FILE);
    if file.exists() {
        vec!["--database-file".into(), file.to_string_lossy().into_owned()]
    } else {
        Vec::new()
    }
}

pub fn field(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in the answer"))
        .to_string()
}

/// `daypass-broker review open` of a campaign due at the end of 2099-01-31: its JSON (id, total, …).
pub fn open_review(data: &Path, name: &str, scope: &str, on_deadline: &str) -> serde_json::Value {
    let args = [
        "--json",
        "review",
        "open",
        "--name",
        name,
        "--scope",
        scope,
        "--deadline",
        "2099-01-31",
        "--on-deadline",
        on_deadline,
    ];
    serde_json::from_str(&broker_cli(data, &args)).unwrap()
}

/// A person through the admin CLI, with their roles and groups.
pub fn person(data: &Path, id: &str, company: &str, roles: &[&str], groups: &[&str]) {
    let email = format!("{id}@example.com");
    let mut args = vec![
        "person",
        "add",
        id,
        "--name",
        id,
        "--email",
        &email,
        "--company",
        company,
    ];
    for r in roles {
        args.extend(["--role", r]);
    }
    for g in groups {
        args.extend(["--group", g]);
    }
    admin(data, &args);
}

/// A single-use invite code for `person`, valid for an hour.
pub fn invite_code(data: &Path, person: &str) -> String {
    field(&admin(data, &["invite", person, "--ttl", "1h"]), "invite")
}

/// A broker data directory under `dir`, seeded as `seed_org` does with made-up WireGuard keys, for
/// tests that bring up no tunnel.
pub fn seeded_data(dir: &Path) -> (std::path::PathBuf, Org) {
    let data = dir.join("broker");
    std::fs::create_dir_all(&data).unwrap();
    let org = seed_org(&data, &made_up_key(7), &made_up_key(8));
    (data, org)
}

/// A well-formed WireGuard public key for a peer that never connects.
pub fn made_up_key(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// A TCP resource on port 5432 behind the test gateway.
fn resource(data: &Path, name: &str, address: &str) {
    admin(
        data,
        &[
            "resource",
            "add",
            name,
            "--address",
            address,
            "--protocol",
            "tcp",
            "--ports",
            "5432",
            "--gateway",
            "gw-e2e",
        ],
    );
}

/// Ana may request `resource` for up to an hour under `policy`.
fn entitle_ana(data: &Path, id: &str, resource: &str, policy: &str) {
    let selector = format!("resource:{resource}");
    admin(
        data,
        &[
            "entitlement",
            "add",
            id,
            "--subject",
            "person:ana",
            "--selector",
            &selector,
            "--max",
            "1h",
            "--policy",
            policy,
        ],
    );
}

fn token(data: &Path, person: &str) -> String {
    field(&admin(data, &["token", "issue", person, "--ttl", "1h"]), "token")
}

fn seed(net: &Net, data: &Path) -> Org {
    let gw_pub = net.gateway_private.get_public().to_base64();
    seed_org(data, &gw_pub, &net.client_public.to_base64())
}

/// A broker data directory with the gateway (its WireGuard key given); ana (contractor, device
/// ana-laptop with `client_key`) entitled to db on auto-approval and to db2 with one approver from
/// `approvers`; abe that approver; ida the admin; and ticket OPS-1.
pub fn seed_org(data: &Path, gw_pub: &str, client_key: &str) -> Org {
    let gateway = admin(
        data,
        &[
            "gateway",
            "add",
            "gw-e2e",
            "--endpoint",
            "198.18.0.1:51820",
            "--wireguard-key",
            gw_pub,
        ],
    );
    person(data, "ana", "Acme", &["contractor"], &[]);
    person(data, "ida", "Example", &["admin"], &[]);
    person(data, "abe", "Example", &["approver"], &["approvers"]);
    admin(
        data,
        &[
            "device",
            "add",
            "ana-laptop",
            "--person",
            "ana",
            "--wireguard-key",
            client_key,
        ],
    );
    resource(data, "db", "10.20.0.10");
    resource(data, "db2", "10.20.0.11");
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
            "policy",
            "set",
            "strict",
            "--approvals",
            "1",
            "--approver-group",
            "approvers",
        ],
    );
    entitle_ana(data, "e1", "db", "low");
    entitle_ana(data, "e2", "db2", "strict");
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
        ana_token: token(data, "ana"),
        ida_token: token(data, "ida"),
        abe_token: token(data, "abe"),
        gateway_credential: field(&gateway, "credential"),
    }
}

/// `curl` from the contractor's host to the broker; the token travels in the environment.
pub fn api(
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

pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} did not happen within {limit:?}");
        pause(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The gateway agent's health answer.
pub fn health(net: &Net) -> serde_json::Value {
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

/// Where the broker serves its metrics, in the gateway's namespace.
pub const BROKER_METRICS: &str = "http://127.0.0.1:9464/metrics";
/// Where the gateway agent serves its metrics, beside its health endpoint.
pub const GATEWAY_METRICS: &str = "http://127.0.0.1:9108/metrics";

/// The text a metrics endpoint in the gateway's namespace serves (`BROKER_METRICS`, `GATEWAY_METRICS`).
pub fn scrape(net: &Net, url: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &net.gateway_ns, "curl", "-sSf", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scraping {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The broker and the gateway agent running, with the seeded organisation.
pub struct World {
    pub net: Net,
    pub dir: tempfile::TempDir,
    pub org: Org,
    pub cert: std::path::PathBuf,
    /// The brokers' processes, in the order of `broker_urls`.
    pub brokers: Vec<u32>,
    pub broker_urls: Vec<&'static str>,
    pub agent: u32,
    pub broker_key: String,
}

impl World {
    /// The broker and the agent around the harness's own client tunnel; posture is not the
    /// subject, so the broker does not wait for reports.
    pub fn start() -> World {
        World::boot(
            Net::build(),
            "posture_auto_approve_requires_report = false\n",
            r#"{"required": []}"#,
            None,
        )
    }

    /// Two brokers sharing the database at `database_url` (PostgreSQL), one signing key and one
    /// certificate, and a gateway agent that knows both (the first first); no client tunnel.
    pub fn two_brokers_on(database_url: &str) -> World {
        World::boot(
            Net::build_without_client_tunnel(),
            "posture_auto_approve_requires_report = false\n",
            r#"{"required": []}"#,
            Some(database_url),
        )
    }

    /// The broker and the agent, with the contractor's side left to `daypass-tunneld`: the broker
    /// keeps its default of wanting a fresh posture report to auto-approve, judged by a policy that
    /// requires no check (this machine is a VM without disk encryption).
    pub fn for_tunneld() -> World {
        World::for_tunneld_judging(r#"{"required": []}"#, "")
    }

    /// As `for_tunneld`, with the organisation's posture policy `policy` (JSON) and more broker
    /// settings (TOML lines).
    pub fn for_tunneld_judging(policy: &str, config_extra: &str) -> World {
        World::boot(
            Net::build_without_client_tunnel(),
            &format!("posture_policy = \"POLICY\"\n{config_extra}"),
            policy,
            None,
        )
    }

    /// The broker (two on `database_url` when given, else one on SQLite) and the agent.
    fn boot(net: Net, config_extra: &str, policy_json: &str, database_url: Option<&str>) -> World {
        let mut net = net;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("broker");
        std::fs::create_dir_all(&data).unwrap();
        if let Some(url) = database_url {
            std::fs::write(data.join(DATABASE_FILE), url).unwrap();
        }
        let policy = dir.path().join("posture-policy.json");
        std::fs::write(&policy, policy_json).unwrap();
        let org = seed(&net, &data);
        let broker_urls = match database_url {
            Some(_) => vec![BROKER, SECOND_BROKER],
            None => vec![BROKER],
        };
        let cert = data.join("broker-cert.pem");
        let mut brokers = Vec::new();
        for (i, url) in broker_urls.iter().enumerate() {
            let config = dir.path().join(format!("broker-{i}.toml"));
            // Approvers here approve with API tokens; passkey step-up has its own tests in the broker.
            let toml = format!(
                "tls_names = [\"198.18.0.1\"]\napprovals_require_passkey = false\nmetrics_listen = \"127.0.0.1:{}\"\n{}",
                9464 + i,
                config_extra.replace("POLICY", policy.to_str().unwrap())
            );
            std::fs::write(&config, toml).unwrap();
            let listen = url.trim_start_matches("https://");
            let log = dir.path().join(format!("broker-{i}.log"));
            brokers.push(start_broker(&mut net, &data, &config, listen, &log));
            // One after the other: the first makes the signing key and certificate they share.
            wait_for("the broker listening", Duration::from_secs(20), || {
                cert.exists() && net.connect(listen, REFUSED).is_ok()
            });
        }
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
            brokers,
            broker_urls,
            agent: 0,
            broker_key,
        };
        world.start_agent();
        world
    }

    /// Where the broker is and how to trust it, as the gateway and tunnel service read it.
    fn broker_env(&self) -> [(&'static str, String); 3] {
        [
            ("DAYPASS_BROKER_URL", self.broker_urls.join(",")),
            ("DAYPASS_BROKER_KEY", self.broker_key.clone()),
            ("DAYPASS_BROKER_CA", self.cert.to_string_lossy().into_owned()),
        ]
    }

    /// Starts (or restarts) the gateway agent and waits for its health endpoint.
    pub fn start_agent(&mut self) {
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
        let broker = self.broker_env();
        let mut env: Vec<(&str, &str)> = broker.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.push(("DAYPASS_GATEWAY_TOKEN", self.org.gateway_credential.as_str()));
        let log = self.dir.path().join(format!("gateway-{}.log", self.agent));
        self.agent = self.net.spawn(&g, &args, &env, &log);
        wait_for("the gateway agent answering", Duration::from_secs(20), || {
            !health(&self.net).is_null()
        });
    }

    /// The broker key as a client pins it (here: as the broker gave it at the start of the test).
    pub fn pinned_key(&self) -> VerifyingKey {
        let bytes: [u8; 32] = base64_decode(&self.broker_key).try_into().unwrap();
        VerifyingKey::from_bytes(&bytes).unwrap()
    }

    pub fn kill(pid: u32) {
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    }
}

/// `daypass-broker serve` in the gateway's namespace on `data` (and its database), listening on `listen`.
fn start_broker(net: &mut Net, data: &Path, config: &Path, listen: &str, log: &Path) -> u32 {
    let broker_bin = bin("daypass-broker");
    let mut args = vec![
        broker_bin.to_string_lossy().into_owned(),
        "--data-dir".into(),
        data.to_string_lossy().into_owned(),
    ];
    args.extend(database_args(data));
    args.extend(["serve", "--config", config.to_str().unwrap(), "--listen", listen].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = net.gateway_ns.clone();
    net.spawn(&g, &args, &[], log)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

pub fn until_not_after(grant: &serde_json::Value) -> Duration {
    let left = until(grant["grant"]["not_after"].as_str().unwrap());
    assert!(!left.is_zero(), "the grant ended before the test got there");
    left
}

/// A `daypass-tunneld` in the contractor's namespace, owning the interface the harness left free.
pub struct Tunneld {
    pub pid: u32,
    pub socket: PathBuf,
    pub device: String,
    pub state_dir: PathBuf,
    /// A captured machine whose facts the service reports instead of this one's.
    pub posture_fixture: Option<PathBuf>,
    starts: u32,
}

impl Tunneld {
    /// `daypass --json request` for one resource.
    pub fn request(&self, resource: &str, ticket: &str, duration: &str) -> Ran {
        daypass(
            self,
            &[
                "--json",
                "request",
                "--resource",
                resource,
                "--ticket",
                ticket,
                "--for",
                duration,
                "--reason",
                "e2e",
            ],
            &[],
        )
    }

    /// The session as `daypass --json status` shows it.
    pub fn status(&self) -> serde_json::Value {
        let ran = daypass(self, &["--json", "status"], &[]);
        assert_eq!(ran.code, 0, "status: {}", ran.stderr);
        ran.json()["session"].clone()
    }

    /// Asks for `resource` for `duration`, asserts it is active at once (auto-approved after a
    /// fresh posture report) and returns its `not_after`.
    pub fn granted(&self, resource: &str, duration: &str) -> String {
        let ran = self.request(resource, "OPS-1", duration);
        assert_eq!(ran.code, 0, "request: {} {}", ran.stdout, ran.stderr);
        let session = &ran.json()["session"];
        // Inside the warning window (5 s here) a short grant is `expiring` from the start.
        assert!(
            session["state"] == "active" || session["state"] == "expiring",
            "{session}"
        );
        session["grant"]["not_after"].as_str().unwrap().to_string()
    }
}

/// What a `daypass` command did.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("daypass printed no JSON ({e}): {} {}", self.stdout, self.stderr))
    }
}

impl World {
    /// Starts `daypass-tunneld` for `device`, enrolls the device with the keys it made (as IT does
    /// with what `daypass device` shows) and signs ana in with an API token.
    pub fn start_tunneld(&mut self, device: &str) -> Tunneld {
        self.start_tunneld_reporting(device, None)
    }

    /// As `start_tunneld`, the service reporting the facts of the captured machine in `fixture`.
    pub fn start_tunneld_reporting(&mut self, device: &str, fixture: Option<&Path>) -> Tunneld {
        let t = self.launch_tunneld_reporting(device, fixture);
        let keys = daypass(&t, &["--json", "device"], &[]).json();
        let data = self.dir.path().join("broker");
        admin(
            &data,
            &[
                "device",
                "add",
                device,
                "--person",
                "ana",
                "--wireguard-key",
                keys["wireguard_public_key"].as_str().unwrap(),
                "--report-key",
                keys["report_public_key"].as_str().unwrap(),
            ],
        );
        let login = daypass(&t, &["login"], &[("DAYPASS_TOKEN", &self.org.ana_token)]);
        assert_eq!(login.code, 0, "login: {}", login.stderr);
        t
    }

    /// Starts `daypass-tunneld` for a device the broker does not know yet.
    pub fn launch_tunneld(&mut self, device: &str) -> Tunneld {
        self.launch_tunneld_reporting(device, None)
    }

    fn launch_tunneld_reporting(&mut self, device: &str, fixture: Option<&Path>) -> Tunneld {
        let state_dir = self.dir.path().join(format!("tunneld-{device}"));
        // The socket's directory is open to every user, as /run/daypass is: the service itself
        // decides who may talk to it.
        use std::os::unix::fs::PermissionsExt as _;
        let run = self.dir.path().join(format!("run-{device}"));
        std::fs::create_dir_all(&run).unwrap();
        for dir in [self.dir.path(), run.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        let mut t = Tunneld {
            pid: 0,
            socket: run.join("tunneld.sock"),
            device: device.to_string(),
            state_dir,
            posture_fixture: fixture.map(Path::to_path_buf),
            starts: 0,
        };
        self.restart_tunneld(&mut t);
        t
    }

    /// Starts the service (again, after a kill) and waits for its socket.
    pub fn restart_tunneld(&mut self, t: &mut Tunneld) {
        let _ = std::fs::remove_file(&t.socket);
        let tunneld = bin("daypass-tunneld");
        let (c, iface) = (self.net.client_ns.clone(), self.net.client_wg.clone());
        let args = [
            tunneld.to_str().unwrap(),
            "--device",
            &t.device,
            "--interface",
            &iface,
            "--socket",
            t.socket.to_str().unwrap(),
            "--group",
            "nogroup",
            "--state-dir",
            t.state_dir.to_str().unwrap(),
            "--warning",
            "5s",
        ];
        let log = self
            .dir
            .path()
            .join(format!("tunneld-{}-{}.log", t.device, t.starts));
        t.starts += 1;
        let broker = self.broker_env();
        let mut env: Vec<(&str, &str)> = broker.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(fixture) = t.posture_fixture.as_deref().and_then(Path::to_str) {
            env.push(("DAYPASS_POSTURE_FIXTURE", fixture));
        }
        t.pid = self.net.spawn(&c, &args, &env, &log);
        wait_for("daypass-tunneld listening", Duration::from_secs(10), || {
            t.socket.exists()
        });
    }

    /// Whether the contractor's host has the tunnel interface.
    pub fn client_interface_exists(&self) -> bool {
        std::process::Command::new("ip")
            .args([
                "-n",
                &self.net.client_ns,
                "link",
                "show",
                "dev",
                &self.net.client_wg,
            ])
            .output()
            .unwrap()
            .status
            .success()
    }
}

/// Runs the `daypass` CLI against a tunnel service (the socket is a file: any namespace will do).
pub fn daypass(t: &Tunneld, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let out = std::process::Command::new(bin("daypass"))
        .arg("--socket")
        .arg(&t.socket)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Time left until an RFC 3339 instant (the wall clock: what the kernel and the services use).
pub fn until(rfc3339: &str) -> Duration {
    let at = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap();
    #[allow(clippy::disallowed_methods)]
    let left = at - time::OffsetDateTime::now_utc();
    left.try_into().unwrap_or(Duration::ZERO)
}
