//! The staff's calls (an admin revoking, an approver approving, each with an API token, failing
//! over between brokers as every client does) and the tally of every call: decision latencies and
//! errors.

use secrecy::SecretString;
use std::fmt::Display;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct Staff {
    http: reqwest::Client,
    brokers: daypass_https::Brokers,
    token: String,
}

impl Staff {
    /// Calls with `token` to `brokers` (comma-separated, in this staff member's order).
    pub fn new(http: &reqwest::Client, brokers: &str, token: &SecretString) -> anyhow::Result<Staff> {
        Ok(Staff {
            http: http.clone(),
            brokers: daypass_https::Brokers::parse(brokers)?,
            token: crate::cluster::text(token),
        })
    }

    /// POSTs `body` to `path`; the JSON answer, or what went wrong.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
        let sent = self
            .brokers
            .send(|base| {
                self.http
                    .post(format!("{base}{path}"))
                    .bearer_auth(&self.token)
                    .json(&body)
            })
            .await
            .map_err(|e| format!("{path}: {}", e.without_url()))?;
        let status = sent.status();
        let text = sent.text().await.map_err(|e| e.without_url().to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
    }

    /// Approves request `id` (a decision, timed); the grant it gave.
    pub async fn approve(&self, tally: &Tally, id: Uuid) -> Option<Uuid> {
        let path = format!("/api/v1/requests/{id}/approve");
        let answer = tally
            .decision_since(
                Instant::now(),
                self.post(&path, serde_json::json!({"comment": "load"})),
            )
            .await?;
        answer["grant_id"].as_str().and_then(|g| g.parse().ok())
    }
}

/// Every call's outcome; decisions (requests, approvals) with their latency.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Inner>,
    /// The time the decisions were made in (set by the phase that measures throughput).
    pub window: Duration,
}

#[derive(Debug, Default, Clone)]
struct Inner {
    calls: usize,
    decisions: Vec<Duration>,
    errors: usize,
    /// The first errors, to print.
    first_errors: Vec<String>,
}

impl Tally {
    /// Awaits a decision, timed from `since` (its scheduled time in an open loop); its answer, or
    /// nothing when it failed (counted).
    pub async fn decision_since<T, E: Display>(
        &self,
        since: Instant,
        call: impl Future<Output = Result<T, E>>,
    ) -> Option<T> {
        let answer = call.await;
        let took = since.elapsed();
        let mut inner = self.inner.lock().unwrap();
        inner.calls += 1;
        match answer {
            Ok(a) => {
                inner.decisions.push(took);
                Some(a)
            }
            Err(e) => {
                inner.failed(e);
                None
            }
        }
    }

    /// Awaits a call that is not a decision (a revocation, a posture report); its answer, or nothing.
    pub async fn time<T, E: Display>(&self, call: impl Future<Output = Result<T, E>>) -> Option<T> {
        let answer = call.await;
        let mut inner = self.inner.lock().unwrap();
        inner.calls += 1;
        answer.map_err(|e| inner.failed(e)).ok()
    }

    pub fn calls(&self) -> usize {
        self.inner.lock().unwrap().calls
    }

    /// Decisions made.
    pub fn succeeded(&self) -> usize {
        self.inner.lock().unwrap().decisions.len()
    }

    pub fn errors(&self) -> usize {
        self.inner.lock().unwrap().errors
    }

    /// The `p` percentile of decision latency, in ms.
    pub fn percentile(&self, p: f64) -> f64 {
        let mut v = self.inner.lock().unwrap().decisions.clone();
        v.sort();
        percentile_ms(&v, p)
    }

    pub fn print_errors(&self) {
        for e in &self.inner.lock().unwrap().first_errors {
            println!("  error: {e}");
        }
    }

    /// A copy, for a tally still shared.
    pub fn snapshot(&self) -> Tally {
        Tally {
            inner: Mutex::new(self.inner.lock().unwrap().clone()),
            window: self.window,
        }
    }
}

impl Inner {
    fn failed(&mut self, e: impl Display) {
        self.errors += 1;
        if self.first_errors.len() < 10 {
            self.first_errors.push(e.to_string());
        }
    }
}

/// The `p` percentile of sorted durations, in ms (0 for none).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}
