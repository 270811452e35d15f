//! Verifying, searching and exporting the audit chain.

use super::{Broker, Caller, ServiceError, ServiceResult};
use crate::domain::audit::{AuditEntry, ChainBreak, ChainSummary, ChainVerifier, Checkpoint};
use crate::domain::directory::Role;
use crate::store::{AuditFilter, AuditRead, StoreError};

/// The result of `audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    Intact(ChainSummary),
    Broken(ChainBreak),
}

enum Stop {
    Break(ChainBreak),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl Broker {
    /// Walks the whole chain: links, hashes, recorded head and every signed checkpoint.
    pub async fn verify_audit(&self) -> ServiceResult<VerifyOutcome> {
        self.verify_audit_against(vec![]).await
    }

    /// As `verify_audit`, holding the chain also to checkpoints kept outside the database (a
    /// witness's): whoever cut the log's tail and its checkpoints in the database cannot take
    /// those back.
    pub async fn verify_audit_against(&self, witnessed: Vec<Checkpoint>) -> ServiceResult<VerifyOutcome> {
        let mut conn = self.store().read().await?;
        let mut checkpoints = AuditRead::checkpoints(&mut conn).await?;
        checkpoints.extend(witnessed);
        let (head_seq, head_hash) = AuditRead::head(&mut conn).await?;
        let mut verifier = match ChainVerifier::new(&self.verifying_key(), checkpoints) {
            Ok(v) => v,
            Err(b) => return Ok(VerifyOutcome::Broken(b)),
        };
        let walked = AuditRead::for_each(&mut conn, |e| verifier.push(&e).map_err(Stop::Break)).await;
        match walked {
            Err(Stop::Break(b)) => Ok(VerifyOutcome::Broken(b)),
            Err(Stop::Store(e)) => Err(ServiceError::Store(e)),
            Ok(()) => Ok(match verifier.finish((head_seq, &head_hash)) {
                Ok(s) => VerifyOutcome::Intact(s),
                Err(b) => VerifyOutcome::Broken(b),
            }),
        }
    }

    /// The newest entries (at most `limit`) matching `filter`, for auditors and admins.
    pub async fn audit_entries(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        limit: i64,
    ) -> ServiceResult<Vec<AuditEntry>> {
        caller.person_with(&[Role::Auditor, Role::Admin])?;
        let mut conn = self.store().read().await?;
        Ok(AuditRead::search(&mut conn, filter, limit.clamp(1, 1000)).await?)
    }

    /// The entries after `after`, oldest first, at most `limit` (1–1000; admins and auditors): a
    /// SIEM or an integrator follows the log page by page.
    pub async fn audit_entries_after(
        &self,
        caller: &Caller,
        after: i64,
        limit: i64,
    ) -> ServiceResult<Vec<AuditEntry>> {
        caller.person_with(&[Role::Admin, Role::Auditor])?;
        let mut conn = self.store().read().await?;
        Ok(AuditRead::after(&mut conn, after.max(0), limit.clamp(1, 1000)).await?)
    }

    /// Streams every entry in order to `sink` (for JSON-lines or syslog export).
    pub async fn export_audit(
        &self,
        mut sink: impl FnMut(&AuditEntry) -> std::io::Result<()>,
    ) -> ServiceResult<()> {
        let mut conn = self.store().read().await?;
        AuditRead::for_each(&mut conn, |e| {
            sink(&e).map_err(|io| StoreError::Config(format!("writing the export failed: {io}")))
        })
        .await?;
        Ok(())
    }
}

/// One RFC 5424 syslog line per entry, the entry itself as JSON in the message.
pub fn syslog_line(e: &AuditEntry, hostname: &str) -> String {
    let ts =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    // facility authpriv (10), severity notice (5): PRI = 10 * 8 + 5 = 85
    let msg = serde_json::to_string(e).unwrap_or_default();
    format!("<85>1 {ts} {hostname} daypass-broker - {} - {msg}", e.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn syslog_line_has_priority_timestamp_and_msgid() {
        let e = AuditEntry {
            seq: 1,
            at: datetime!(2026-11-23 10:00 UTC),
            actor: "ana".into(),
            action: "grant.issued".into(),
            subject: "g".into(),
            details: serde_json::json!({}),
            prev_hash: "0".into(),
            hash: "h".into(),
        };
        let line = syslog_line(&e, "broker1");
        assert!(
            line.starts_with("<85>1 2026-11-23T10:00:00Z broker1 daypass-broker - grant.issued - {"),
            "{line}"
        );
    }
}
