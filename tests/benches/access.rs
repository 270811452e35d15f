//! Benchmark: the contractor's access end to end, with the real broker (SQLite), gateway agent and
//! `daypass-tunneld` in namespaces. Time to access: from running `daypass request` (auto-approved,
//! with its fresh posture report) to the first byte echoed through the tunnel. Revocation lag: from
//! the revoke call to an open connection no longer answering. Expiry lag: from `not_after` to an
//! open connection no longer answering (gateway) and to the client interface being gone (client).
//! Run as root after building the binaries with the same profile:
//! `cargo build --release --workspace --bins && cargo bench -p daypass-e2e --bench access`

// A benchmark: a failed step is a failed run.
#![allow(clippy::unwrap_used)]

use daypass_e2e::measure::summary;
use daypass_e2e::net::{echo, pause};
use daypass_e2e::world::{api, daypass, health, until, wait_for, World};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ACCESS_RUNS: usize = 20;
const EXPIRY_RUNS: usize = 8;
const POLL: Duration = Duration::from_millis(20);

/// When an open connection first fails to echo, polling every 20 ms (each try waits 50 ms at most).
fn stops_answering(open: &mut TcpStream) -> Instant {
    while echo(open, "x", Duration::from_millis(50)).is_ok() {
        pause(POLL);
    }
    Instant::now()
}

fn main() {
    let mut w = World::for_tunneld();
    wait_for("the agent reaching the broker", Duration::from_secs(20), || {
        health(&w.net)["broker"] == "connected"
    });
    let t = w.start_tunneld("bench-laptop");
    // The posture check's package-manager answer is kept between checks, as on a contractor's
    // machine that checked before: the first one pays for `apt-get -s upgrade`.
    assert_eq!(daypass(&t, &["posture"], &[]).code, 0);

    let (mut access, mut revocation) = (Vec::new(), Vec::new());
    for _ in 0..ACCESS_RUNS {
        let asked = Instant::now();
        t.granted("db", "10m");
        let mut open = w.net.connect("10.20.0.10:5432", Duration::from_secs(6)).unwrap();
        assert_eq!(echo(&mut open, "ping", Duration::from_secs(6)).unwrap(), "ping");
        access.push(asked.elapsed());

        let grant = t.status()["grant"]["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/grants/{grant}/revoke");
        let revoked = Instant::now();
        api(
            &w.net,
            &w.cert,
            &w.org.ida_token,
            "POST",
            &path,
            Some(r#"{"reason":"bench"}"#),
        );
        revocation.push(stops_answering(&mut open) - revoked);
        wait_for("the session closing", Duration::from_secs(5), || {
            t.status()["state"] == "closed" && health(&w.net)["active_grants"] == 0
        });
    }

    let (mut gateway_lag, mut client_lag) = (Vec::new(), Vec::new());
    for _ in 0..EXPIRY_RUNS {
        let not_after = t.granted("db", "3s");
        let deadline = Instant::now() + until(&not_after);
        let mut open = w.net.connect("10.20.0.10:5432", Duration::from_secs(6)).unwrap();
        assert_eq!(echo(&mut open, "ping", Duration::from_secs(6)).unwrap(), "ping");
        pause(deadline.saturating_duration_since(Instant::now()));
        gateway_lag.push(stops_answering(&mut open).saturating_duration_since(deadline));
        while w.client_interface_exists() {
            pause(POLL);
        }
        client_lag.push(Instant::now().saturating_duration_since(deadline));
        wait_for("the gateway forgetting the grant", Duration::from_secs(5), || {
            health(&w.net)["active_grants"] == 0
        });
    }

    summary("time to access (daypass request → first byte)", access);
    summary("revocation lag (revoke call → open connection cut)", revocation);
    summary(
        "expiry lag at the gateway (not_after → open connection cut)",
        gateway_lag,
    );
    summary(
        "expiry lag at the client (not_after → interface gone)",
        client_lag,
    );
}
