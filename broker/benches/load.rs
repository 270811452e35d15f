//! Load test: 1,000 contractors' devices, each enrolled with a software passkey and a device key
//! of its own, against brokers (`daypass-broker serve` processes, two by default) sharing a durable
//! PostgreSQL, with 10 gateways following the brokers' streams.
//!
//! 1. *Offered*: 1,000 access decisions/s (by default) on a fixed schedule (signed requests from the devices in
//!    turn, auto-approved), latency counted from each request's scheduled time; one grant in 50 is
//!    revoked two seconds after issue and timed until its gateway no longer enforces it. The first
//!    seconds of the schedule warm up (connections opened, caches filled) and are reported apart.
//! 2. *Soak*: every device, every 15 s, renews its access by a new request (one in ten for a
//!    production database an approver approves), its previous grant is revoked, and every fourth
//!    round it reports its posture; the brokers' memory is read every 10 s.
//!
//! Run as root: `cargo bench -p daypass-broker --bench load`; `DAYPASS_LOAD_BROKERS` (2),
//! `DAYPASS_LOAD_OFFERED_PER_SECOND` (1000), `DAYPASS_LOAD_WARMUP_SECONDS` (3),
//! `DAYPASS_LOAD_OFFERED_SECONDS` (30) and `DAYPASS_LOAD_SOAK_SECONDS` (600) change the run.

// A benchmark: a failed step or a poisoned lock ends the run, said where.
#![allow(clippy::unwrap_used)]

#[path = "load/cluster.rs"]
mod cluster;
#[path = "load/devices.rs"]
mod devices;
#[path = "load/gateways.rs"]
mod gateways;
// Shared with the other benchmarks, which open SQLite through `open_broker`; this one does not.
#[allow(dead_code)]
#[path = "support/org.rs"]
mod org;
#[path = "load/staff.rs"]
mod staff;

use anyhow::{Context, Result};
use cluster::BrokerProcesses;
use daypass_posture::facts::Facts;
use devices::Device;
use gateways::Revocations;
use staff::{Staff, Tally};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const DEVICES: usize = 1_000;
const GATEWAYS: usize = 10;
/// One grant in this many is revoked in the offered phase.
const REVOKE_EVERY: u64 = 50;
/// How long a revoked grant has been live: its gateway surely holds it.
const REVOKE_AFTER: Duration = Duration::from_secs(2);
const SOAK_ROUND: Duration = Duration::from_secs(15);
const MEMORY_EVERY: Duration = Duration::from_secs(10);

fn setting(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// Facts of a real machine (a captured Ubuntu 24.04 with LUKS), as every device's report.
fn fixture_facts() -> Result<Facts> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../posture/tests/fixtures/ubuntu-24.04-lvm-on-luks"
    );
    let system = daypass_posture::system::FixtureSystem::open(std::path::Path::new(dir))
        .map_err(anyhow::Error::msg)?;
    Ok(daypass_posture::probes::collect(&system))
}

