//! The access matrix: resources, entitlements and approval policies, each on its own and all as one
//! read with the revision they are at. Every write to them raises the revision in its transaction,
//! so a copy a broker keeps is current while the revision it was read at is the database's.

use super::repo::{all, decode, delete, encode, number_in, one, put};
use super::StoreResult;
use crate::domain::entitlement::Entitlement;
use crate::domain::policy::ApprovalPolicy;
use crate::domain::resource::Resource;
use sqlx::{AnyConnection, Row};

/// Resources, entitlements and approval policies at `revision`.
#[derive(Debug, Default)]
pub struct AccessMatrix {
    pub revision: i64,
    pub resources: Vec<Resource>,
    pub entitlements: Vec<Entitlement>,
    pub policies: Vec<ApprovalPolicy>,
}

/// The whole matrix, read in one statement (so at one revision).
pub async fn access_matrix(conn: &mut AnyConnection) -> StoreResult<AccessMatrix> {
    let rows = sqlx::query(
        "SELECT 'r' AS kind, name AS k, data FROM resources \
         UNION ALL SELECT 'e', id, data FROM entitlements \
         UNION ALL SELECT 'p', name, data FROM policies \
         UNION ALL SELECT 'v', CAST(revision AS TEXT), '' FROM access_matrix_revision WHERE id = 1 \
         ORDER BY kind, k",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = AccessMatrix::default();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        match kind.as_str() {
            "r" => out.resources.push(decode(r, "data")?),
            "e" => out.entitlements.push(decode(r, "data")?),
            "p" => out.policies.push(decode(r, "data")?),
            _ => out.revision = number_in(r, "k", "access matrix revision")?,
        }
    }
    Ok(out)
}

/// Saves one row of the matrix (`table` keyed by `key_col`) and raises the revision after it.
async fn put_row(
    conn: &mut AnyConnection,
    table: &str,
    key_col: &str,
    key: &str,
    data: String,
) -> StoreResult<()> {
    put(conn, table, key_col, key, data).await?;
    matrix_changed(conn).await
}

/// Deletes one row of the matrix, if there, and raises the revision after it.
async fn delete_row(conn: &mut AnyConnection, table: &str, key_col: &str, key: &str) -> StoreResult<bool> {
    let deleted = delete(conn, table, key_col, key).await?;
    matrix_changed(conn).await?;
    Ok(deleted)
}

async fn matrix_changed(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query("UPDATE access_matrix_revision SET revision = revision + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn resources(conn: &mut AnyConnection) -> StoreResult<Vec<Resource>> {
    all(conn, "SELECT data FROM resources ORDER BY name").await
}

pub async fn put_resource(conn: &mut AnyConnection, r: &Resource) -> StoreResult<()> {
    put_row(conn, "resources", "name", &r.name, encode(r)).await
}

pub async fn delete_resource(conn: &mut AnyConnection, name: &str) -> StoreResult<bool> {
    delete_row(conn, "resources", "name", name).await
}

pub async fn entitlements(conn: &mut AnyConnection) -> StoreResult<Vec<Entitlement>> {
    all(conn, "SELECT data FROM entitlements ORDER BY id").await
}

pub async fn put_entitlement(conn: &mut AnyConnection, e: &Entitlement) -> StoreResult<()> {
    put_row(conn, "entitlements", "id", &e.id, encode(e)).await
}

pub async fn delete_entitlement(conn: &mut AnyConnection, id: &str) -> StoreResult<bool> {
    delete_row(conn, "entitlements", "id", id).await
}

pub async fn policy(conn: &mut AnyConnection, name: &str) -> StoreResult<Option<ApprovalPolicy>> {
    one(conn, "SELECT data FROM policies WHERE name = $1", name).await
}

pub async fn policies(conn: &mut AnyConnection) -> StoreResult<Vec<ApprovalPolicy>> {
    all(conn, "SELECT data FROM policies ORDER BY name").await
}

pub async fn put_policy(conn: &mut AnyConnection, p: &ApprovalPolicy) -> StoreResult<()> {
    put_row(conn, "policies", "name", &p.name, encode(p)).await
}

pub async fn delete_policy(conn: &mut AnyConnection, name: &str) -> StoreResult<bool> {
    delete_row(conn, "policies", "name", name).await
}
