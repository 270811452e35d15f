//! Emergency stops: kept whole as JSON, with the state they are looked up by (in force or not).

use super::repo::{decode, encode, one};
use super::{Change, StoreResult};
use crate::domain::emergency::EmergencyStop;
use sqlx::AnyConnection;
use uuid::Uuid;

pub async fn put_emergency_stop(change: &mut Change, stop: &EmergencyStop) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO emergency_stops (id, state, proposed_at, data) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data",
    )
    .bind(stop.id.to_string())
    .bind(stop.recorded_state().as_str())
    .bind(stop.proposed_at.unix_timestamp())
    .bind(encode(stop))
    .execute(change.conn())
    .await?;
    change.directory_written();
    Ok(())
}

pub async fn emergency_stop(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<EmergencyStop>> {
    one(
        conn,
        "SELECT data FROM emergency_stops WHERE id = $1",
        &id.to_string(),
    )
    .await
}

/// The stops in force now.
pub async fn emergency_stops_in_force(conn: &mut AnyConnection) -> StoreResult<Vec<EmergencyStop>> {
    let rows = sqlx::query("SELECT data FROM emergency_stops WHERE state = 'in_force' ORDER BY proposed_at")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// The newest stops first (any state), at most `limit`.
pub async fn emergency_stops(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<EmergencyStop>> {
    let rows = sqlx::query("SELECT data FROM emergency_stops ORDER BY proposed_at DESC, id LIMIT $1")
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}
