//! The gateways' change log: which grants changed at each revision of a gateway's state, read by
//! the gateway streams to send deltas, and pruned once no stream can still need it.

use super::StoreResult;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// The grants that changed for `gateway` after revision `after`, oldest revision first.
pub async fn gateway_changes_since(
    conn: &mut AnyConnection,
    gateway: &str,
    after: i64,
) -> StoreResult<Vec<(i64, Uuid)>> {
    let rows = sqlx::query(
        "SELECT revision, grant_id FROM gateway_changes WHERE gateway = $1 AND revision > $2 ORDER BY revision, grant_id",
    )
    .bind(gateway)
    .bind(after)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(1)?;
            let id = Uuid::parse_str(&id)
                .map_err(|e| super::StoreError::Corrupt(format!("gateway_changes grant {id:?}: {e}")))?;
            Ok((r.try_get(0)?, id))
        })
        .collect()
}

/// Forgets changes logged before `before`; a stream that far behind gets a full state instead.
pub async fn prune_gateway_changes(conn: &mut AnyConnection, before: OffsetDateTime) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM gateway_changes WHERE at < $1")
        .bind(before.unix_timestamp())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
