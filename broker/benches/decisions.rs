//! Benchmark: access decisions per second (request + ticket check + auto-approve + signed grant +
//! audit commit) on SQLite with 200 concurrent HTTPS clients, closed loop (as fast as answers come)
//! and open loop (a fixed offered rate), and revocation-to-gateway push latency.
//! Run: `cargo bench -p daypass-broker --bench decisions`

#[path = "support/org.rs"]
mod org;

use anyhow::{Context, Result};
use daypass_broker::server::{spawn_background, RunningServer};
use daypass_broker_core::tickets::http_client;
use daypass_broker_core::Broker;
use daypass_proto::api::{CreateAccessRequest, GatewayState};
use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

const CLIENTS: usize = 200;
const REQUESTS_PER_CLIENT: usize = 50;
const REVOCATIONS: usize = 50;
/// Open-loop phase: offered load in decisions per second, spread evenly over the clients.
const OFFERED_PER_SECOND: u64 = 1000;
const OFFERED_SECONDS: u64 = 10;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn seed(b: &Broker) -> Result<Vec<String>> {
    org::seed_org(b, &[("gw1", "db", "10.20.0.10"), ("gw2", "db2", "10.30.0.10")]).await?;
    let mut tokens = Vec::new();
    for i in 0..CLIENTS {
        let id = format!("c{i:03}");
        org::contractor(
            b,
            &id,
            &format!("T-{i}"),
            &[(format!("{id}-dev"), org::device_key(i))],
        )
        .await?;
        tokens.push(
            b.issue_token("bench", &id, "bench", time::Duration::days(1))
                .await?
                .expose_secret()
                .to_string(),
        );
    }
    Ok(tokens)
}

fn body(i: usize, resource: &str) -> CreateAccessRequest {
    CreateAccessRequest {
        device: format!("c{i:03}-dev"),
        resources: vec![resource.into()],
        ticket: format!("T-{i}"),
        reason: "benchmark".into(),
        duration: "1h".into(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let broker = org::open_broker(&dir.path().join("bench.db"), key).await?;
    let tokens = seed(&broker).await?;
    let id = daypass_broker::tls::identity(None, dir.path(), &["localhost".into()])?;
    let server = RunningServer::start(broker.clone(), "127.0.0.1:0".parse()?, Some(&id), None).await?;
    let _background = spawn_background(broker.clone(), Duration::from_secs(60));
    let url = format!("https://localhost:{}/api/v1/requests", server.addr.port());
    let client = http_client(Some(&id.cert))?;

    // Warm-up: one request per client opens its TLS connection.
    let mut warm = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (c, u, t) = (client.clone(), url.clone(), token.clone());
        warm.push(tokio::spawn(async move {
            c.post(&u).bearer_auth(t).json(&body(i, "db")).send().await
        }));
    }
    for w in warm {
        w.await??.error_for_status()?;
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (c, u, t) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(REQUESTS_PER_CLIENT);
            for _ in 0..REQUESTS_PER_CLIENT {
                let t0 = Instant::now();
                let resp = c.post(&u).bearer_auth(&t).json(&body(i, "db")).send().await?;
                anyhow::ensure!(resp.status() == 201, "decision failed: {}", resp.status());
                let v: serde_json::Value = resp.json().await?;
                anyhow::ensure!(v["status"] == "granted", "not granted: {v}");
                lat.push(t0.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let wall = started.elapsed();
    latencies.sort();
    let n = latencies.len();
    println!(
        "access decisions: {n} by {CLIENTS} concurrent HTTPS clients in {:.2} s",
        wall.as_secs_f64()
    );
    println!("  throughput {:.0} decisions/s", n as f64 / wall.as_secs_f64());
    println!(
        "  latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[n - 1].as_secs_f64() * 1e3
    );

    // Open loop: every client sends on a fixed schedule whatever the answers do; latency counts from
    // the scheduled send time, so queueing in the broker shows up instead of being hidden.
    let period = Duration::from_secs_f64(CLIENTS as f64 / OFFERED_PER_SECOND as f64);
    let per_client = (OFFERED_PER_SECOND * OFFERED_SECONDS) as usize / CLIENTS;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut sends = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let offset = period.mul_f64(i as f64 / CLIENTS as f64);
        for k in 0..per_client {
            let due = start + offset + period * k as u32;
            let (c, u, t) = (client.clone(), url.clone(), token.clone());
            sends.push(tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                let resp = c.post(&u).bearer_auth(&t).json(&body(i, "db")).send().await?;
                anyhow::ensure!(resp.status() == 201, "decision failed: {}", resp.status());
                resp.bytes().await?;
                Ok::<_, anyhow::Error>(due.elapsed())
            }));
        }
    }
    let mut open = Vec::new();
    for s in sends {
        open.push(s.await??);
    }
    let took = start.elapsed();
    open.sort();
    println!(
        "open loop: {} decisions offered at {OFFERED_PER_SECOND}/s by {CLIENTS} clients, done in {:.2} s ({:.0}/s)",
        open.len(),
        took.as_secs_f64(),
        open.len() as f64 / took.as_secs_f64()
    );
    println!(
        "  latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&open, 0.5).as_secs_f64() * 1e3,
        percentile(&open, 0.99).as_secs_f64() * 1e3,
        open[open.len() - 1].as_secs_f64() * 1e3
    );

    // Revocation push: a gateway holds the event stream; time from revoke() returning to the event.
    let gw_secret = broker
        .put_gateway("bench", "gw2", "127.0.0.1:51820", org::GATEWAY_KEY)
        .await?
        .1;
    let mut grants = Vec::new();
    for (i, token) in tokens.iter().enumerate().take(REVOCATIONS) {
        let c = client
            .post(&url)
            .bearer_auth(token)
            .json(&body(i, "db2"))
            .send()
            .await?;
        let v: serde_json::Value = c.json().await?;
        grants.push(
            v["grant_id"]
                .as_str()
                .context("grant id")?
                .parse::<uuid::Uuid>()?,
        );
    }
    let stream_url = format!("https://localhost:{}/api/v1/gateway/stream", server.addr.port());
    let mut stream = client
        .get(stream_url)
        .bearer_auth(gw_secret.expose_secret())
        .send()
        .await?;
    let mut buf = String::new();
    let mut state = next_state(&mut stream, &mut buf).await?;
    anyhow::ensure!(
        state.grants.len() == REVOCATIONS,
        "gateway sees {} grants",
        state.grants.len()
    );
    let admin = "cli:bench";
    let mut push = Vec::new();
    for g in grants {
        let t0 = Instant::now();
        broker.revoke_as(admin, g, "benchmark").await?;
        let before = state.grants.len();
        while state.grants.len() == before {
            state = next_state(&mut stream, &mut buf).await?;
        }
        push.push(t0.elapsed());
    }
    push.sort();
    println!(
        "revocation reaching a connected gateway ({REVOCATIONS} revocations): p50 {:.1} ms, max {:.1} ms",
        percentile(&push, 0.5).as_secs_f64() * 1e3,
        push[push.len() - 1].as_secs_f64() * 1e3
    );
    drop(stream);
    server.shutdown().await?;
    Ok(())
}

async fn next_state(resp: &mut reqwest::Response, buf: &mut String) -> Result<GatewayState> {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) {
                return Ok(serde_json::from_str(data)?);
            }
            continue;
        }
        let chunk = resp.chunk().await?.context("stream ended")?;
        buf.push_str(std::str::from_utf8(&chunk)?);
    }
}
