//! Two brokers sharing a real PostgreSQL, a gateway agent that knows both, and contractors'
//! requests, approvals and revocations flowing through `daypass_https::Brokers` (as the tunnel
//! service sends them): one broker is killed with SIGKILL mid-load and then PostgreSQL itself is
//! restarted. Every call succeeds or fails with a clear retryable answer, the gateway re-attaches to
//! the other broker within 5 s and ends on exactly the broker's state, nothing is granted twice, no
//! audit entry is lost or doubled, and the chain verifies.

use daypass_e2e::net::{pause, spawn_in_namespace};
use daypass_e2e::postgres::Postgres;
use daypass_e2e::world::{broker_cli, health, wait_for, World};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent contractors' loops.
const WORKERS: usize = 4;

/// What the load saw.
#[derive(Debug, Default)]
struct Seen {
    succeeded: usize,
    /// Succeeded after PostgreSQL was back.
    succeeded_after_restart: usize,
    /// 503 `database-unavailable` with Retry-After: nothing written, try again.
    retryable: usize,
    /// 503 `outcome-unknown`: the database went during a commit.
    unknown: usize,
    /// The connection broke after the request went out (its broker was killed).
    cut: usize,
    /// Anything else: each is a failure of the test.
    wrong: Vec<String>,
    issued: BTreeSet<String>,
    revoked: BTreeSet<String>,
}

/// One call's result as the load counts it.
enum Answer {
    Ok(serde_json::Value),
    Retry,
}

struct Load {
    client: reqwest::Client,
    brokers: daypass_https::Brokers,
    seen: Arc<Mutex<Seen>>,
    /// Set once PostgreSQL is back from its restart.
    restarted: Arc<AtomicBool>,
    ana: String,
    abe: String,
    ida: String,
}

impl Load {
    async fn call(&self, token: &str, path: &str, body: serde_json::Value) -> Answer {
        let sent = self
            .brokers
            .send(|base| {
                self.client
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
            })
            .await;
        let mut seen = self.seen.lock().unwrap();
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                seen.wrong
                    .push(format!("{path}: no broker could be reached: {e}"));
                return Answer::Retry;
            }
            Err(_) => {
                seen.cut += 1;
                return Answer::Retry;
            }
        };
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        drop(seen);
        let text = response.text().await.unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut seen = self.seen.lock().unwrap();
        match (status, value["type"].as_str()) {
            (200..=299, _) => {
                seen.succeeded += 1;
                if self.restarted.load(Ordering::Relaxed) {
                    seen.succeeded_after_restart += 1;
                }
                Answer::Ok(value)
            }
            (503, Some("urn:daypass:problem:database-unavailable")) if retry_after => {
                seen.retryable += 1;
                Answer::Retry
            }
            (503, Some("urn:daypass:problem:outcome-unknown")) if retry_after => {
                seen.unknown += 1;
                Answer::Retry
            }
            _ => {
                seen.wrong.push(format!("{path}: {status} {text}"));
                Answer::Retry
            }
        }
    }

    /// One contractor's round: db on auto-approval, revoked; db2 approved by abe, revoked.
    async fn round(&self) {
        let request = |resource: &str| {
            serde_json::json!({"device": "ana-laptop", "resources": [resource], "ticket": "OPS-1",
                "reason": "load", "duration": "30m"})
        };
        let Answer::Ok(auto) = self.call(&self.ana, "/api/v1/requests", request("db")).await else {
            return;
        };
        let Some(grant) = auto["grant_id"].as_str() else {
            let wrong = format!("db was not auto-approved: {auto}");
            self.seen.lock().unwrap().wrong.push(wrong);
            return;
        };
        self.issued_then_revoked(grant).await;
        let Answer::Ok(pending) = self.call(&self.ana, "/api/v1/requests", request("db2")).await else {
            return;
        };
        let id = pending["id"].as_str().unwrap_or_default();
        let approve = format!("/api/v1/requests/{id}/approve");
        let body = serde_json::json!({"comment": "load"});
        let Answer::Ok(approved) = self.call(&self.abe, &approve, body).await else {
            return;
        };
        match approved["grant_id"].as_str() {
            Some(grant) => self.issued_then_revoked(grant).await,
            None => {
                let wrong = format!("one approval did not grant db2: {approved}");
                self.seen.lock().unwrap().wrong.push(wrong);
            }
        }
    }

    async fn issued_then_revoked(&self, grant: &str) {
        self.seen.lock().unwrap().issued.insert(grant.to_string());
        let path = format!("/api/v1/grants/{grant}/revoke");
        let body = serde_json::json!({"reason": "load"});
        if let Answer::Ok(_) = self.call(&self.ida, &path, body).await {
            self.seen.lock().unwrap().revoked.insert(grant.to_string());
        }
    }
}

/// The gateway's own state as the second broker gives it: (revision, grants).
fn broker_state(w: &World) -> (i64, usize) {
    let url = format!("{}/api/v1/gateway/state", w.broker_urls[1]);
    let credential = format!("Authorization: Bearer {}", w.org.gateway_credential);
    let cert = w.cert.to_str().unwrap();
    let args = [
        "curl",
        "-sS",
        "--fail-with-body",
        "--cacert",
        cert,
        "-H",
        &credential,
        &url,
    ];
    let state: serde_json::Value = serde_json::from_str(&w.net.exec(&w.net.client_ns, &args, &[])).unwrap();
    (
        state["revision"].as_i64().unwrap(),
        state["grants"].as_array().unwrap().len(),
    )
}

