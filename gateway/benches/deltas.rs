//! Benchmark: one new grant or one revocation, from the broker to the gateway's kernel, with 10,000
//! and then 50,000 live grants on the gateway. A real broker (SQLite, HTTPS, its gateway stream with
//! deltas) and the gateway's own link, agent, `nft -i` (in a namespace of the benchmark's own) and
//! `wireguard-go`; the agent also writes its state file after each change, as `daypass-gateway` does.
//! Each change is timed from the broker's commit (its wake-up of gateway streams, stamped by a
//! thread of the benchmark's own) to the nftables entry and WireGuard peer applied, and also from
//! the start of the broker call (so the decision itself is counted). Prints
//! `RESULT grants=N change_p99_ms=…` (from the commit) and the call-based p99s beside it.
//! Run as root: `cargo bench -p daypass-gateway --bench deltas`

// A benchmark: a failed step is a failed run.
#![allow(clippy::unwrap_used)]

#[path = "../../broker/benches/support/org.rs"]
mod org;

use daypass_broker::server::RunningServer;
use daypass_broker_core::Broker;
use daypass_e2e::measure::{ms, rss_mib, summary};
use daypass_gateway::agent::{Agent, PeerTable};
use daypass_gateway::firewall::{startup_script, Firewall, Nft};
use daypass_gateway::keeper::{Keeper, Taken, JOURNAL_LIMIT};
use daypass_gateway::link::{self, LinkStatus, StreamEvent};
use daypass_gateway::nft_session::NftSession;
use daypass_gateway::store::StateFile;
use daypass_gateway::verify::Source;
use daypass_gateway::wireguard::WireGuard;
use daypass_proto::api::{CreateAccessRequest, RequestStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use wireguard_control::{Backend, Key};

const SIZES: [usize; 2] = [10_000, 50_000];
/// Grants per contractor: each has this many devices, one grant each.
const DEVICES_EACH: usize = 100;
/// Changes measured per size: this many new grants, each revoked again.
const OPS: usize = 200;
const NS: &str = "dp-bench-delta";
const IFACE: &str = "dpbenchdl";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in SIZES {
        runtime.block_on(run(n));
    }
}

fn ask(p: usize, d: usize) -> CreateAccessRequest {
    CreateAccessRequest {
        device: format!("c{p}-d{d}"),
        resources: vec!["db".into()],
        ticket: format!("T-{p}"),
        reason: "benchmark".into(),
        duration: "8h".into(),
    }
}

/// A broker with `people` contractors of `DEVICES_EACH` devices each (and one spare), one gateway and
/// one resource.
async fn seed(b: &Broker, people: usize) {
    org::seed_org(b, &[("gw", "db", "10.20.0.10")]).await.unwrap();
    for p in 0..people {
        let devices: Vec<(String, String)> = (0..=DEVICES_EACH)
            .map(|d| (format!("c{p}-d{d}"), org::device_key(p * (DEVICES_EACH + 1) + d)))
            .collect();
        org::contractor(b, &format!("c{p}"), &format!("T-{p}"), &devices)
            .await
            .unwrap();
    }
}

