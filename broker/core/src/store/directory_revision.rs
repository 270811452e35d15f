//! A count of the writes to people, devices and emergency stops, kept on the audit head's row. A
//! decision reads it with the people, device and stops it rests on; its group write, which holds the
//! head, reads those again only when the count has moved since (one round trip fewer while the head
//! is held, in the usual case that nothing in the directory changed meanwhile).

use super::StoreResult;
use sqlx::AnyConnection;

/// Moves the count on. Called by every write to `people`, `devices` and `emergency_stops`, after
/// it: a decision that read the row before the write then also read the count before this.
pub(super) async fn directory_changed(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query("UPDATE audit_head SET directory_revision = directory_revision + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
