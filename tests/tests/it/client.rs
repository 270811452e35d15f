//! The contractor's side end to end: `daypass-tunneld` in the contractor's namespace, driven by
//! the `daypass` CLI against the real broker and gateway agent. Access opens for exactly what was
//! granted, waits for an approver when the policy says so, ends at `not_after` on both ends within
//! a second, and no interface outlives its grant across a crash of the service or a machine asleep.

use daypass_e2e::net::{echo, pause};
use daypass_e2e::world::{admin, api, daypass, health, until, wait_for, Tunneld, World, REFUSED};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

const OPEN: Duration = Duration::from_secs(3);

/// The broker and agent up, the agent connected, and ana's tunnel service enrolled and signed in.
fn world() -> (World, Tunneld) {
    let mut w = World::for_tunneld();
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    let t = w.start_tunneld("ana-desktop");
    (w, t)
}

/// Waits until `not_after`, then gives both ends one second to close.
fn after_not_after_both_ends_close(w: &World, not_after: &str, open: &mut std::net::TcpStream) {
    pause(until(not_after));
    let ended = Instant::now();
    wait_for("the client interface going", Duration::from_secs(1), || {
        !w.client_interface_exists()
    });
    wait_for("the gateway removing the grant", Duration::from_secs(1), || {
        health(&w.net)["active_grants"] == 0
    });
    eprintln!("both ends closed {:?} after not_after", ended.elapsed());
    assert!(
        echo(open, "late", Duration::from_millis(500)).is_err(),
        "the open connection is cut"
    );
    assert!(
        w.net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "new connections fail"
    );
}

#[test]
fn daypass_request_opens_exactly_the_grant_and_expiry_closes_both_ends() {
    let (w, t) = world();

    // Refusals say what was wrong, and bring nothing up.
    let unknown_ticket = t.request("db", "NOPE-404", "1m");
    assert_eq!(unknown_ticket.code, 1, "{}", unknown_ticket.stdout);
    assert_eq!(unknown_ticket.json()["refused"]["code"], "ticket-refused");
    let not_entitled = t.request("payroll", "OPS-1", "1m");
    assert_eq!(not_entitled.code, 1);
    assert_eq!(
        not_entitled.json()["refused"]["code"],
        "not-entitled",
        "{}",
        not_entitled.stdout
    );
    let too_long = daypass(
        &t,
        &[
            "request",
            "--resource",
            "db",
            "--ticket",
            "OPS-1",
            "--for",
            "forever",
            "--reason",
            "x",
        ],
        &[],
    );
    assert_eq!(too_long.code, 1);
    assert!(too_long.stderr.contains("duration"), "{}", too_long.stderr);
    assert!(!w.client_interface_exists(), "nothing is up after refusals");

    // Auto-approved: the granted host:port opens, the other port and host do not.
    let asked = Instant::now();
    let not_after = t.granted("db", "10s");
    let mut open = w.net.connect("10.20.0.10:5432", OPEN).expect("the granted port");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    eprintln!(
        "first byte through the tunnel {:?} after daypass request",
        asked.elapsed()
    );
    assert!(w.net.connect("10.20.0.10:22", REFUSED).is_err(), "another port");
    assert!(w.net.connect("10.20.0.11:5432", REFUSED).is_err(), "another host");
    let routes = w.net.exec(
        &w.net.client_ns,
        &["ip", "route", "show", "dev", &w.net.client_wg],
        &[],
    );
    assert_eq!(
        routes.trim(),
        "10.20.0.10 scope link",
        "a split tunnel to the grant only"
    );
    // The gateway saw the device connect and told the broker: it is in the grant's evidence.
    let grant = t.status()["grant"]["id"].as_str().unwrap().to_string();
    let evidence = format!("/api/v1/grants/{grant}/evidence");
    wait_for(
        "the connect in the grant's evidence",
        Duration::from_secs(6),
        || {
            let bundle = api(&w.net, &w.cert, &w.org.ida_token, "GET", &evidence, None);
            bundle["audit"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|e| e["action"] == "grant.connected" && e["actor"] == "gateway:gw-e2e")
            })
        },
    );
    let posture = daypass(&t, &["--json", "posture"], &[]).json();
    assert_eq!(
        posture["sent_to_broker"],
        serde_json::json!({"Ok": null}),
        "{posture}"
    );
    assert_eq!(
        posture["compliant"], true,
        "the broker's policy here requires no check"
    );
    assert_eq!(posture["checks"].as_array().unwrap().len(), 6, "{posture}");
    let busy = t.request("db", "OPS-1", "1m");
    assert_eq!(busy.json()["refused"]["code"], "busy");

    after_not_after_both_ends_close(&w, &not_after, &mut open);
    assert_eq!(t.status()["state"], "closed");
    assert_eq!(t.status()["why"]["reason"], "expired");
}

