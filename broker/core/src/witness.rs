//! Audit checkpoints kept outside the database as they are signed: appended to a file, written as
//! a log line for the journal or a SIEM, posted to a witness URL. Someone with write access to the
//! database can cut the log's tail and its checkpoints together; they cannot take back what a
//! witness already holds, and `audit verify --checkpoints FILE` proves the log still contains
//! everything a witnessed checkpoint covers.

use crate::domain::audit::Checkpoint;
use secrecy::{ExposeSecret as _, SecretString};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where checkpoints are sent besides the database (any of them; two or more is better).
#[derive(Clone, Default)]
pub struct AuditWitness {
    /// A JSON-lines file appended to (0600).
    pub file: Option<PathBuf>,
    /// A log line per checkpoint (target `daypass_audit_witness`), for journald, syslog or a SIEM.
    pub log: bool,
    url: Option<(SecretString, reqwest::Client)>,
}

impl std::fmt::Debug for AuditWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWitness")
            .field("file", &self.file)
            .field("log", &self.log)
            .field("url", &self.url.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

impl AuditWitness {
    /// Checkpoints appended to `file` (if any) and logged (if `log`).
    pub fn new(file: Option<PathBuf>, log: bool) -> Self {
        AuditWitness { file, log, url: None }
    }

    /// A witness URL each checkpoint is POSTed to as JSON: HTTPS, or plain HTTP to this machine.
    pub fn with_url(mut self, url: SecretString) -> Result<Self, String> {
        let client = crate::tickets::outbound_client(&url, "audit_witness_url")?;
        self.url = Some((url, client));
        Ok(self)
    }

    /// How many places outside the database hold each checkpoint.
    pub fn places(&self) -> usize {
        usize::from(self.file.is_some()) + usize::from(self.log) + usize::from(self.url.is_some())
    }

    /// Hands a newly signed checkpoint to every configured place; says what failed (the checkpoint
    /// stays in the database either way, and the next one is sent again).
    pub async fn publish(&self, checkpoint: &Checkpoint) -> Vec<String> {
        let mut failed = Vec::new();
        if let Some(file) = &self.file {
            if let Err(e) = append(file, checkpoint) {
                failed.push(format!("{}: {e}", file.display()));
            }
        }
        if self.log {
            tracing::info!(
                target: "daypass_audit_witness",
                seq = checkpoint.seq,
                hash = %checkpoint.hash,
                at = %checkpoint.at,
                signature = %checkpoint.signature,
                "audit checkpoint"
            );
        }
        if let Some((url, client)) = &self.url {
            let sent = client
                .post(url.expose_secret())
                .json(checkpoint)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            if let Err(e) = sent {
                failed.push(format!("the witness URL: {}", e.without_url()));
            }
        }
        failed
    }
}

fn append(file: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    let line = serde_json::to_string(checkpoint).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")?;
    out.sync_all()
}

/// The checkpoints a witness file holds, one JSON object per line.
pub fn read_checkpoints(file: &Path) -> Result<Vec<Checkpoint>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: not a checkpoint ({e})", file.display(), n + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_witness_file_keeps_every_checkpoint_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("checkpoints.jsonl");
        let witness = AuditWitness {
            file: Some(file.clone()),
            ..AuditWitness::default()
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let (one, two) = (
            Checkpoint::sign(3, "aa", at, &key),
            Checkpoint::sign(9, "bb", at, &key),
        );
        assert!(witness.publish(&one).await.is_empty());
        assert!(witness.publish(&two).await.is_empty());
        let read = read_checkpoints(&file).unwrap();
        assert_eq!(read.iter().map(|c| c.seq).collect::<Vec<_>>(), [3, 9]);
        assert!(read.iter().all(|c| c.verify(&key.verifying_key())));
        std::fs::write(&file, "{\"seq\": 1}\n").unwrap();
        assert!(read_checkpoints(&file).unwrap_err().contains("line 1"));
    }

    #[test]
    fn only_https_or_loopback_witness_urls() {
        let url = |u: &str| SecretString::from(u.to_string());
        assert!(AuditWitness::default()
            .with_url(url("https://witness.example/cp"))
            .is_ok());
        assert!(AuditWitness::default()
            .with_url(url("http://127.0.0.1:9/cp"))
            .is_ok());
        assert!(AuditWitness::default()
            .with_url(url("http://witness.example/cp"))
            .is_err());
    }
}