async fn run() -> Result<()> {
    let brokers = setting("DAYPASS_LOAD_BROKERS", 2)? as usize;
    let rate = setting("DAYPASS_LOAD_OFFERED_PER_SECOND", 1_000)?;
    let warmup_seconds = setting("DAYPASS_LOAD_WARMUP_SECONDS", 3)?;
    let offered_seconds = setting("DAYPASS_LOAD_OFFERED_SECONDS", 30)?;
    let soak = Duration::from_secs(setting("DAYPASS_LOAD_SOAK_SECONDS", 600)?);
    anyhow::ensure!(brokers >= 1, "DAYPASS_LOAD_BROKERS must be at least 1");
    anyhow::ensure!(rate >= 1, "DAYPASS_LOAD_OFFERED_PER_SECOND must be at least 1");

    let pg = daypass_e2e::postgres::Postgres::start_durable();
    let started = Instant::now();
    let org = cluster::seed(&pg.url(), DEVICES, GATEWAYS).await?;
    println!(
        "seeded {DEVICES} contractors and {GATEWAYS} gateways in {:.1?}",
        started.elapsed()
    );
    let procs = BrokerProcesses::start(&pg.url(), brokers)?;
    let http = daypass_https::builder(daypass_https::Trust::Only(&procs.cert))?
        .timeout(Duration::from_secs(30))
        .build()?;
    let broker_key = cluster::broker_key(&http, &procs.bases[0]).await?;
    let revocations = Arc::new(Revocations::default());
    // As `daypass-gateway` builds its client: a limit on connecting, none on a call, which would
    // cut the stream (and with it, every 30 s, bring each gateway the whole state again).
    let gateway_http = daypass_https::builder(daypass_https::Trust::Only(&procs.cert))?
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    for (g, credential) in org.gateways.iter().enumerate() {
        gateways::follow(
            g,
            &procs.list_from(g),
            credential.clone(),
            broker_key,
            gateway_http.clone(),
            revocations.clone(),
        )?;
    }

    let facts = Arc::new(fixture_facts()?);
    let started = Instant::now();
    let devices = enroll_all(&procs, &http, &org, &facts)
        .await
        .inspect_err(|_| procs.print_logs())?;
    println!(
        "enrolled {DEVICES} devices (passkey ceremony, first posture report) in {:.1?}",
        started.elapsed()
    );
    let admin = Arc::new(Staff::new(&http, &procs.list_from(0), &org.admin)?);
    let approver = Arc::new(Staff::new(&http, &procs.list_from(1), &org.approver)?);

    let schedule = Schedule {
        rate,
        warmup_seconds,
        seconds: offered_seconds,
    };
    let (warmup, offered) = offered(&devices, &admin, &revocations, schedule).await;
    println!(
        "warm-up {rate}/s for the first {warmup_seconds} s (not counted below): {} decisions; latency p50 {:.1} ms, \
         p99 {:.1} ms; errors {}",
        warmup.succeeded(),
        warmup.percentile(0.50),
        warmup.percentile(0.99),
        warmup.errors()
    );
    warmup.print_errors();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (reached, lost) = revocations.take();
    let decided = offered.succeeded();
    let window = offered.window.as_secs_f64();
    println!(
        "offered {rate}/s for {offered_seconds} s on {brokers} broker(s): {decided} decisions in {window:.1} s \
         = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms; errors {}",
        decided as f64 / window,
        offered.percentile(0.50),
        offered.percentile(0.99),
        offered.errors()
    );
    offered.print_errors();
    println!(
        "revocation at its gateway (10 gateways): {} timed, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {lost} never arrived; {} deltas refused",
        reached.len(),
        ms_at(&reached, 0.50),
        ms_at(&reached, 0.99),
        ms_at(&reached, 1.0),
        revocations.refused.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "RESULT brokers={brokers} database=postgresql devices={DEVICES} gateways={GATEWAYS} offered_per_s={rate} \
         decisions_per_s={:.0} p50_ms={:.1} p99_ms={:.1} errors={} revocation_p99_ms={:.0} revocations_lost={lost}",
        decided as f64 / window,
        offered.percentile(0.50),
        offered.percentile(0.99),
        offered.errors(),
        ms_at(&reached, 0.99),
    );

    let soaked = soak_phase(&devices, &admin, &approver, &revocations, &facts, &procs, soak).await;
    let (reached, lost) = revocations.take();
    println!(
        "soak {:.0} s on {brokers} broker(s): {} calls, {} decisions; decision p50 {:.1} ms, p99 {:.1} ms; errors {}",
        soak.as_secs_f64(),
        soaked.tally.calls(),
        soaked.tally.succeeded(),
        soaked.tally.percentile(0.50),
        soaked.tally.percentile(0.99),
        soaked.tally.errors()
    );
    soaked.tally.print_errors();
    println!("broker memory (RSS, MiB) every {} s:", MEMORY_EVERY.as_secs());
    for (at, rss) in &soaked.memory {
        let each: Vec<String> = rss.iter().map(|m| format!("{m:.0}")).collect();
        println!("  {:>4} s  {}", at.as_secs(), each.join("  "));
    }
    let (warm, end) = soaked.memory_growth();
    println!(
        "RESULT soak brokers={brokers} seconds={} decisions={} p99_ms={:.1} errors={} revocation_p99_ms={:.0} revocations_lost={lost} \
         rss_mib_after_warmup={warm:.0} rss_mib_end={end:.0} rss_growth_pct={:.1}",
        soak.as_secs(),
        soaked.tally.succeeded(),
        soaked.tally.percentile(0.99),
        soaked.tally.errors(),
        ms_at(&reached, 0.99),
        (end - warm) / warm * 100.0
    );
    Ok(())
}

/// Every device enrolled, 16 ceremonies at a time.
async fn enroll_all(
    procs: &BrokerProcesses,
    http: &reqwest::Client,
    org: &cluster::Org,
    facts: &Facts,
) -> Result<Vec<Arc<Device>>> {
    let mut devices = Vec::with_capacity(DEVICES);
    for chunk in (0..DEVICES).collect::<Vec<_>>().chunks(16) {
        let enrolled = futures::future::join_all(
            chunk
                .iter()
                .map(|&i| Device::enroll(procs, http, i, &org.invites[i], facts)),
        )
        .await;
        for d in enrolled {
            devices.push(Arc::new(d?));
        }
    }
    Ok(devices)
}

fn ms_at(sorted_or_not: &[Duration], p: f64) -> f64 {
    let mut v = sorted_or_not.to_vec();
    v.sort();
    staff::percentile_ms(&v, p)
}

/// The database a device asks for: the staging one behind its own gateway.
fn staging_of(d: &Device) -> (usize, String) {
    let g = d.index % GATEWAYS;
    (g, cluster::resources_of(g).1)
}

/// Revokes `grant` of gateway `gateway` as the admin, timing it to its gateway.
async fn revoke(admin: &Staff, revocations: &Revocations, gateway: usize, grant: Uuid, tally: &Tally) {
    revocations.sending(gateway, grant);
    let path = format!("/api/v1/grants/{grant}/revoke");
    if tally
        .time(admin.post(&path, serde_json::json!({"reason": "load"})))
        .await
        .is_none()
    {
        revocations.failed(&grant);
    }
}

