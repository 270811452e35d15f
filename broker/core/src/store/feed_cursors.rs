//! Where each SIEM feed has got to in the audit log (the last entry its collector has), and which
//! broker feeds it: a lease, so brokers sharing a database do not send every entry twice.

use super::StoreResult;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

pub struct FeedCursors;

impl FeedCursors {
    /// Takes or renews `sink`'s lease for `holder` until `until`; false when another broker holds it.
    pub async fn lease(
        conn: &mut AnyConnection,
        sink: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<bool> {
        sqlx::query(
            "INSERT INTO siem_cursors (sink, seq, holder, lease_until) VALUES ($1, 0, '', 0) ON CONFLICT DO NOTHING",
        )
        .bind(sink)
        .execute(&mut *conn)
        .await?;
        let taken = sqlx::query(
            "UPDATE siem_cursors SET holder = $2, lease_until = $3 WHERE sink = $1 AND (holder = $2 OR lease_until < $4)",
        )
        .bind(sink)
        .bind(holder)
        .bind(until.unix_timestamp())
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// The last entry `sink`'s collector is known to have (0: none yet).
    pub async fn position(conn: &mut AnyConnection, sink: &str) -> StoreResult<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM siem_cursors WHERE sink = $1")
            .bind(sink)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Moves `sink`'s cursor forward to `seq`, if `holder` still holds its lease.
    pub async fn advance(conn: &mut AnyConnection, sink: &str, holder: &str, seq: i64) -> StoreResult<bool> {
        let moved =
            sqlx::query("UPDATE siem_cursors SET seq = $2 WHERE sink = $1 AND holder = $3 AND seq < $2")
                .bind(sink)
                .bind(seq)
                .bind(holder)
                .execute(&mut *conn)
                .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// Every feed's cursor, for the metrics.
    pub async fn all(conn: &mut AnyConnection) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT sink, seq FROM siem_cursors ORDER BY sink")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("sink")?, r.try_get("seq")?)))
            .collect()
    }
}
