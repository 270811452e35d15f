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
