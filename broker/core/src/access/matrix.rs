//! Each broker's copy of the access matrix, read again only when the database's revision of it
//! has moved (by this broker or another on the same database): a decision reads the revision with
//! its other inputs, not every resource, entitlement and policy.

use crate::store::{self, AccessMatrix};
use crate::{Broker, ServiceResult};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub(crate) struct MatrixCopy(Mutex<Option<Arc<AccessMatrix>>>);

impl MatrixCopy {
    fn at(&self, revision: i64) -> Option<Arc<AccessMatrix>> {
        let copy = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        copy.as_ref().filter(|m| m.revision == revision).cloned()
    }

    fn keep(&self, matrix: Arc<AccessMatrix>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(matrix);
    }
}

impl Broker {
    /// The access matrix at `revision` (the database's, as just read), or later if it moved on
    /// meanwhile.
    pub(crate) async fn access_matrix_at(
        &self,
        conn: &mut sqlx::AnyConnection,
        revision: i64,
    ) -> ServiceResult<Arc<AccessMatrix>> {
        if let Some(matrix) = self.0.matrix.at(revision) {
            return Ok(matrix);
        }
        let matrix = Arc::new(store::access_matrix(conn).await?);
        self.0.matrix.keep(matrix.clone());
        Ok(matrix)
    }
}
