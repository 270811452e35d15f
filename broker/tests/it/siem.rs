//! The live SIEM feed against real collectors: Debian's rsyslog listening for syslog over TLS, killed
//! and restarted mid-stream, and a local HTTP collector (JSON lines, Splunk HEC) that goes down and
//! comes back; every audit entry arrives, a duplicate carries its sequence number, and a broker that
//! takes over resumes from the cursor.

use crate::support::{spec, Db, Harness};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::{HttpCollector, SinkConfig, SyslogTls};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writes `n` audit entries (people added by an admin).
async fn more_entries(h: &Harness, prefix: &str, n: usize) {
    for i in 0..n {
        h.broker
            .put_person("test", spec(&format!("{prefix}{i}"), &[Role::Contractor], &[]))
            .await
            .unwrap();
    }
}

async fn head(h: &Harness) -> i64 {
    h.audit_head().await
}

/// Waits until `seen()` holds every sequence number from 1 to the audit head.
async fn until_all_arrived(h: &Harness, what: &str, seen: impl Fn() -> BTreeSet<i64>) {
    let start = Instant::now();
    loop {
        let want: BTreeSet<i64> = (1..=head(h).await).collect();
        let got = seen();
        if want.is_subset(&got) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: missing {:?}",
            want.difference(&got).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// rsyslogd (Debian's) in the foreground, taking RFC 5425 syslog over TLS on `port` and writing
/// each message's MSG part to `received.log`.
struct Rsyslog {
    dir: PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl Rsyslog {
    fn start(dir: &Path) -> Rsyslog {
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("cert.pem"), ca.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), ca.key_pair.serialize_pem()).unwrap();
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            port: free_port(),
            child: None,
        };
        r.restart();
        r
    }

    fn restart(&mut self) {
        let d = self.dir.display();
        let conf = format!(
            "global(workDirectory=\"{d}\" defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{d}/cert.pem\"\n\
             defaultNetstreamDriverCertFile=\"{d}/cert.pem\" defaultNetstreamDriverKeyFile=\"{d}/key.pem\")\n\
             module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{}\")\n\
             template(name=\"msg\" type=\"string\" string=\"%msg%\\n\")\n\
             action(type=\"omfile\" file=\"{d}/received.log\" template=\"msg\")\n",
            self.port
        );
        std::fs::write(self.dir.join("rsyslog.conf"), conf).unwrap();
        let child = std::process::Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .expect("rsyslogd (Debian's rsyslog and rsyslog-gnutls; scripts/test.sh installs them)");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "rsyslogd did not listen: {}",
                std::fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default()
            );
            std::hint::spin_loop();
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        let _ = std::fs::remove_file(self.dir.join("rsyslogd.pid"));
    }

    /// The sequence numbers of the entries received, each line checked as an audit entry.
    fn seen(&self) -> BTreeSet<i64> {
        let text = std::fs::read_to_string(self.dir.join("received.log")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let entry: serde_json::Value =
                    serde_json::from_str(l.trim()).unwrap_or_else(|e| panic!("not an entry ({e}): {l}"));
                entry["seq"]
                    .as_i64()
                    .expect("each entry carries its sequence number")
            })
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn syslog_over_tls_reaches_rsyslog_and_nothing_is_lost_when_it_is_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let mut rsyslog = Rsyslog::start(dir.path());
    let h = Harness::new(Db::Sqlite).await;
    let sink = SinkConfig::SyslogTls(SyslogTls {
        name: "soc".into(),
        address: format!("localhost:{}", rsyslog.port),
        ca_file: Some(dir.path().join("cert.pem")),
        hostname: Some("broker-1".into()),
    });
    sink.validate().unwrap();
    let broker = h.broker.clone();
    let feed = tokio::spawn(async move { broker.run_siem_feed(sink).await });
    until_all_arrived(&h, "the seeded organisation", || rsyslog.seen()).await;

    more_entries(&h, "a", 5).await;
    until_all_arrived(&h, "entries written while streaming", || rsyslog.seen()).await;
    rsyslog.kill();
    more_entries(&h, "b", 5).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    more_entries(&h, "c", 5).await;
    rsyslog.restart();
    more_entries(&h, "d", 5).await;
    until_all_arrived(&h, "entries written while rsyslog was down and after", || {
        rsyslog.seen()
    })
    .await;

    // The cursor settles at the head: the feed's lag goes to zero.
    let start = Instant::now();
    loop {
        let metrics = h.broker.metrics_text().await.unwrap();
        if metrics
            .lines()
            .any(|l| l == "daypass_siem_feed_lag_entries{sink=\"soc\"} 0")
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(h
        .broker
        .metrics_text()
        .await
        .unwrap()
        .lines()
        .any(|l| l.starts_with("daypass_siem_feed_failures_total{sink=\"soc\"} ") && !l.ends_with(" 0")));
    feed.abort();
}

