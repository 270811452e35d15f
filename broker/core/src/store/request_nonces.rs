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
///
/// Its commit does not wait for the disk (`synchronous_commit` off for this statement's transaction
/// alone): a request that changes anything commits that change durably afterwards, and PostgreSQL
/// writes its log in order, so the nonce is on disk before any such request is answered. What a
/// crash of the database can lose is the nonce of a request that changed nothing, taken in the last
/// fraction of a second: sending that request again changes nothing either. Waiting for the disk
/// here was one flush per signed request, on the path of every one.
pub async fn session_holder_taking_nonce(
    conn: &mut AnyConnection,
    digest: &str,
    key: &str,
    until: OffsetDateTime,
) -> StoreResult<(Option<SessionHolder>, bool)> {
    let rows = sqlx::query(&format!(
        "WITH taken AS (INSERT INTO request_nonces (nonce_key, remember_until) SELECT $2, $3 \
           FROM (SELECT set_config('synchronous_commit', 'off', true)) AS not_waiting_for_the_disk \
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Taking a nonce does not wait for the disk for that statement alone: the connection's later
    /// commits (whatever it is used for next) still do.
    #[tokio::test]
    async fn taking_a_nonce_leaves_the_connection_s_commits_durable() {
        let store = super::super::postgres_store().await;
        let mut conn = store.read().await.unwrap();
        let until = time::macros::datetime!(2026-11-23 12:03 UTC);
        // An unknown session: no holder, but the nonce is taken all the same, and only once.
        for _ in 0..2 {
            let (holder, _) = session_holder_taking_nonce(&mut conn, "no-such-session", "s:n1", until)
                .await
                .unwrap();
            assert!(holder.is_none());
        }
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM request_nonces WHERE nonce_key = 's:n1'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(taken, 1);
        let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(setting, "on");
    }
}
