//! Continuous verification end to end: `daypass-tunneld` keeps reporting posture while a grant runs
//! (the facts of a captured machine, since this one's firewall cannot be flipped safely), the broker
//! holds the grant when the firewall goes off, the real gateway stops its packets, and turning the
//! firewall back on lets them through again, with the same `not_after`.

use daypass_e2e::metrics::{parse, promtool_complaints, Samples};
use daypass_e2e::net::echo;
use daypass_e2e::world::{api, health, scrape, wait_for, World, BROKER_METRICS, GATEWAY_METRICS, REFUSED};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a change of a watched fact may take to reach the gateway: one sample of the facts
/// (`daypass_tunnel::rechecker::SAMPLE_EVERY`), the report, the broker's hold and the gateway's
/// reconcile, with room for a loaded machine.
const NOTICED: Duration = Duration::from_secs(20);
const NFT_ANSWER: &str = "commands/usr_sbin_nft_-j_list_ruleset.json";

/// A copy of a captured Ubuntu laptop whose firewall the test can switch.
fn laptop(dir: &Path) -> PathBuf {
    let from =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../posture/tests/fixtures/ubuntu-24.04-lvm-on-luks");
    let to = dir.join("laptop");
    copy_dir(&from, &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Sets the captured input chain's default policy: `drop` (firewall on) or `accept` (off).
fn set_firewall(laptop: &Path, policy: &str) {
    let file = laptop.join(NFT_ANSWER);
    let text = std::fs::read_to_string(&file).unwrap();
    let switched = text
        .replace(r#"\"policy\": \"drop\""#, &format!(r#"\"policy\": \"{policy}\""#))
        .replace(
            r#"\"policy\": \"accept\""#,
            &format!(r#"\"policy\": \"{policy}\""#),
        );
    assert!(switched.contains(policy), "the fixture has an input chain policy");
    std::fs::write(file, switched).unwrap();
}

#[test]
fn a_firewall_turned_off_stops_the_grants_packets_and_turning_it_on_lets_them_through() {
    // The organisation requires a firewall; devices re-check every 5 minutes, and at once when a
    // watched fact changes.
    // A SIEM collector that is down the whole time: its lag and failures show on the metrics.
    let mut w = World::for_tunneld_judging(
        r#"{"required": ["firewall"]}"#,
        "posture_recheck_interval = \"5m\"\n\
         [[siem]]\nkind = \"syslog-tls\"\nname = \"soc\"\naddress = \"127.0.0.1:6514\"\n",
    );
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    let laptop = laptop(w.dir.path());
    let t = w.start_tunneld_reporting("ana-desktop", Some(&laptop));

    let not_after = t.granted("db", "3m");
    let mut open = w
        .net
        .connect("10.20.0.10:5432", Duration::from_secs(3))
        .expect("the granted port");
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");
    let grant = t.status()["grant"]["id"].as_str().unwrap().to_string();

    set_firewall(&laptop, "accept");
    let off = Instant::now();
    wait_for("the gateway holding the grant", NOTICED, || {
        health(&w.net)["active_grants"] == 0
    });
    eprintln!(
        "the gateway dropped the grant {:?} after the firewall went off",
        off.elapsed()
    );
    assert!(
        w.net.connect("10.20.0.10:5432", REFUSED).is_err(),
        "no new connection"
    );
    assert!(
        echo(&mut open, "held", Duration::from_millis(500)).is_err(),
        "the open one is cut"
    );
    wait_for("the service showing the hold", Duration::from_secs(5), || {
        !t.status()["suspended"].is_null()
    });
    let session = t.status();
    let fix = session["suspended"]["fix"].as_str().unwrap();
    assert!(fix.contains("Turn on the firewall"), "{session}");
    assert_eq!(session["grant"]["not_after"], not_after.as_str());
    assert!(
        w.client_interface_exists(),
        "the tunnel stays up, ready to resume"
    );

    set_firewall(&laptop, "drop");
    let on = Instant::now();
    wait_for("the granted port open again", NOTICED, || {
        w.net.connect("10.20.0.10:5432", REFUSED).is_ok()
    });
    eprintln!(
        "packets flowed again {:?} after the firewall came back",
        on.elapsed()
    );
    let mut again = w.net.connect("10.20.0.10:5432", Duration::from_secs(3)).unwrap();
    assert_eq!(echo(&mut again, "back", Duration::from_secs(3)).unwrap(), "back");
    wait_for("the service showing the release", Duration::from_secs(5), || {
        t.status()["suspended"].is_null()
    });
    assert_eq!(
        t.status()["grant"]["not_after"],
        not_after.as_str(),
        "never extended"
    );

    let evidence = || {
        api(
            &w.net,
            &w.cert,
            &w.org.ida_token,
            "GET",
            &format!("/api/v1/grants/{grant}/evidence"),
            None,
        )
    };
    // The gateway reads handshakes every few seconds and reports connects after that: wait for it.
    let reported = |e: &serde_json::Value| {
        e["audit"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "grant.connected"))
    };
    wait_for(
        "the gateway reporting the connect",
        Duration::from_secs(15),
        || reported(&evidence()),
    );
    let evidence = evidence();
    let actions: Vec<&str> = evidence["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    let held = actions.iter().position(|a| *a == "grant.suspended");
    let released = actions.iter().position(|a| *a == "grant.resumed");
    assert!(held.is_some() && released > held, "{actions:?}");
    // The gateway reports where the device connected from, for the anomaly rules.
    let connected_from = evidence["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "grant.connected")
        .filter_map(|e| e["details"]["endpoint"].as_str())
        .next()
        .unwrap_or_else(|| panic!("no connect with its endpoint in {evidence}"));
    assert!(
        connected_from.parse::<std::net::IpAddr>().is_ok(),
        "{connected_from}"
    );
    assert_eq!(evidence["grant"]["grant"]["not_after"], not_after.as_str());

    // What happened is in both ends' metrics, in a format Prometheus takes.
    let broker_text = scrape(&w.net, BROKER_METRICS);
    let broker = parse(&broker_text).unwrap();
    for (series, value) in [
        ("daypass_access_requests_total{outcome=\"granted\"}", 1.0),
        ("daypass_grant_holds_total{action=\"grant.suspended\"}", 1.0),
        ("daypass_grant_holds_total{action=\"grant.resumed\"}", 1.0),
        ("daypass_grants_live", 1.0),
        ("daypass_grants_suspended", 0.0),
        ("daypass_gateway_streams", 1.0),
        ("daypass_access_decision_duration_seconds_count", 1.0),
    ] {
        assert_eq!(broker.get(series), Some(&value), "{series} in\n{broker_text}");
    }
    assert!(broker["daypass_posture_reports_total{compliant=\"false\"}"] >= 1.0);
    assert!(
        broker["daypass_siem_feed_lag_entries{sink=\"soc\"}"] >= 10.0,
        "nothing reached the collector"
    );
    assert!(broker["daypass_siem_feed_failures_total{sink=\"soc\"}"] >= 1.0);
    assert!(broker["daypass_audit_head_sequence"] > 10.0);
    let gateway_text = scrape(&w.net, GATEWAY_METRICS);
    let gateway = parse(&gateway_text).unwrap();
    for (series, value) in [
        ("daypass_gateway_peers", 1.0),
        ("daypass_gateway_grants_active", 1.0),
        ("daypass_gateway_broker_connected", 1.0),
    ] {
        assert_eq!(gateway.get(series), Some(&value), "{series} in\n{gateway_text}");
    }
    assert!(gateway["daypass_gateway_allow_entries"] >= 1.0);
    assert!(
        gateway["daypass_gateway_reconcile_duration_seconds_count"] >= 3.0,
        "granted, held, released"
    );
    for text in [&broker_text, &gateway_text] {
        assert_eq!(promtool_complaints(text), "", "promtool on\n{text}");
    }
    dashboard_asks_only_for_what_is_served(&broker, &gateway);
}

/// Every series the shipped Grafana dashboard queries is one the broker or a gateway serves.
fn dashboard_asks_only_for_what_is_served(broker: &Samples, gateway: &Samples) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../installers/monitoring/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let served: Vec<&str> = broker
        .keys()
        .chain(gateway.keys())
        .map(|series| series.split('{').next().unwrap())
        .collect();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("daypass_"));
            for name in names {
                assert!(
                    served.contains(&name),
                    "{} asks for {name}, which nothing serves",
                    panel["title"]
                );
            }
        }
    }
}
