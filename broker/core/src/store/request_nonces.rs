//! The nonces of signed session requests, shared by every broker on one PostgreSQL database, so a
//! request taken by one broker is refused by all the others (see `replay.rs`).

use super::passkeys::{holder_of, SessionHolder, HOLDER_COLUMNS, HOLDER_ROWS};
use super::StoreResult;
use sqlx::{AnyConnection, Row as _};
use time::OffsetDateTime;

/// `session_holder` on PostgreSQL, taking in the same statement the nonce `key` (a session's digest
/// and a nonce) to be remembered until `until`: also says whether this was the key's first use.
/// The nonce is recorded even when the session is unknown or the signature turns out bad; being
/// random, a nonce recorded for nothing costs nobody a request.
pub async fn session_holder_taking_nonce(
    conn: &mut AnyConnection,
    digest: &str,
    key: &str,
    until: OffsetDateTime,
) -> StoreResult<(Option<SessionHolder>, bool)> {
    let rows = sqlx::query(&format!(
        "WITH taken AS (INSERT INTO request_nonces (nonce_key, remember_until) VALUES ($2, $3) \
         ON CONFLICT (nonce_key) DO NOTHING RETURNING 1) \
         SELECT {HOLDER_COLUMNS}, (SELECT COUNT(*) FROM taken) AS first_use FROM {HOLDER_ROWS}"
    ))
    .bind(digest)
    .bind(key)
    .bind(until.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    let first_use = match rows.first() {
        Some(row) => row.try_get::<i64, _>("first_use")? == 1,
        None => false,
    };
    Ok((holder_of(&rows)?, first_use))
}

/// Forgets the nonces no longer worth remembering before `before`.
pub async fn prune_request_nonces(conn: &mut AnyConnection, before: OffsetDateTime) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM request_nonces WHERE remember_until < $1")
            .bind(before.unix_timestamp())
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
