//! The access matrix as one read: resources, entitlements and approval policies with the revision
//! they are at. Every write to them raises the revision in its own transaction, so a copy kept by a
//! broker is known current while the revision it was read at is the database's.

use super::repo::decode;
use super::{StoreError, StoreResult};
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
            _ => {
                let k: String = r.try_get("k")?;
                out.revision = k
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("access matrix revision {k:?}")))?;
            }
        }
    }
    Ok(out)
}

/// Raises the matrix's revision: called by every write to it, after the write.
pub(super) async fn matrix_changed(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query("UPDATE access_matrix_revision SET revision = revision + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
