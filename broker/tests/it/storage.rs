//! Storage behaviour that the scenarios do not show: SQLite's WAL is checkpointed in the background.

use crate::support::{Db, Harness};
use std::time::Duration;

#[tokio::test]
async fn sqlite_wal_is_checkpointed_off_the_write_path() {
    let h = Harness::new(Db::Sqlite).await;
    let mut conn = h.broker.store().read().await.unwrap();
    let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(auto, 0, "commits must not checkpoint");
    drop(conn);
    let db_file = h
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .to_string();
    let size = || std::fs::metadata(&db_file).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for _ in 0..30 {
        h.granted("db", "OPS-1", "1h").await;
    }
    // Pages reach the main file only through the background checkpointer (it runs every second).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while size() <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the main database file never grew: no checkpoint ran"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
