//! Telling a database outage from a failed write: which errors mean "unreachable or restarting,
//! nothing written, try again", and which mean the connection went while a commit was under way.

use super::StoreError;

impl StoreError {
    /// The database was unreachable, restarting or out of connections (or asked for the transaction
    /// to be retried): nothing of the change was written, and the same call can be tried again soon.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => transient(e),
            StoreError::Unavailable(_) => true,
            _ => false,
        }
    }

    /// This error again, for each caller of a batch that failed as a whole.
    pub(super) fn for_each_caller(&self) -> StoreError {
        match self {
            StoreError::CommitUnknown(m) => StoreError::CommitUnknown(m.clone()),
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::Database(e) if transient(e) => StoreError::Unavailable(e.to_string()),
            StoreError::Batch(m) => StoreError::Batch(m.clone()),
            e => StoreError::Batch(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if connection_lost(&e) {
            super::reads::note_connection_lost();
        }
        StoreError::Database(e)
    }
}

/// What a failed COMMIT means: a lost connection leaves it unknown whether the server committed.
pub(super) fn commit_failed(e: sqlx::Error) -> StoreError {
    if connection_lost(&e) {
        StoreError::CommitUnknown(e.to_string())
    } else {
        StoreError::Database(e)
    }
}

fn transient(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    connection_lost(e)
        || matches!(e, E::PoolTimedOut | E::PoolClosed)
        // Serialization failure, deadlock, too many connections, starting up.
        || matches!(sqlstate(e).as_deref(), Some("40001" | "40P01" | "53300" | "57P03"))
}

/// The connection broke, or the server ended it (shutting down, crashed).
fn connection_lost(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => true,
        _ => sqlstate(e)
            .is_some_and(|code| code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02")),
    }
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn refused() -> sqlx::Error {
        sqlx::Error::Io(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"))
    }

    #[test]
    fn an_unreachable_database_is_transient_and_a_bad_row_is_not() {
        assert!(StoreError::Database(refused()).is_transient());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        assert!(!StoreError::Corrupt("x".into()).is_transient());
        assert!(
            !StoreError::CommitUnknown("x".into()).is_transient(),
            "a retry could record it twice"
        );
    }

    #[test]
    fn a_connection_lost_at_commit_leaves_the_outcome_unknown() {
        assert!(matches!(commit_failed(refused()), StoreError::CommitUnknown(_)));
        assert!(matches!(
            commit_failed(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }

    #[test]
    fn each_caller_of_a_failed_batch_learns_what_kind_of_failure_it_was() {
        let outage = StoreError::Database(refused()).for_each_caller();
        assert!(matches!(outage, StoreError::Unavailable(_)) && outage.is_transient());
        assert!(matches!(
            StoreError::CommitUnknown("lost".into()).for_each_caller(),
            StoreError::CommitUnknown(_)
        ));
        assert!(matches!(
            StoreError::Corrupt("bad".into()).for_each_caller(),
            StoreError::Batch(_)
        ));
    }
}
