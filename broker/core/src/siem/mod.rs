//! The live SIEM feed: every audit entry (alerts included: they are audit entries) streamed to each
//! configured collector as it is written, at least once. Each feed keeps a cursor in the database
//! (the last entry its collector has) and a lease, so one broker of several feeds it; a restart, a
//! broker taking over or a collector that was down resumes from the cursor. A resent entry carries
//! its sequence number, so the collector can drop duplicates. `syslog_tls` and `http` are the
//! collectors' wire formats.

mod http;
mod syslog_tls;

use crate::domain::audit::AuditEntry;
use crate::store::{AuditRead, FeedCursors};
use crate::{Broker, ServiceResult};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Entries sent in one write or request.
const BATCH: i64 = 500;
/// How long a feed holds its lease without renewing it.
const LEASE: time::Duration = time::Duration::seconds(30);
/// How often a feed looks for new entries when it has caught up.
const POLL: Duration = Duration::from_secs(1);
/// A collector that writes back nothing (syslog) has an entry once it was written this long ago on
/// a connection still open; until then a broken connection sends it again.
const SETTLE: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One collector, as `[[siem]]` in broker.toml describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SinkConfig {
    /// RFC 5424 messages over TCP with TLS (RFC 5425 octet-counted framing).
    SyslogTls(SyslogTls),
    /// Splunk's HTTP Event Collector (`/services/collector/event`).
    SplunkHec(HttpCollector),
    /// Plain JSON lines POSTed in batches (`application/x-ndjson`).
    JsonLines(HttpCollector),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTls {
    pub name: String,
    /// `HOST:PORT` of the collector's TLS listener (6514 by convention).
    pub address: String,
    /// PEM certificates to trust instead of the public roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// The HOSTNAME field of each message (default: the broker's host name).
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCollector {
    pub name: String,
    pub url: String,
    /// A file holding the collector's token (HEC token, or a bearer token for JSON lines).
    pub token_file: Option<PathBuf>,
    /// PEM certificates to trust besides the public roots (a private CA).
    pub ca_file: Option<PathBuf>,
}

impl SinkConfig {
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::SyslogTls(s) => &s.name,
            SinkConfig::SplunkHec(h) | SinkConfig::JsonLines(h) => &h.name,
        }
    }

    /// Checks what can be checked before the broker starts (names, addresses, files).
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "siem name {name:?}: use letters, digits, '-', '_' or '.'"
            ));
        }
        self.connector().map(|_| ())
    }

    fn connector(&self) -> Result<Box<dyn Collector>, String> {
        let read_token = |file: &Option<PathBuf>| -> Result<Option<secrecy::SecretString>, String> {
            file.as_ref()
                .map(|f| {
                    std::fs::read_to_string(f)
                        .map(|t| secrecy::SecretString::from(t.trim().to_string()))
                        .map_err(|e| {
                            format!("siem {:?}: reading token_file {}: {e}", self.name(), f.display())
                        })
                })
                .transpose()
        };
        Ok(match self {
            SinkConfig::SyslogTls(s) => Box::new(syslog_tls::SyslogTlsCollector::new(s)?),
            SinkConfig::SplunkHec(h) => {
                let token = read_token(&h.token_file)?.ok_or_else(|| {
                    format!(
                        "siem {:?}: a splunk-hec collector needs token_file (its HEC token)",
                        h.name
                    )
                })?;
                Box::new(http::HttpFeed::new(h, http::Format::SplunkHec, Some(token))?)
            }
            SinkConfig::JsonLines(h) => Box::new(http::HttpFeed::new(
                h,
                http::Format::JsonLines,
                read_token(&h.token_file)?,
            )?),
        })
    }
}

/// What a collector does with a batch.
#[async_trait::async_trait]
trait Collector: Send {
    /// Hands the entries over. `Ok(true)`: the collector acknowledged them; `Ok(false)`: written,
    /// with no acknowledgement to wait for (syslog).
    async fn send(&mut self, entries: &[AuditEntry]) -> Result<bool, String>;
    /// Whether the connection the unacknowledged entries went over is still open.
    async fn still_open(&mut self) -> bool;
    /// Drops the connection (after a failure).
    fn reset(&mut self);
}

/// The state of one feed on this broker between two rounds.
struct Round {
    /// The last entry handed to the collector (ahead of the database's cursor while unsettled).
    sent: i64,
    /// Written to a collector without acknowledgements, not settled yet: (last seq, when).
    unsettled: Vec<(i64, Instant)>,
    lease_until: Option<time::OffsetDateTime>,
    backoff: Duration,
}

