//! Each grant's device in a column of its own, so the sweep's silence check asks the database for
//! the live grants of devices it has not heard from, instead of reading and decoding every live
//! grant (every 30 s, inside the change that holds the audit head, on every broker).

use super::repo::{add_column_if_missing, decode, mark_upgrade_done, upgrade_done};
use super::StoreResult;
use crate::domain::grant::GrantRecord;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Live grants that began by `since` (to the second) and whose device sent no posture report from
/// `since` on; the caller checks each grant's watch, hold and exact start.
pub async fn grants_of_unheard_devices(
    conn: &mut AnyConnection,
    since: OffsetDateTime,
) -> StoreResult<Vec<GrantRecord>> {
    // Stored times are whole seconds: a report in `since`'s second but before it is not counted.
    let from = since.unix_timestamp() + i64::from(since.nanosecond() > 0);
    // A grant with no device recorded (none should be live: `fill_grant_devices`) is never taken
    // as heard from.
    let rows = sqlx::query(
        "SELECT data FROM grants g WHERE live = 1 AND issued_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM posture_reports p WHERE p.device = g.device AND p.received_at >= $2) \
         ORDER BY issued_at, id",
    )
    .bind(since.unix_timestamp())
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

const FILLED: &str = "grant_devices_filled";

/// For a database written before grants had the column: adds it and fills it in for every live
/// grant, once.
pub async fn fill_grant_devices(conn: &mut AnyConnection) -> StoreResult<()> {
    if upgrade_done(conn, FILLED).await? {
        return Ok(());
    }
    add_column_if_missing(conn, "grants", "device", "TEXT").await?;
    let rows = sqlx::query("SELECT data FROM grants WHERE live = 1 AND device IS NULL")
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        let g: GrantRecord = decode(row, "data")?;
        sqlx::query("UPDATE grants SET device = $1 WHERE id = $2")
            .bind(&g.grant.device.id)
            .bind(g.grant.id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    mark_upgrade_done(conn, FILLED).await
}
