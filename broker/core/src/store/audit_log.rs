//! The audit log's rows: entries drafted ahead of their place in the chain, and the chain read
//! back — in order for verification and export, by subject for evidence, and filtered (newest
//! first) for auditors.

use super::bulk::{Kind, Table};
use super::repo::instant;
use super::{StoreError, StoreResult};
use crate::domain::audit::{AuditEntry, Checkpoint, EntryContents};
use futures::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

fn entry(row: &AnyRow) -> StoreResult<AuditEntry> {
    let at: i64 = row.try_get("at")?;
    let details: String = row.try_get("details")?;
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: instant(at)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        // An entry whose details are not JSON any more was edited; keep the text so the hash check names it.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str = "seq, at, actor, action, subject, details, prev_hash, hash";

/// An entry's row in `audit_log` (the columns of `COLUMNS`).
pub(super) const AUDIT_LOG: Table = Table {
    name: "audit_log",
    columns: &[
        ("seq", Kind::Int),
        ("at", Kind::Int),
        ("actor", Kind::Text),
        ("action", Kind::Text),
        ("subject", Kind::Text),
        ("details", Kind::Text),
        ("prev_hash", Kind::Text),
        ("hash", Kind::Text),
    ],
};

/// An audit entry written out before it takes its place in the chain: what its hash reads, and its
/// row but for the chain's columns. Placing it (under the audit head) is then a hash and a format.
#[derive(Debug, Clone)]
pub struct DraftEntry {
    contents: EntryContents,
    /// The row's `at, actor, action, subject, details` as JSON values, comma-separated.
    columns: String,
}

impl DraftEntry {
    pub fn new(
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        subject: &str,
        details: &serde_json::Value,
    ) -> Self {
        let details = details.to_string();
        let text = |s: &str| serde_json::Value::from(s).to_string();
        DraftEntry {
            contents: EntryContents::new(at, actor, action, subject, &details),
            columns: format!(
                "{},{},{},{},{}",
                at.unix_timestamp(),
                text(actor),
                text(action),
                text(subject),
                text(&details)
            ),
        }
    }

    /// The entry at `seq`, after the entry whose hash is `prev_hash`: its row of `AUDIT_LOG` (a
    /// JSON array, `bulk`) and its hash.
    pub(super) fn place(&self, prev_hash: &str, seq: i64) -> (String, String) {
        let hash = self.contents.hash(prev_hash, seq);
        // Hashes are hex: no escaping.
        let row = format!("[{seq},{},\"{prev_hash}\",\"{hash}\"]", self.columns);
        (row, hash)
    }
}

/// Which entries an auditor looks for: each field empty or unset matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub from: Option<OffsetDateTime>,
    /// Entries before this instant.
    pub to: Option<OffsetDateTime>,
}

/// Read access to the audit tables.
pub struct AuditRead;

impl AuditRead {
    /// Streams every entry in `seq` order to `f`, stopping at the first error it returns.
    pub async fn for_each<E: From<StoreError>>(
        conn: &mut AnyConnection,
        mut f: impl FnMut(AuditEntry) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            f(entry(&row)?)?;
        }
        Ok(())
    }

    pub async fn about(conn: &mut AnyConnection, subjects: &[String]) -> StoreResult<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for s in subjects {
            let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE subject = $1 ORDER BY seq");
            for row in sqlx::query(&sql).bind(s).fetch_all(&mut *conn).await? {
                out.push(entry(&row)?);
            }
        }
        out.sort_by_key(|e| e.seq);
        out.dedup_by_key(|e| e.seq);
        Ok(out)
    }

    /// The newest entries (at most `limit`) matching `filter`, newest first.
    pub async fn search(
        conn: &mut AnyConnection,
        filter: &AuditFilter,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) \
             AND ($3 = '' OR subject = $3) AND at >= $4 AND at < $5 ORDER BY seq DESC LIMIT $6"
        );
        let rows = sqlx::query(&sql)
            .bind(&filter.actor)
            .bind(&filter.action)
            .bind(&filter.subject)
            .bind(filter.from.map_or(i64::MIN, OffsetDateTime::unix_timestamp))
            .bind(filter.to.map_or(i64::MAX, OffsetDateTime::unix_timestamp))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(entry).collect()
    }

    /// When each person was first invited to enroll a passkey (the audit log keeps every invite).
    pub async fn first_invites(conn: &mut AnyConnection) -> StoreResult<Vec<(String, OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT subject, MIN(at) AS first FROM audit_log WHERE action = 'passkey.invited' GROUP BY subject",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("subject")?, super::repo::instant(r.try_get("first")?)?)))
            .collect()
    }

    /// When `person`'s requests (subject) and sign-ins (actor `person:ID`) were refused since `since`.
    pub async fn refusals_of(
        conn: &mut AnyConnection,
        person: &str,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<OffsetDateTime>> {
        let times: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM audit_log WHERE action IN ('request.refused', 'session.refused') AND at >= $1 \
             AND ((action = 'request.refused' AND subject = $2) OR (action = 'session.refused' AND actor = $3))",
        )
        .bind(since.unix_timestamp())
        .bind(person)
        .bind(format!("person:{person}"))
        .fetch_all(&mut *conn)
        .await?;
        times.into_iter().map(instant).collect()
    }

    /// Entries after `seq` in order, at most `limit` (the SIEM feeds' next batch).
    pub async fn after(conn: &mut AnyConnection, seq: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(seq)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(entry).collect()
    }

    pub async fn head(conn: &mut AnyConnection) -> StoreResult<(i64, String)> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    pub async fn checkpoints(conn: &mut AnyConnection) -> StoreResult<Vec<Checkpoint>> {
        let rows = sqlx::query("SELECT seq, at, hash, signature FROM audit_checkpoints ORDER BY seq")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                let at: i64 = r.try_get("at")?;
                Ok(Checkpoint {
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                    at: instant(at)?,
                    signature: r.try_get("signature")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::GENESIS_HASH;
    use crate::store::sqlite_store;

    #[tokio::test]
    async fn a_drafted_entry_is_stored_as_written_and_its_hash_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        // Text that needs escaping in JSON, and details that are themselves JSON with quotes.
        let details = serde_json::json!({ "reason": "it's \"late\"\n\\ ok", "n": [1, null] });
        let mut change = store.change().await.unwrap();
        change
            .audit(
                at,
                "person:ana \"x\"",
                "grant.ended",
                "g-1\u{7f}é",
                details.clone(),
            )
            .await
            .unwrap();
        change.commit().await.unwrap();
        let mut conn = store.read().await.unwrap();
        let stored = AuditRead::after(&mut conn, 0, 10).await.unwrap();
        let [entry] = stored.as_slice() else {
            panic!("one entry: {stored:?}")
        };
        assert_eq!(
            (
                entry.seq,
                entry.at,
                entry.actor.as_str(),
                entry.action.as_str(),
                entry.subject.as_str()
            ),
            (1, at, "person:ana \"x\"", "grant.ended", "g-1\u{7f}é")
        );
        assert_eq!(entry.details, details);
        assert_eq!(entry.prev_hash, GENESIS_HASH);
        assert_eq!(entry.recompute_hash(), entry.hash);
        assert_eq!(AuditRead::head(&mut conn).await.unwrap(), (1, entry.hash.clone()));
    }
}
