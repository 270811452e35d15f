//! The places (networks, countries) each person's devices connected from, for the anomaly rules that
//! notice a new one.

use super::StoreResult;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Whether `person` connected from any place of `kind` before.
pub async fn knows_places(conn: &mut AnyConnection, person: &str, kind: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM places_seen WHERE person = $1 AND kind = $2")
        .bind(person)
        .bind(kind)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// Remembers that `person` connected from `place`; true when it is new for them.
pub async fn remember_place(
    conn: &mut AnyConnection,
    person: &str,
    kind: &str,
    place: &str,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let added = sqlx::query(
        "INSERT INTO places_seen (person, kind, place, first_seen) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(person)
    .bind(kind)
    .bind(place)
    .bind(now.unix_timestamp())
    .execute(&mut *conn)
    .await?;
    Ok(added.rows_affected() == 1)
}
