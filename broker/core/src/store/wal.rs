//! SQLite WAL checkpoints off the write path: a connection of its own copies the log back into the
//! database every second, so the one writer never stalls on a checkpoint's fsync.

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions as _};
use std::time::Duration;

/// Pooled connections run with `wal_autocheckpoint = 0`; this task does the checkpointing instead,
/// in PASSIVE mode (it never waits for, or blocks, readers and the writer). It stops with the pool.
pub(super) async fn spawn_checkpointer(options: &AnyConnectOptions, pool: AnyPool) -> sqlx::Result<()> {
    let mut conn: AnyConnection = options.connect().await?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut conn)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::Store;
    use std::time::Duration;

    #[tokio::test]
    async fn sqlite_wal_is_checkpointed_off_the_write_path() {
        let dir = tempfile::tempdir().unwrap();
        let db_file = dir.path().join("broker.db");
        let store = Store::open(&format!("sqlite://{}?mode=rwc", db_file.display()))
            .await
            .unwrap();
        let mut conn = store.read().await.unwrap();
        let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(auto, 0, "commits must not checkpoint");
        let size = || std::fs::metadata(&db_file).map(|m| m.len()).unwrap_or(0);
        let before = size();
        sqlx::query("CREATE TABLE filler (body TEXT)")
            .execute(&mut *conn)
            .await
            .unwrap();
        for _ in 0..30 {
            sqlx::query("INSERT INTO filler (body) VALUES ($1)")
                .bind("x".repeat(4096))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        drop(conn);
        // Pages reach the main file only through the background checkpointer (it runs every second).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while size() <= before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the main database file never grew: no checkpoint ran"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        store.close().await;
    }
}