impl Broker {
    /// Feeds one collector until the task is dropped.
    pub async fn run_siem_feed(&self, sink: SinkConfig) {
        let mut collector = match sink.connector() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(siem = sink.name(), error = %e, "the SIEM feed cannot start");
                return;
            }
        };
        let holder = uuid::Uuid::new_v4().to_string();
        let mut round = Round {
            sent: -1,
            unsettled: Vec::new(),
            lease_until: None,
            backoff: Duration::from_millis(500),
        };
        loop {
            let wait = match self
                .feed_round(sink.name(), &holder, collector.as_mut(), &mut round)
                .await
            {
                Ok(true) => Duration::ZERO,
                Ok(false) => POLL,
                Err(e) => {
                    tracing::warn!(siem = sink.name(), error = %e, "the SIEM feed failed; resending from the last entry the collector has");
                    self.0.metrics.siem_failure(sink.name());
                    collector.reset();
                    round.sent = -1;
                    round.unsettled.clear();
                    round.backoff = (round.backoff * 2).min(MAX_BACKOFF);
                    round.backoff
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One round: hold the lease, settle what was written, send the next batch. True when it sent
    /// a full batch (more may be waiting).
    async fn feed_round(
        &self,
        sink: &str,
        holder: &str,
        collector: &mut dyn Collector,
        round: &mut Round,
    ) -> Result<bool, String> {
        let now = self.now();
        if round.lease_until.is_none_or(|until| until - now < LEASE / 2) {
            let mut book = self.store().bookkeeping().await.map_err(|e| e.to_string())?;
            let held = FeedCursors::lease(book.conn(), sink, holder, now, now + LEASE)
                .await
                .map_err(|e| e.to_string())?;
            if !held {
                // Another broker feeds it; look again later.
                round.lease_until = None;
                round.sent = -1;
                round.unsettled.clear();
                return Ok(false);
            }
            round.lease_until = Some(now + LEASE);
        }
        self.settle(sink, holder, collector, round).await?;
        let mut conn = self.store().read().await.map_err(|e| e.to_string())?;
        if round.sent < 0 {
            round.sent = FeedCursors::position(&mut conn, sink)
                .await
                .map_err(|e| e.to_string())?;
        }
        let batch = AuditRead::after(&mut conn, round.sent, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        drop(conn);
        let Some(last) = batch.last().map(|e| e.seq) else {
            return Ok(false);
        };
        let acknowledged = collector.send(&batch).await?;
        round.sent = last;
        round.backoff = Duration::from_millis(500);
        if acknowledged {
            self.advance_cursor(sink, holder, last).await?;
        } else {
            round.unsettled.push((last, Instant::now()));
        }
        Ok(batch.len() as i64 == BATCH)
    }

    /// Moves the cursor past what was written long enough ago on a connection still open.
    async fn settle(
        &self,
        sink: &str,
        holder: &str,
        collector: &mut dyn Collector,
        round: &mut Round,
    ) -> Result<(), String> {
        let ripe = round
            .unsettled
            .iter()
            .filter(|(_, at)| at.elapsed() >= SETTLE)
            .map(|(seq, _)| *seq)
            .max();
        let Some(seq) = ripe else {
            return Ok(());
        };
        if !collector.still_open().await {
            return Err("the collector closed the connection".into());
        }
        round.unsettled.retain(|(s, _)| *s > seq);
        self.advance_cursor(sink, holder, seq).await
    }

    async fn advance_cursor(&self, sink: &str, holder: &str, seq: i64) -> Result<(), String> {
        let mut book = self.store().bookkeeping().await.map_err(|e| e.to_string())?;
        FeedCursors::advance(book.conn(), sink, holder, seq)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Each feed's distance behind the audit head, in entries (for the metrics).
    pub(crate) async fn siem_lag(&self) -> ServiceResult<Vec<(String, i64)>> {
        let mut conn = self.store().read().await?;
        let (head, _) = AuditRead::head(&mut conn).await?;
        Ok(FeedCursors::all(&mut conn)
            .await?
            .into_iter()
            .map(|(sink, seq)| (sink, head - seq))
            .collect())
    }
}

/// This machine's name, for the collectors' host field.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "daypass-broker".into())
}