#[test]
fn a_request_waits_for_its_approver_and_a_revocation_ends_it() {
    let (w, t) = world();
    // Denied: the service closes the session with the approver's reason.
    let ran = t.request("db2", "OPS-1", "10m");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let session = &ran.json()["session"];
    assert_eq!(session["state"], "pending_approval", "{session}");
    let path = format!("/api/v1/requests/{}/deny", session["request"].as_str().unwrap());
    let body = r#"{"reason":"not this week"}"#;
    api(&w.net, &w.cert, &w.org.abe_token, "POST", &path, Some(body));
    wait_for(
        "the service hearing of the denial",
        Duration::from_secs(5),
        || t.status()["state"] == "closed",
    );
    assert_eq!(t.status()["why"]["detail"], "not this week");
    let said = daypass(&t, &["status"], &[]).stdout;
    assert!(said.contains("Request denied: not this week"), "{said}");

    // Asked again with --wait: nothing flows until the approver approves, then the CLI returns.
    let waiting = {
        let socket = t.socket.clone();
        std::thread::spawn(move || {
            std::process::Command::new(daypass_e2e::bins::bin("daypass"))
                .arg("--socket")
                .arg(socket)
                .args(["--json", "request", "--resource", "db2", "--ticket", "OPS-1"])
                .args(["--for", "10m", "--reason", "e2e", "--wait"])
                .output()
                .unwrap()
        })
    };
    wait_for("the request pending", Duration::from_secs(10), || {
        t.status()["state"] == "pending_approval"
    });
    assert!(
        w.net.connect("10.20.0.11:5432", REFUSED).is_err(),
        "nothing flows before approval"
    );
    let id = t.status()["request"].as_str().unwrap().to_string();
    let path = format!("/api/v1/requests/{id}/approve");
    api(&w.net, &w.cert, &w.org.abe_token, "POST", &path, Some("{}"));
    let waited = waiting.join().unwrap();
    assert_eq!(
        waited.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    let last = String::from_utf8_lossy(&waited.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(last.contains(r#""state":"active""#), "{last}");
    let mut open = w.net.connect("10.20.0.11:5432", OPEN).expect("approved");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    assert!(
        w.net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "not part of this grant"
    );

    // An admin revokes it: traffic stops within a second, and the service closes with the reason.
    let grant = t.status()["grant"]["id"].as_str().unwrap().to_string();
    let revoked = Instant::now();
    let path = format!("/api/v1/grants/{grant}/revoke");
    let body = r#"{"reason":"e2e: done early"}"#;
    api(&w.net, &w.cert, &w.org.ida_token, "POST", &path, Some(body));
    wait_for("the revoked connection stopping", Duration::from_secs(1), || {
        echo(&mut open, "x", Duration::from_millis(200)).is_err()
    });
    eprintln!(
        "revocation stopped traffic {:?} after the API call",
        revoked.elapsed()
    );
    wait_for(
        "the service closing the revoked session",
        Duration::from_secs(3),
        || !w.client_interface_exists(),
    );
    let session = t.status();
    assert_eq!(session["why"]["reason"], "revoked", "{session}");
    assert!(session["why"]["detail"].as_str().unwrap().contains("done early"));
}

#[test]
fn a_crashed_service_restarted_after_expiry_leaves_no_interface() {
    let (mut w, mut t) = world();
    let not_after = t.granted("db", "6s");
    assert!(w.client_interface_exists());
    World::kill(t.pid);
    pause(Duration::from_millis(300));
    assert!(w.client_interface_exists(), "a crash leaves the interface behind");
    pause(until(&not_after) + Duration::from_millis(200));
    w.restart_tunneld(&mut t);
    wait_for(
        "the restarted service removing the stale interface",
        Duration::from_secs(1),
        || !w.client_interface_exists(),
    );
    assert_eq!(t.status()["why"]["reason"], "expired", "never resumed");
}

#[test]
fn a_machine_waking_after_not_after_closes_at_once() {
    let (w, t) = world();
    let not_after = t.granted("db", "6s");
    let mut open = w.net.connect("10.20.0.10:5432", OPEN).unwrap();
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    // Asleep: the service does not run at all (as in suspend) until after not_after.
    let pid = Pid::from_raw(t.pid as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    pause(until(&not_after) + Duration::from_secs(2));
    assert!(w.client_interface_exists(), "nothing ran while asleep");
    kill(pid, Signal::SIGCONT).unwrap();
    let woke = Instant::now();
    wait_for(
        "the woken service closing the session",
        Duration::from_secs(1),
        || !w.client_interface_exists(),
    );
    eprintln!("closed {:?} after waking", woke.elapsed());
    assert_eq!(t.status()["why"]["reason"], "expired");
}

#[test]
fn only_root_and_the_allowed_group_may_use_the_service() {
    let (_w, t) = world();
    let as_user = |user: &str| {
        std::process::Command::new("runuser")
            .args(["-u", user, "--"])
            .arg(daypass_e2e::bins::bin("daypass"))
            .arg("--socket")
            .arg(&t.socket)
            .arg("status")
            .output()
            .unwrap()
    };
    let member = as_user("nobody");
    assert!(
        member.status.success(),
        "nobody is in the allowed group nogroup: {}",
        String::from_utf8_lossy(&member.stderr)
    );
    let outsider = as_user("daemon");
    assert_eq!(outsider.status.code(), Some(2));
    let said = String::from_utf8_lossy(&outsider.stderr);
    assert!(
        said.contains("permission denied") && said.contains("group"),
        "{said}"
    );
}

#[test]
fn closing_the_ticket_ends_access() {
    let (w, t) = world();
    t.granted("db", "10m");
    let mut open = w.net.connect("10.20.0.10:5432", OPEN).unwrap();
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    let closed = Instant::now();
    admin(&w.dir.path().join("broker"), &["ticket", "close", "OPS-1"]);
    // The CLI ends the grant in the database; the broker process sees it at its next re-read of
    // the gateway's revision (2 s), since nothing in-process woke it.
    wait_for(
        "traffic stopping after the ticket closed",
        Duration::from_secs(3),
        || echo(&mut open, "x", Duration::from_millis(200)).is_err(),
    );
    eprintln!("closing the ticket stopped traffic after {:?}", closed.elapsed());
    wait_for("the service closing the session", Duration::from_secs(3), || {
        !w.client_interface_exists()
    });
    let session = t.status();
    assert_eq!(session["why"]["reason"], "revoked", "{session}");
    assert!(
        session["why"]["detail"].as_str().unwrap().contains("ticket"),
        "{session}"
    );
}

#[test]
fn a_contractor_enrolls_from_an_invite_and_works_in_a_device_bound_session() {
    let mut w = World::for_tunneld();
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    let t = w.launch_tunneld("ana-new");
    let invite = admin(&w.dir.path().join("broker"), &["invite", "ana", "--ttl", "1h"]);
    let code: serde_json::Value = serde_json::from_str(&invite).unwrap();
    let authenticator = w.dir.path().join("ana-passkey.cbor");
    let soft = authenticator.to_str().unwrap();

    // The invite enrolls the passkey and binds this device's own keys; nobody copied a key.
    let enrolled = daypass(
        &t,
        &["--json", "--soft-authenticator", soft, "enroll"],
        &[("DAYPASS_INVITE", code["invite"].as_str().unwrap())],
    );
    assert_eq!(enrolled.code, 0, "{} {}", enrolled.stdout, enrolled.stderr);
    assert_eq!(enrolled.json()["person"], "ana");
    let used_again = daypass(
        &t,
        &["--json", "--soft-authenticator", soft, "enroll"],
        &[("DAYPASS_INVITE", code["invite"].as_str().unwrap())],
    );
    assert_eq!(used_again.code, 1);
    assert!(
        used_again.stdout.contains("already used"),
        "{}",
        used_again.stdout
    );

    // Every broker call of the session is signed with the device key: posture, request, grant.
    let not_after = t.granted("db", "10m");
    assert!(!not_after.is_empty());
    let mut open = w
        .net
        .connect("10.20.0.10:5432", OPEN)
        .expect("access through a passkey session");
    assert_eq!(echo(&mut open, "ping", OPEN).unwrap(), "ping");
    assert_eq!(daypass(&t, &["down"], &[]).code, 0);

    // Signing out ends the session at the broker; then signing in again with the same passkey.
    assert_eq!(daypass(&t, &["logout"], &[]).code, 0);
    wait_for("the broker ending the session", Duration::from_secs(5), || {
        let audit = std::process::Command::new(daypass_e2e::bins::bin("daypass-broker"))
            .arg("--data-dir")
            .arg(w.dir.path().join("broker"))
            .args(["audit", "export"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&audit.stdout).contains("\"action\":\"session.ended\"")
    });
    let refused = t.request("db", "OPS-1", "10m");
    assert_eq!(refused.json()["refused"]["code"], "not-signed-in");
    let again = daypass(
        &t,
        &["--json", "--soft-authenticator", soft, "login", "--person", "ana"],
        &[],
    );
    assert_eq!(again.code, 0, "{} {}", again.stdout, again.stderr);
    assert!(!t.granted("db", "10m").is_empty(), "requests work again");
}