#[test]
fn two_brokers_on_postgres_lose_nothing_when_one_is_killed_and_postgres_restarts_mid_load() {
    let pg = Postgres::start();
    let w = World::two_brokers_on(&pg.url());
    wait_for(
        "the gateway agent reaching a broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    assert_eq!(
        health(&w.net)["via"],
        w.broker_urls[0],
        "the gateway starts with the first broker"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let restarted = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Load {
        client: daypass_https::builder(daypass_https::Trust::Only(&w.cert))
            .unwrap()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        brokers: daypass_https::Brokers::parse(&w.broker_urls.join(",")).unwrap(),
        seen: seen.clone(),
        restarted: restarted.clone(),
        ana: w.org.ana_token.clone(),
        abe: w.org.abe_token.clone(),
        ida: w.org.ida_token.clone(),
    });
    let running = {
        let stop = stop.clone();
        spawn_in_namespace(&w.net.client_ns, move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let workers: Vec<_> = (0..WORKERS)
                    .map(|_| {
                        let (load, stop) = (load.clone(), stop.clone());
                        tokio::spawn(async move {
                            while !stop.load(Ordering::Relaxed) {
                                load.round().await;
                            }
                        })
                    })
                    .collect();
                for worker in workers {
                    worker.await.unwrap();
                }
            })
        })
    };

    // Load on both (the clients start on the first broker, the gateway is attached to it).
    pause(Duration::from_secs(3));
    let before_kill = seen.lock().unwrap().succeeded;
    assert!(before_kill > 0, "the load got going: {:?}", seen.lock().unwrap());

    // 1. The broker the gateway and the clients use dies. Within 5 s the gateway follows the
    // second and holds a revision the second committed after the kill.
    World::kill(w.brokers[0]);
    let killed = Instant::now();
    let (committed_after_kill, _) = broker_state(&w);
    let reattached = wait_for(
        "the gateway following the other broker",
        Duration::from_secs(5),
        || {
            let h = health(&w.net);
            h["via"] == w.broker_urls[1] && h["revision"].as_i64().unwrap_or(0) >= committed_after_kill
        },
    );
    eprintln!(
        "the gateway held the second broker's revision {committed_after_kill} {:?} after the first was killed",
        killed.elapsed()
    );
    assert!(reattached <= Duration::from_secs(5));
    pause(Duration::from_secs(2));
    let after_kill = seen.lock().unwrap().succeeded;
    assert!(
        after_kill > before_kill,
        "calls went on through the second broker"
    );

    // 2. PostgreSQL restarts under the load.
    let restart = Instant::now();
    pg.restart();
    restarted.store(true, Ordering::Relaxed);
    eprintln!("PostgreSQL restarted in {:?}", restart.elapsed());
    pause(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    running.join().unwrap();

    let seen = Arc::try_unwrap(seen).unwrap().into_inner().unwrap();
    eprintln!(
        "load: {} calls succeeded ({} after the restart), {} retryable 503s, {} outcome unknown, {} cut by the kill; {} grants issued, {} revoked",
        seen.succeeded, seen.succeeded_after_restart, seen.retryable, seen.unknown, seen.cut,
        seen.issued.len(), seen.revoked.len()
    );
    assert!(
        seen.wrong.is_empty(),
        "answers that were neither success nor a clear retryable error: {:#?}",
        seen.wrong
    );
    assert!(
        seen.succeeded_after_restart > 0,
        "calls succeed again once PostgreSQL is back"
    );
    assert!(
        seen.cut <= WORKERS,
        "only calls in flight at the kill were cut: {}",
        seen.cut
    );

    // The gateway ends on exactly the broker's state: no revision was missed.
    wait_for(
        "the gateway holding the broker's state",
        Duration::from_secs(5),
        || {
            let (revision, grants) = broker_state(&w);
            let h = health(&w.net);
            h["revision"] == revision && h["active_grants"] == grants
        },
    );

    // The database: every grant the clients saw issued is there, once, from one request, with one
    // audit entry; every one they saw revoked has ended, with one end entry; the chain verifies.
    let data = w.dir.path().join("broker");
    let stored: BTreeSet<String> = pg
        .query("SELECT id FROM grants")
        .lines()
        .map(String::from)
        .collect();
    assert!(
        seen.issued.is_subset(&stored),
        "an issued grant is missing from the database"
    );
    let ended: BTreeSet<String> = pg
        .query("SELECT id FROM grants WHERE live = 0")
        .lines()
        .map(String::from)
        .collect();
    assert!(seen.revoked.is_subset(&ended), "a revoked grant is still live");
    assert_eq!(
        pg.query("SELECT count(*) FROM (SELECT request_id FROM grants GROUP BY request_id HAVING count(*) > 1) twice"),
        "0",
        "a request was granted twice"
    );
    assert_eq!(
        pg.query("SELECT count(*) FROM grants g WHERE (SELECT count(*) FROM audit_log a WHERE a.action = 'grant.issued' AND a.subject = g.id) <> 1"),
        "0",
        "a grant without exactly one grant.issued entry"
    );
    assert_eq!(
        pg.query("SELECT count(*) FROM grants g WHERE (SELECT count(*) FROM audit_log a WHERE a.action IN ('grant.ended', 'grant.expired') AND a.subject = g.id) <> 1 - g.live"),
        "0",
        "an ended grant without exactly one end entry (or a live one with one)"
    );
    let verified: serde_json::Value =
        serde_json::from_str(&broker_cli(&data, &["--json", "audit", "verify"])).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");
    assert_eq!(
        pg.query("SELECT count(*) = max(seq) FROM audit_log"),
        "t",
        "the chain's sequence has no gap"
    );
}
