//! The writes a change leaves for its commit — rows it staged, its audit entries and the chain's
//! new head, the revisions of the gateways whose grants it touched — made in one statement on
//! PostgreSQL (one round trip while the audit head is held, where there were one per write) and
//! one after another on SQLite.

use super::bulk::{self, Kind, Table};
use super::{Backend, StoreResult, NOTIFY_CHANNEL};
use sqlx::AnyConnection;
use uuid::Uuid;

/// One write of a commit; every row list is a JSON array (`bulk`).
pub(super) enum Part {
    /// Rows into a table.
    Insert(&'static Table, String),
    /// The audit chain's new head; the count of directory writes moves on if the change made one.
    Head {
        seq: i64,
        hash: String,
        directory_written: bool,
    },
    /// The named gateways go up one revision each.
    Raise { gateways: String },
    /// `[gateway, grant, at]` rows, each logged at its gateway's new revision (0 for a gateway not
    /// stored). Follows the `Raise` naming the same gateways.
    Log { changes: String },
}

/// A value for a statement's parameter.
enum Bound {
    Text(String),
    Int(i64),
}

impl Part {
    /// The statement, its parameters numbered from `$first`.
    fn sql(&self, backend: Backend, first: usize) -> String {
        match self {
            Part::Insert(table, _) => table.insert(backend, first),
            Part::Head { .. } => format!(
                "UPDATE audit_head SET seq = ${first}, hash = ${}, \
                 directory_revision = directory_revision + ${} WHERE id = 1",
                first + 1,
                first + 2
            ),
            Part::Raise { .. } => {
                let raise = format!(
                    "UPDATE gateways SET revision = revision + 1 WHERE name IN ({})",
                    bulk::keys(backend, first)
                );
                match backend {
                    Backend::Postgres => format!("{raise} RETURNING name, revision"),
                    Backend::Sqlite => raise,
                }
            }
            Part::Log { .. } => {
                // On PostgreSQL the raise is a sibling in the same statement, whose snapshot does not
                // see it: the new revisions are read from what it returned.
                let revisions = match backend {
                    Backend::Postgres => RAISED,
                    Backend::Sqlite => "gateways",
                };
                let gateway = bulk::field(backend, 0, Kind::Text);
                format!(
                    "INSERT INTO gateway_changes (gateway, revision, grant_id, at) \
                     SELECT {gateway}, COALESCE(g.revision, 0), {}, {} FROM {} \
                     LEFT JOIN {revisions} AS g ON g.name = {gateway}",
                    bulk::field(backend, 1, Kind::Text),
                    bulk::field(backend, 2, Kind::Int),
                    bulk::rows(backend, first)
                )
            }
        }
    }

    fn bound(&self) -> Vec<Bound> {
        match self {
            Part::Insert(_, rows) => vec![Bound::Text(rows.clone())],
            Part::Head {
                seq,
                hash,
                directory_written,
            } => vec![
                Bound::Int(*seq),
                Bound::Text(hash.clone()),
                Bound::Int(i64::from(*directory_written)),
            ],
            Part::Raise { gateways } => vec![Bound::Text(gateways.clone())],
            Part::Log { changes } => vec![Bound::Text(changes.clone())],
        }
    }
}

/// The name the raise goes by in PostgreSQL's one statement.
const RAISED: &str = "raised";

/// Makes `parts` in order. On PostgreSQL the other brokers are notified for each gateway raised
/// (`INSTANCE GATEWAY`, `instance` being this broker's), in the same statement.
pub(super) async fn write(
    conn: &mut AnyConnection,
    backend: Backend,
    parts: &[Part],
    instance: Uuid,
) -> StoreResult<()> {
    if parts.is_empty() {
        return Ok(());
    }
    match backend {
        Backend::Sqlite => {
            for part in parts {
                run(conn, &part.sql(backend, 1), part.bound()).await?;
            }
            Ok(())
        }
        Backend::Postgres => {
            let (sql, bound) = one_statement(parts, instance);
            run(conn, &sql, bound).await
        }
    }
}

/// `parts` as one PostgreSQL statement: each a data-modifying `WITH` query.
fn one_statement(parts: &[Part], instance: Uuid) -> (String, Vec<Bound>) {
    let mut queries = Vec::with_capacity(parts.len());
    let mut bound = Vec::new();
    let mut raises = false;
    for (i, part) in parts.iter().enumerate() {
        let name = match part {
            Part::Raise { .. } => {
                raises = true;
                RAISED.to_string()
            }
            _ => format!("w{i}"),
        };
        queries.push(format!(
            "{name} AS ({})",
            part.sql(Backend::Postgres, bound.len() + 1)
        ));
        bound.extend(part.bound());
    }
    let last = if raises {
        bound.push(Bound::Text(instance.to_string()));
        // Gateway names have no spaces (`validate_name`), so `INSTANCE GATEWAY` splits cleanly.
        format!(
            "SELECT CAST(pg_notify('{NOTIFY_CHANNEL}', ${} || ' ' || name) AS TEXT) FROM {RAISED}",
            bound.len()
        )
    } else {
        "SELECT 1".to_string()
    };
    (format!("WITH {} {last}", queries.join(", ")), bound)
}

async fn run(conn: &mut AnyConnection, sql: &str, bound: Vec<Bound>) -> StoreResult<()> {
    let query = bound.into_iter().fold(sqlx::query(sql), |q, value| match value {
        Bound::Text(text) => q.bind(text),
        Bound::Int(int) => q.bind(int),
    });
    query.fetch_all(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_one_statement_with_parameters_numbered_across_its_parts() {
        static TABLE: Table = Table {
            name: "t",
            columns: &[("a", Kind::Text)],
        };
        let parts = [
            Part::Insert(&TABLE, "[]".into()),
            Part::Head {
                seq: 7,
                hash: "h".into(),
                directory_written: true,
            },
            Part::Raise {
                gateways: "[\"g\"]".into(),
            },
            Part::Log { changes: "[]".into() },
        ];
        let (sql, bound) = one_statement(&parts, Uuid::nil());
        assert_eq!(bound.len(), 7);
        for n in 1..=7 {
            assert!(sql.contains(&format!("${n}")), "${n} missing from {sql}");
        }
        assert!(!sql.contains("$8"), "{sql}");
        assert!(sql.starts_with("WITH w0 AS (INSERT INTO t"), "{sql}");
        assert!(sql.contains("raised AS (UPDATE gateways"), "{sql}");
        assert!(sql.contains("LEFT JOIN raised AS g"), "{sql}");
        assert!(sql.ends_with("FROM raised"), "{sql}");
    }
}