/// A local HTTP collector: what it was sent, and whether it is up.
#[derive(Clone, Default)]
struct Collector {
    bodies: Arc<Mutex<Vec<(String, String)>>>,
    down: Arc<Mutex<bool>>,
}

async fn collect(State(c): State<Collector>, headers: HeaderMap, body: String) -> StatusCode {
    if *c.down.lock().unwrap() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    c.bodies.lock().unwrap().push((auth, body));
    StatusCode::OK
}

impl Collector {
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/ingest", post(collect))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{}/ingest", addr.port())
    }

    /// Sequence numbers received, each with how many times.
    fn seen(&self, event: impl Fn(&serde_json::Value) -> &serde_json::Value) -> Vec<i64> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .flat_map(|(_, b)| b.lines().map(String::from).collect::<Vec<_>>())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(&l).unwrap();
                event(&v)["seq"].as_i64().unwrap()
            })
            .collect()
    }
}

fn token_file(dir: &Path, token: &str) -> PathBuf {
    let f = dir.join("token");
    std::fs::write(&f, format!("{token}\n")).unwrap();
    f
}

async fn json_lines_survive_a_collector_outage_and_a_broker_taking_over(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::default();
    let url = collector.serve().await;
    let h = Harness::new(db).await;
    let sink = SinkConfig::JsonLines(HttpCollector {
        name: "lake".into(),
        url,
        token_file: Some(token_file(dir.path(), "s3cret")),
        ca_file: None,
    });
    let (broker, s) = (h.broker.clone(), sink.clone());
    let first = tokio::spawn(async move { broker.run_siem_feed(s).await });
    let seen = || collector.seen(|v| v).into_iter().collect::<BTreeSet<_>>();
    until_all_arrived(&h, "the seeded organisation", seen).await;
    assert!(collector
        .bodies
        .lock()
        .unwrap()
        .iter()
        .all(|(auth, _)| auth == "Bearer s3cret"));

    *collector.down.lock().unwrap() = true;
    more_entries(&h, "a", 5).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    *collector.down.lock().unwrap() = false;
    until_all_arrived(&h, "entries written while the collector was down", seen).await;

    // This broker stops; another (a restart, or a second replica) takes over once the lease lapses,
    // from the cursor: what was delivered is not sent again.
    first.abort();
    let delivered = collector.seen(|v| v).len();
    let before = head(&h).await;
    more_entries(&h, "b", 5).await;
    let written = head(&h).await - before;
    h.clock.advance(time::Duration::seconds(31));
    let replica = h.replica().await;
    let second = tokio::spawn(async move { replica.run_siem_feed(sink).await });
    until_all_arrived(&h, "entries written while no broker fed the collector", seen).await;
    let all = collector.seen(|v| v);
    assert_eq!(
        all.len() as i64,
        delivered as i64 + written,
        "the broker taking over resumed at the cursor"
    );
    second.abort();
}

async fn splunk_hec_gets_events_with_its_token(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::default();
    let url = collector.serve().await;
    let h = Harness::new(db).await;
    let sink = SinkConfig::SplunkHec(HttpCollector {
        name: "splunk".into(),
        url,
        token_file: Some(token_file(dir.path(), "hec-token")),
        ca_file: None,
    });
    let broker = h.broker.clone();
    let feed = tokio::spawn(async move { broker.run_siem_feed(sink).await });
    let seen = || {
        collector
            .seen(|v| &v["event"])
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    until_all_arrived(&h, "HEC events", seen).await;
    let (auth, body) = collector.bodies.lock().unwrap()[0].clone();
    assert_eq!(auth, "Splunk hec-token");
    let event: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(event["sourcetype"], "daypass:audit");
    assert_eq!(event["event"]["seq"], 1);
    assert!(event["time"].as_i64().is_some());
    feed.abort();
}

#[test]
fn collectors_are_checked_before_the_broker_starts() {
    let missing_token = SinkConfig::SplunkHec(HttpCollector {
        name: "splunk".into(),
        url: "https://splunk.example.com:8088/services/collector/event".into(),
        token_file: None,
        ca_file: None,
    });
    assert!(missing_token.validate().unwrap_err().contains("needs token_file"));
    let cleartext = SinkConfig::JsonLines(HttpCollector {
        name: "lake".into(),
        url: "http://lake.example.com/ingest".into(),
        token_file: None,
        ca_file: None,
    });
    assert!(cleartext.validate().unwrap_err().contains("is not https"));
    let bad_name = SinkConfig::SyslogTls(SyslogTls {
        name: "my soc".into(),
        address: "siem.example.com:6514".into(),
        ca_file: None,
        hostname: None,
    });
    assert!(bad_name.validate().unwrap_err().contains("use letters"));
}

crate::on_both_databases!(
    json_lines_survive_a_collector_outage_and_a_broker_taking_over,
    splunk_hec_gets_events_with_its_token,
);