/// The offered phase's open-loop schedule: `rate` decisions/s, the first `warmup_seconds` tallied
/// apart, then `seconds` measured.
#[derive(Clone, Copy)]
struct Schedule {
    rate: u64,
    warmup_seconds: u64,
    seconds: u64,
}

/// Phase 1: the schedule, open loop; the warm-up's tally and the measured one.
async fn offered(
    devices: &[Arc<Device>],
    admin: &Arc<Staff>,
    revocations: &Arc<Revocations>,
    schedule: Schedule,
) -> (Tally, Tally) {
    let Schedule {
        rate,
        warmup_seconds,
        seconds,
    } = schedule;
    let (warmup, tally) = (Arc::new(Tally::default()), Arc::new(Tally::default()));
    let warmup_total = rate * warmup_seconds;
    let total = warmup_total + rate * seconds;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let measured_from = start + Duration::from_secs(warmup_seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..total {
        let at = start + Duration::from_nanos(k * 1_000_000_000 / rate);
        tokio::time::sleep_until(at).await;
        let device = devices[k as usize % devices.len()].clone();
        let measured = k >= warmup_total;
        let tally = if measured { &tally } else { &warmup }.clone();
        let (admin, revocations) = (admin.clone(), revocations.clone());
        tasks.spawn(async move {
            let (gateway, resource) = staging_of(&device);
            let answer = tally
                .decision_since(at.into_std(), device.request(&resource, "5m"))
                .await;
            if measured && k % REVOKE_EVERY == 0 {
                if let Some(grant) = answer.and_then(|a| a.grant_id) {
                    tokio::time::sleep(REVOKE_AFTER).await;
                    revoke(&admin, &revocations, gateway, grant, &Tally::default()).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let warmup = Arc::try_unwrap(warmup).unwrap_or_else(|t| t.snapshot());
    let mut tally = Arc::try_unwrap(tally).unwrap_or_else(|t| t.snapshot());
    tally.window = measured_from.elapsed() - REVOKE_AFTER;
    (warmup, tally)
}

/// What the soak saw.
struct Soaked {
    tally: Tally,
    /// (time into the soak, each broker's RSS in MiB).
    memory: Vec<(Duration, Vec<f64>)>,
}

impl Soaked {
    /// The brokers' summed RSS after the first quarter (warm-up) and at the end.
    fn memory_growth(&self) -> (f64, f64) {
        let sum = |i: usize| {
            self.memory
                .get(i)
                .map(|(_, m)| m.iter().sum::<f64>())
                .unwrap_or(0.0)
        };
        let warm = self.memory.len() / 4;
        (sum(warm), sum(self.memory.len().saturating_sub(1)))
    }
}

/// Phase 2: every device renews every `SOAK_ROUND` for `length`.
async fn soak_phase(
    devices: &[Arc<Device>],
    admin: &Arc<Staff>,
    approver: &Arc<Staff>,
    revocations: &Arc<Revocations>,
    facts: &Arc<Facts>,
    procs: &BrokerProcesses,
    length: Duration,
) -> Soaked {
    let tally = Arc::new(Tally::default());
    let end = Instant::now() + length;
    let mut tasks = tokio::task::JoinSet::new();
    for device in devices {
        let (device, tally, admin, approver, revocations, facts) = (
            device.clone(),
            tally.clone(),
            admin.clone(),
            approver.clone(),
            revocations.clone(),
            facts.clone(),
        );
        tasks.spawn(async move {
            // Spread over the round, so the load is even.
            let offset = SOAK_ROUND * (device.index as u32) / DEVICES as u32;
            tokio::time::sleep(offset).await;
            let mut previous: Option<Uuid> = None;
            let mut round = 0u32;
            while Instant::now() < end {
                let next = Instant::now() + SOAK_ROUND;
                if round % 4 == 3 {
                    tally.time(device.report_posture(&facts)).await;
                }
                let (gateway, staging) = staging_of(&device);
                let grant = if round % 10 == 9 {
                    let prod = cluster::resources_of(gateway).2;
                    let asked = tally
                        .decision_since(Instant::now(), device.request(&prod, "30m"))
                        .await;
                    match asked {
                        Some(request) => approver.approve(&tally, request.id).await,
                        None => None,
                    }
                } else {
                    tally
                        .decision_since(Instant::now(), device.request(&staging, "30m"))
                        .await
                        .and_then(|a| a.grant_id)
                };
                if let Some(old) = previous.take() {
                    revoke(&admin, &revocations, gateway, old, &tally).await;
                }
                previous = grant;
                round += 1;
                tokio::time::sleep_until(next.into()).await;
            }
        });
    }
    let mut memory = Vec::new();
    let started = Instant::now();
    while Instant::now() < end {
        memory.push((started.elapsed(), procs.rss_mib()));
        tokio::time::sleep(MEMORY_EVERY).await;
    }
    memory.push((started.elapsed(), procs.rss_mib()));
    while tasks.join_next().await.is_some() {}
    Soaked {
        tally: Arc::try_unwrap(tally).unwrap_or_else(|t| t.snapshot()),
        memory,
    }
}
