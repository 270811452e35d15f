//! The real broker and the real gateway agent, each a process in the gateway's namespace, and a
//! contractor asking for access over HTTPS: the granted port opens once the agent hears of the
//! grant, a revocation closes it at once, a grant still closes at `not_after` after the agent was
//! killed (the kernel's own timeouts), and without the broker the agent (even restarted) keeps
//! enforcing what it holds until `not_after`, never longer; an emergency stop cuts the contractor off
//! within 2 s.

use daypass_e2e::net::{echo, pause, Key, Net};
use daypass_e2e::world::{
    api, broker_cli, health, open_review, until_not_after, wait_for, Org, World, BROKER, REFUSED,
};
use daypass_proto::api::GatewayPeer;
use daypass_proto::Signed;
use ed25519_dalek::VerifyingKey;
use std::path::Path;
use std::time::{Duration, Instant};

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
    World::kill(w.brokers[0]);
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

/// The answer to a request while access is stopped: status and problem, without failing on the 403.
fn refused_request(net: &Net, cert: &Path, token: &str) -> (String, serde_json::Value) {
    let body =
        r#"{"device":"ana-laptop","resources":["db"],"ticket":"OPS-1","reason":"e2e","duration":"1h"}"#;
    let auth = format!("Authorization: Bearer {token}");
    let url = format!("{BROKER}/api/v1/requests");
    let out = net.exec(
        &net.client_ns,
        &[
            "curl",
            "-sS",
            "--cacert",
            cert.to_str().unwrap(),
            "-X",
            "POST",
            "-H",
            &auth,
            "-H",
            "content-type: application/json",
            "-d",
            body,
            "-w",
            "\n%{http_code}",
            &url,
        ],
        &[],
    );
    let (problem, status) = out.trim_end().rsplit_once('\n').unwrap();
    (status.to_string(), serde_json::from_str(problem).unwrap())
}

/// Ana granted db for an hour through the gateway agent, with an open connection that echoes.
fn ana_connected_to_db(w: &World) -> std::net::TcpStream {
    let net = &w.net;
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(net)["broker"] == "connected",
    );
    request(net, &w.cert, &w.org, &w.pinned_key(), "1h");
    let mut open = net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");
    open
}

/// The emergency stop from the broker's host (`daypass-broker emergency stop`): the contractor's
/// open connection through the gateway stops within 2 s of the stop being in force, the gateway
/// holds no grant, requests are refused saying why, and lifting lets requests in again (not the
/// ended grant).
#[test]
fn an_emergency_stop_cuts_contractor_traffic_within_two_seconds_until_lifted() {
    let w = World::start();
    let net = &w.net;
    let mut open = ana_connected_to_db(&w);

    let data = w.dir.path().join("broker");
    let asked = Instant::now();
    let stop = broker_cli(
        &data,
        &["--json", "emergency", "stop", "--reason", "e2e breach drill"],
    );
    let in_force = Instant::now();
    let stop: serde_json::Value = serde_json::from_str(&stop).unwrap();
    assert_eq!(stop["grants_ended"], 1, "{stop}");
    let cut = wait_for(
        "contractor traffic stopping after the emergency stop",
        Duration::from_secs(2),
        || echo(&mut open, "x", Duration::from_millis(100)).is_err(),
    );
    eprintln!(
        "emergency stop: traffic stopped {cut:?} after the stop was in force ({:?} after the command started)",
        in_force.duration_since(asked) + cut
    );
    assert_eq!(health(net)["active_grants"], 0, "{}", health(net));
    assert!(net.connect("10.20.0.10:5432", REFUSED).is_err());
    let (status, problem) = refused_request(net, &w.cert, &w.org.ana_token);
    assert_eq!(status, "403", "{problem}");
    assert!(
        problem["type"].as_str().unwrap().ends_with("emergency-stop"),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("e2e breach drill"),
        "{problem}"
    );

    broker_cli(&data, &["emergency", "lift", "--reason", "drill over"]);
    assert_eq!(health(net)["active_grants"], 0, "lifting gives no grant back");
    request(net, &w.cert, &w.org, &w.pinned_key(), "1h");
    let mut again = net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut again, "back", Duration::from_secs(3)).unwrap(), "back");
}

/// An access review from the broker's host (`daypass-broker review …`): closing a campaign nobody
/// answered removes ana's standing entitlements, so her open connection through the gateway stops
/// and her next request is refused as not entitled; `review restore` gives one back.
#[test]
fn closing_an_unanswered_access_review_cuts_the_access_it_removed_until_restored() {
    let w = World::start();
    let net = &w.net;
    let mut open = ana_connected_to_db(&w);

    let data = w.dir.path().join("broker");
    let opened = open_review(&data, "e2e review", "contractors", "remove");
    assert_eq!(opened["total"], 2, "ana's e1 (db) and e2 (db2): {opened}");
    let id = opened["id"].as_str().unwrap();
    broker_cli(&data, &["review", "close", id]);
    wait_for(
        "contractor traffic stopping after the review removed the entitlement",
        Duration::from_secs(2),
        || echo(&mut open, "x", Duration::from_millis(100)).is_err(),
    );
    assert_eq!(health(net)["active_grants"], 0, "{}", health(net));
    let (status, problem) = refused_request(net, &w.cert, &w.org.ana_token);
    assert_eq!(status, "403", "{problem}");
    assert!(
        problem["type"].as_str().unwrap().ends_with("not-entitled"),
        "{problem}"
    );
    let listed = broker_cli(&data, &["--json", "review", "list"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert!(
        listed[0]["closed_by"].as_str().unwrap().starts_with("cli:"),
        "{listed}"
    );

    broker_cli(
        &data,
        &["review", "restore", "ana", "e1", "--reason", "removed by mistake"],
    );
    request(net, &w.cert, &w.org, &w.pinned_key(), "1h");
    let mut again = net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut again, "back", Duration::from_secs(3)).unwrap(), "back");
}
