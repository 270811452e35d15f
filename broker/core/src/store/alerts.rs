//! Anomaly alerts: kept whole as JSON, with the person, rule, state and time they are looked up by.

use super::repo::{decode, encode, one};
use super::StoreResult;
use crate::domain::anomaly::{Alert, Rule};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn put_alert(conn: &mut AnyConnection, a: &Alert) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO alerts (id, person, rule, state, raised_at, data) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data",
    )
    .bind(a.id.to_string())
    .bind(&a.person)
    .bind(a.rule.name())
    .bind(a.state.name())
    .bind(a.raised_at.unix_timestamp())
    .bind(encode(a))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn alert(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<Alert>> {
    one(conn, "SELECT data FROM alerts WHERE id = $1", &id.to_string()).await
}

/// The newest alerts first, at most `limit`; open ones only when `open_only`.
pub async fn alerts(conn: &mut AnyConnection, open_only: bool, limit: i64) -> StoreResult<Vec<Alert>> {
    let rows = sqlx::query(
        "SELECT data FROM alerts WHERE ($1 = 0 OR state <> 'closed') ORDER BY raised_at DESC, id LIMIT $2",
    )
    .bind(i64::from(open_only))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Alerts raised in `[from, to]`, oldest first.
pub async fn alerts_between(
    conn: &mut AnyConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> StoreResult<Vec<Alert>> {
    let rows = sqlx::query(
        "SELECT data FROM alerts WHERE raised_at >= $1 AND raised_at <= $2 ORDER BY raised_at, id",
    )
    .bind(from.unix_timestamp())
    .bind(to.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Whether `rule` already raised an alert about `person` since `since` (one alert per spell).
pub async fn raised_since(
    conn: &mut AnyConnection,
    person: &str,
    rule: Rule,
    since: OffsetDateTime,
) -> StoreResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE person = $1 AND rule = $2 AND raised_at >= $3")
            .bind(person)
            .bind(rule.name())
            .bind(since.unix_timestamp())
            .fetch_one(&mut *conn)
            .await?;
    Ok(n > 0)
}
