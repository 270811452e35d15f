//! Rows of the passkey tables: invites and sessions by the digest of their secret, passkeys by
//! credential id, and ceremonies that can be taken exactly once.

use super::repo::{all_by, decode, decode_optional, encode, one, put};
use super::StoreResult;
use crate::domain::directory::{Device, Person};
use crate::domain::passkey::{Ceremony, Invite, PasskeyRecord, Session};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn invite(conn: &mut AnyConnection, digest: &str) -> StoreResult<Option<Invite>> {
    one(conn, "SELECT data FROM invites WHERE code_hash = $1", digest).await
}

/// Every invite, with the digest of its code.
pub async fn invites(conn: &mut AnyConnection) -> StoreResult<Vec<(String, Invite)>> {
    let rows = sqlx::query("SELECT code_hash, data FROM invites ORDER BY code_hash")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, decode(r, "data")?)))
        .collect()
}

pub async fn put_invite(conn: &mut AnyConnection, digest: &str, invite: &Invite) -> StoreResult<()> {
    put(conn, "invites", "code_hash", digest, encode(invite)).await
}

pub async fn passkey(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<PasskeyRecord>> {
    one(conn, "SELECT data FROM passkeys WHERE id = $1", id).await
}

pub async fn passkeys_of(conn: &mut AnyConnection, person: &str) -> StoreResult<Vec<PasskeyRecord>> {
    all_by(
        conn,
        "SELECT data FROM passkeys WHERE person = $1 ORDER BY id",
        person,
    )
    .await
}

pub async fn put_passkey(conn: &mut AnyConnection, p: &PasskeyRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO passkeys (id, person, data) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    )
    .bind(&p.id)
    .bind(&p.person)
    .bind(encode(p))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn put_ceremony(conn: &mut AnyConnection, c: &Ceremony) -> StoreResult<()> {
    sqlx::query("INSERT INTO ceremonies (id, used, data) VALUES ($1, 0, $2)")
        .bind(c.id.to_string())
        .bind(encode(c))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The ceremony, marked used in the same statement: a second answer to one challenge finds nothing.
pub async fn take_ceremony(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<Ceremony>> {
    let row = sqlx::query("UPDATE ceremonies SET used = 1 WHERE id = $1 AND used = 0 RETURNING data")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| decode(&r, "data")).transpose()
}

/// Ceremonies answered, or left unanswered past their time: nothing will read them again.
pub async fn spent_ceremonies(conn: &mut AnyConnection, now: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
    let rows = sqlx::query("SELECT used, data FROM ceremonies")
        .fetch_all(&mut *conn)
        .await?;
    let mut spent = Vec::new();
    for row in &rows {
        let used: i64 = row.try_get(0)?;
        let c: Ceremony = decode(row, "data")?;
        if used != 0 || c.expires_at <= now {
            spent.push(c.id);
        }
    }
    Ok(spent)
}

pub async fn delete_ceremonies(conn: &mut AnyConnection, ids: &[Uuid]) -> StoreResult<()> {
    for id in ids {
        sqlx::query("DELETE FROM ceremonies WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// An unanswered ceremony, left as it is.
pub async fn open_ceremony(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<Ceremony>> {
    let row = sqlx::query("SELECT data FROM ceremonies WHERE id = $1 AND used = 0")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| decode(&r, "data")).transpose()
}

pub async fn session(conn: &mut AnyConnection, digest: &str) -> StoreResult<Option<Session>> {
    one(conn, "SELECT data FROM sessions WHERE token_hash = $1", digest).await
}

/// A session with its person and that person's devices, read together.
#[derive(Debug)]
pub struct SessionHolder {
    pub session: Session,
    /// Absent if the person was removed.
    pub person: Option<Person>,
    pub devices: Vec<Device>,
}

/// The session stored under `digest`, its person and their devices: one statement (a row per
/// device), as every signed call of the app authenticates with all three.
pub async fn session_holder(conn: &mut AnyConnection, digest: &str) -> StoreResult<Option<SessionHolder>> {
    let rows = sqlx::query(&format!("SELECT {HOLDER_COLUMNS} FROM {HOLDER_ROWS}"))
        .bind(digest)
        .fetch_all(&mut *conn)
        .await?;
    holder_of(&rows)
}

/// What `session_holder` selects, from the rows of the session under `$1`.
pub(super) const HOLDER_COLUMNS: &str = "s.data AS session, p.data AS person, d.data AS device";
pub(super) const HOLDER_ROWS: &str = "sessions s LEFT JOIN people p ON p.id = s.person \
     LEFT JOIN devices d ON d.person = s.person WHERE s.token_hash = $1";

/// The holder in rows of `HOLDER_COLUMNS` (none: no such session).
pub(super) fn holder_of(rows: &[AnyRow]) -> StoreResult<Option<SessionHolder>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut devices = Vec::with_capacity(rows.len());
    for row in rows {
        devices.extend(decode_optional::<Device>(row, "device")?);
    }
    Ok(Some(SessionHolder {
        session: decode(first, "session")?,
        person: decode_optional(first, "person")?,
        devices,
    }))
}

pub async fn put_session(conn: &mut AnyConnection, digest: &str, s: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, person, data) VALUES ($1, $2, $3) \
         ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data",
    )
    .bind(digest)
    .bind(&s.person)
    .bind(encode(s))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every session of a person, with the digest it is stored under.
pub async fn sessions_of(conn: &mut AnyConnection, person: &str) -> StoreResult<Vec<(String, Session)>> {
    let rows = sqlx::query("SELECT token_hash, data FROM sessions WHERE person = $1")
        .bind(person)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            use sqlx::Row as _;
            Ok((r.try_get("token_hash")?, decode(r, "data")?))
        })
        .collect()
}
