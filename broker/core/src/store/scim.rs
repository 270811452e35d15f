//! What SCIM keeps beside the directory: users and groups as the identity provider set them, and
//! the SCIM bearer tokens (by digest).

use super::repo::{decode, decode_optional, encode, one};
use super::StoreResult;
use crate::domain::directory::Person;
use crate::domain::scim::{Record, Token};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

async fn records(conn: &mut AnyConnection, sql: &str) -> StoreResult<Vec<(String, Record)>> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("id")?, decode(r, "data")?)))
        .collect()
}

pub async fn scim_user(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Record>> {
    one(conn, "SELECT data FROM scim_users WHERE id = $1", id).await
}

/// Every user SCIM provisioned (deleted ones too), by person id.
pub async fn scim_users(conn: &mut AnyConnection) -> StoreResult<Vec<(String, Record)>> {
    records(conn, "SELECT id, data FROM scim_users ORDER BY id").await
}

/// People a SCIM user name may be of (`user_name` lowercased): whom SCIM provisioned under it, and
/// whose id it is; each with what SCIM keeps of them. Read by index, not the whole directory.
pub async fn people_by_user_name(
    conn: &mut AnyConnection,
    user_name: &str,
) -> StoreResult<Vec<(Person, Option<Record>)>> {
    let rows = sqlx::query(
        "SELECT p.id AS id, p.data AS person, u.data AS kept FROM people p \
         LEFT JOIN scim_users u ON u.id = p.id WHERE lower(p.id) = $1 \
         UNION ALL SELECT p.id, p.data, u.data FROM scim_users u JOIN people p ON p.id = u.id \
         WHERE u.user_name = $1 AND lower(p.id) <> $1 ORDER BY id",
    )
    .bind(user_name)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(person_with_kept).collect()
}

/// Person `id`, with what SCIM keeps of them.
pub async fn person_with_scim_user(
    conn: &mut AnyConnection,
    id: &str,
) -> StoreResult<Option<(Person, Option<Record>)>> {
    let row = sqlx::query(
        "SELECT p.data AS person, u.data AS kept FROM people p LEFT JOIN scim_users u ON u.id = p.id \
         WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(person_with_kept).transpose()
}

fn person_with_kept(row: &AnyRow) -> StoreResult<(Person, Option<Record>)> {
    Ok((decode(row, "person")?, decode_optional(row, "kept")?))
}

pub async fn put_scim_user(conn: &mut AnyConnection, id: &str, record: &Record) -> StoreResult<()> {
    let user_name = record.resource["userName"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    sqlx::query(
        "INSERT INTO scim_users (id, user_name, data) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET user_name = excluded.user_name, data = excluded.data",
    )
    .bind(id)
    .bind(user_name)
    .bind(encode(record))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn scim_group(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Record>> {
    one(conn, "SELECT data FROM scim_groups WHERE id = $1", id).await
}

/// Every group SCIM made, by Daypass group name.
pub async fn scim_groups(conn: &mut AnyConnection) -> StoreResult<Vec<(String, Record)>> {
    records(conn, "SELECT id, data FROM scim_groups ORDER BY id").await
}

pub async fn put_scim_group(conn: &mut AnyConnection, id: &str, record: &Record) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scim_groups (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    )
    .bind(id)
    .bind(encode(record))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete_scim_group(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM scim_groups WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn scim_token(conn: &mut AnyConnection, token_hash: &str) -> StoreResult<Option<Token>> {
    one(
        conn,
        "SELECT data FROM scim_tokens WHERE token_hash = $1",
        token_hash,
    )
    .await
}

pub async fn scim_tokens(conn: &mut AnyConnection) -> StoreResult<Vec<Token>> {
    let rows = sqlx::query("SELECT data FROM scim_tokens ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

pub async fn put_scim_token(conn: &mut AnyConnection, token_hash: &str, token: &Token) -> StoreResult<()> {
    sqlx::query("INSERT INTO scim_tokens (token_hash, name, data) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(&token.name)
        .bind(encode(token))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the tokens named `name`; how many there were.
pub async fn delete_scim_tokens(conn: &mut AnyConnection, name: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM scim_tokens WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