/// Issues one grant per device `0..DEVICES_EACH` of every contractor, 64 at a time.
async fn grant_all(b: &Broker, people: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..people {
        let person = b.person(&format!("c{p}")).await.unwrap().unwrap();
        for d in 0..DEVICES_EACH {
            if tasks.len() >= 64 {
                tasks.join_next().await.unwrap().unwrap();
            }
            let (b, person) = (b.clone(), person.clone());
            tasks.spawn(async move {
                let v = b.create_request(&person, ask(p, d)).await.unwrap();
                assert_eq!(v.status, RequestStatus::Granted);
            });
        }
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
}

/// The firewall, timing each update.
struct TimedFirewall(NftSession, std::sync::Mutex<Duration>);

impl Firewall for TimedFirewall {
    fn apply(&self, script: &str) -> Result<(), daypass_gateway::firewall::FirewallError> {
        let t = Instant::now();
        let r = self.0.apply(script);
        *self.1.lock().unwrap() += t.elapsed();
        r
    }
}

/// The WireGuard peers, timing each update.
struct TimedPeers(WireGuard, Duration);

impl PeerTable for TimedPeers {
    fn apply(&mut self, changes: &daypass_gateway::plan::Changes) -> Result<(), String> {
        let t = Instant::now();
        let r = PeerTable::apply(&mut self.0, changes);
        self.1 += t.elapsed();
        r
    }
}

/// What the agent thread tells the benchmark after each event it enforced.
struct Applied {
    /// Of the enforcing: nftables, and the WireGuard peers (applied side by side).
    nft: Duration,
    wg: Duration,
    /// When the event came off the broker's stream, and when it was enforced.
    received: Instant,
    at: Instant,
    added: usize,
    removed: usize,
    full: bool,
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
async fn run(n: usize) {
    let people = n / DEVICES_EACH;
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let broker = org::open_broker(&dir.path().join("b.db"), key).await.unwrap();
    let t0 = Instant::now();
    seed(&broker, people).await;
    grant_all(&broker, people).await;
    println!("{n} grants: seeded in {:.0} s", t0.elapsed().as_secs_f64());
    let (_, gw_token) = broker
        .put_gateway(
            "bench",
            "gw",
            "127.0.0.1:51820",
            &Key::generate_private().get_public().to_base64(),
        )
        .await
        .unwrap();
    let id = daypass_broker::tls::identity(None, dir.path(), &["localhost".into()]).unwrap();
    let server = RunningServer::start(broker.clone(), "127.0.0.1:0".parse().unwrap(), Some(&id), None)
        .await
        .unwrap();

    // The gateway: a namespace with wireguard-go and the firewall table, the agent on a thread of
    // its own (its applies block, as in daypass-gateway's loop).
    let _ns = daypass_e2e::net::WireGuardNamespace::create(NS, IFACE);
    Nft::in_namespace(NS)
        .apply(&startup_script(IFACE, false))
        .unwrap();
    let wg = WireGuard::new(IFACE, Backend::Userspace).unwrap();
    wg.configure(&Key::generate_private().to_base64(), 51998).unwrap();
    let (event_tx, mut event_rx) = mpsc::channel::<StreamEvent>(64);
    let (applied_tx, mut applied_rx) = mpsc::unbounded_channel::<Applied>();
    let key = broker.verifying_key();
    let state_dir = tempfile::tempdir().unwrap();
    let file = StateFile::in_dir(state_dir.path());
    let agent_thread = std::thread::spawn(move || {
        let nft = TimedFirewall(NftSession::in_namespace(NS), Default::default());
        let mut peers = TimedPeers(wg, Duration::ZERO);
        let mut agent = Agent::new("gw", key, vec![]);
        let (mut saves, mut whole_states) = (Vec::new(), 0);
        let mut keeper = Keeper::start(file);
        while let Some(event) = event_rx.blocking_recv() {
            let received = Instant::now();
            *nft.1.lock().unwrap() = Duration::ZERO;
            peers.1 = Duration::ZERO;
            let now = time::OffsetDateTime::now_utc();
            let (outcome, full) = match &event {
                StreamEvent::State(s) => (agent.receive(s, Source::Broker, now, &nft, &mut peers), true),
                StreamEvent::Delta(d) => (
                    agent.receive_delta(d, Source::Broker, now, &nft, &mut peers),
                    false,
                ),
            };
            let o = outcome.unwrap();
            let at = Instant::now();
            let _ = applied_tx.send(Applied {
                nft: *nft.1.lock().unwrap(),
                wg: peers.1,
                received,
                at,
                added: o.changes.add_allows.len(),
                removed: o.changes.remove_allows.len(),
                full,
            });
            // Kept as daypass-gateway keeps it: by the keeper's own thread.
            let t = Instant::now();
            let mut taken = Taken::default();
            match event {
                StreamEvent::State(_) => {
                    whole_states += 1;
                    taken.whole();
                }
                StreamEvent::Delta(d) => taken.delta(d),
            }
            keeper.keep(taken, &agent);
            saves.push(t.elapsed());
        }
        keeper.finish();
        (saves, whole_states)
    });
    let (status_tx, _status) = watch::channel(LinkStatus::Connecting);
    let brokers =
        daypass_https::Brokers::parse(&format!("https://localhost:{}", server.addr.port())).unwrap();
    // The gateway's own client: no overall timeout (the stream stays open).
    let client = daypass_https::BrokerArgs {
        url: String::new(),
        broker_key: String::new(),
        broker_ca: Some(id.cert.clone()),
    }
    .client()
    .unwrap();
    let link = tokio::spawn(link::run(
        client,
        brokers,
        "/api/v1/gateway/stream?deltas=true".into(),
        gw_token,
        event_tx,
        status_tx,
        Arc::new(Notify::new()),
    ));
    let t0 = Instant::now();
    let first = applied_rx.recv().await.unwrap();
    assert!(
        first.full && first.added == n,
        "the first state holds every grant: {} of {n}",
        first.added
    );
    println!(
        "{n} grants: whole state received and loaded (nftables, WireGuard peers) in {:.1} s; RSS {:.0} MiB",
        (first.at - t0).as_secs_f64(),
        rss_mib("self")
    );

    // The moment each change commits: the broker wakes gateway streams right after its commit; a
    // thread of its own (not a task that could wait for the runtime) stamps each wake-up.
    let (commit_tx, commits) = std::sync::mpsc::channel::<Instant>();
    let mut woken = broker.gateway_changes();
    std::thread::spawn(move || {
        while woken.blocking_recv().is_ok() {
            if commit_tx.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    let committed = || {
        commits
            .recv_timeout(Duration::from_secs(10))
            .expect("the change committed")
    };

    // One new grant, then its revocation, OPS times; each waits for the one before to be applied
    // (and the state file written) so changes are timed one at a time.
    let admin = "cli:bench";
    let person = broker.person("c0").await.unwrap().unwrap();
    let (mut issued, mut revoked) = (Vec::new(), Vec::new());
    let mut steps = Steps::default();
    for _ in 0..OPS {
        let t = Instant::now();
        let v = broker
            .create_request(&person, ask(0, DEVICES_EACH))
            .await
            .unwrap();
        let gid = v.grant_id.unwrap();
        let a = steps.record(t, committed(), next_applied(&mut applied_rx).await);
        assert_eq!((a.added, a.removed, a.full), (1, 0, false));
        issued.push(a.at - t);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let t = Instant::now();
        broker.revoke_as(admin, gid, "benchmark").await.unwrap();
        let a = steps.record(t, committed(), next_applied(&mut applied_rx).await);
        assert_eq!((a.added, a.removed, a.full), (0, 1, false));
        revoked.push(a.at - t);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    summary(
        &format!("{n} grants: one new grant, broker call to kernel applied"),
        issued.clone(),
    );
    summary(
        &format!("{n} grants: one revocation, broker call to kernel applied"),
        revoked.clone(),
    );
    let from_commit = steps.from_commit.clone();
    steps.print(n);
    let calls: Vec<Duration> = issued.iter().chain(&revoked).copied().collect();
    let p99 = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        ms(v[(v.len() * 99 / 100).min(v.len() - 1)])
    };
    link.abort();
    server.shutdown().await.unwrap();
    let (saves, whole_states) = agent_thread.join().unwrap();
    println!("{n} grants: whole states received: {whole_states} (the first at connect; any other is a delta that did not apply)");
    summary(
        &format!("{n} grants: handing a change to the keeper (a snapshot every {JOURNAL_LIMIT} deltas)"),
        saves,
    );
    println!("{n} grants: RSS {:.0} MiB at the end", rss_mib("self"));
    println!(
        "RESULT grants={n} change_p99_ms={:.2} call_to_applied_p99_ms={:.2} grant_call_p99_ms={:.2} revoke_call_p99_ms={:.2}",
        p99(&from_commit),
        p99(&calls),
        p99(&issued),
        p99(&revoked)
    );
}

/// Where each change's time goes.
#[derive(Default)]
struct Steps {
    /// Broker commit to applied: what a gateway can be asked to keep up with.
    from_commit: Vec<Duration>,
    /// Broker call to the event off the stream, and the agent's enforcing of it.
    reach: Vec<Duration>,
    enforce: Vec<Duration>,
    nft: Vec<Duration>,
    wg: Vec<Duration>,
}

impl Steps {
    fn record(&mut self, called: Instant, committed: Instant, a: Applied) -> Applied {
        self.from_commit.push(a.at - committed);
        self.reach.push(a.received - called);
        self.enforce.push(a.at - a.received);
        self.nft.push(a.nft);
        self.wg.push(a.wg);
        a
    }

    fn print(self, n: usize) {
        summary(
            &format!("{n} grants: one grant or revocation, broker commit to kernel applied"),
            self.from_commit,
        );
        summary(
            &format!("{n} grants: … of which broker call to the event at the gateway"),
            self.reach,
        );
        summary(
            &format!("{n} grants: … of which the agent enforcing it"),
            self.enforce,
        );
        summary(&format!("{n} grants: … … of which nftables"), self.nft);
        summary(
            &format!("{n} grants: … … of which WireGuard peers (beside nftables)"),
            self.wg,
        );
    }
}

async fn next_applied(rx: &mut mpsc::UnboundedReceiver<Applied>) -> Applied {
    loop {
        let a = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the change reached the gateway within 10 s")
            .unwrap();
        if a.added + a.removed > 0 {
            return a;
        }
    }
}
