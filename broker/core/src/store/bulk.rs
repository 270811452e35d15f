//! Statements over many rows whose text does not depend on how many: the rows (or keys) travel as
//! one JSON array in one parameter. Each such statement is prepared once per connection and then
//! reused, where a statement of a new shape costs PostgreSQL a round trip to prepare it (and
//! another to close an old one once the connection's statement cache is full) — round trips a
//! group commit would otherwise make while it holds the audit head.

use super::Backend;
use serde_json::Value;

/// How a column is stored.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Text,
    Int,
}

/// A table's columns, in the order a row (a JSON array) lists their values.
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    /// `INSERT INTO` the table the rows of the JSON array in parameter `$param`.
    pub fn insert(&self, backend: Backend, param: usize) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        let values: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| field(backend, i, *kind))
            .collect();
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            self.name,
            names.join(", "),
            values.join(", "),
            rows(backend, param)
        )
    }

    /// `insert`, replacing the `updated` columns of a row whose `key` is already stored.
    pub fn upsert(&self, backend: Backend, param: usize, key: &str, updated: &[&str]) -> String {
        let set: Vec<String> = updated.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        // `WHERE true`: SQLite would read `ON CONFLICT` right after a `FROM` as a join's `ON`.
        format!(
            "{} WHERE true ON CONFLICT ({key}) DO UPDATE SET {}",
            self.insert(backend, param),
            set.join(", ")
        )
    }
}

/// Value `i` of the current row `r` (see `rows`), as `kind`.
pub(super) fn field(backend: Backend, i: usize, kind: Kind) -> String {
    match (backend, kind) {
        (Backend::Postgres, Kind::Text) => format!("r.v ->> {i}"),
        (Backend::Postgres, Kind::Int) => format!("CAST(r.v ->> {i} AS BIGINT)"),
        (Backend::Sqlite, _) => format!("json_extract(r.value, '$[{i}]')"),
    }
}

/// The elements of the JSON array in parameter `$param`, as a table `r` (read with `field`). On
/// PostgreSQL as `jsonb`, parsed once: as `json` each row would be parsed again for every value read.
pub(super) fn rows(backend: Backend, param: usize) -> String {
    match backend {
        Backend::Postgres => format!("jsonb_array_elements(CAST(${param} AS jsonb)) AS r(v)"),
        Backend::Sqlite => format!("json_each(${param}) AS r"),
    }
}

/// A subquery listing the strings of the JSON array in parameter `$param` (for `IN (…)`).
pub(super) fn keys(backend: Backend, param: usize) -> String {
    match backend {
        Backend::Postgres => format!("SELECT jsonb_array_elements_text(CAST(${param} AS jsonb))"),
        Backend::Sqlite => format!("SELECT value FROM json_each(${param})"),
    }
}

/// Rows (or keys) as the JSON array these statements take.
pub(super) fn json<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> String {
    Value::Array(items.into_iter().map(Into::into).collect()).to_string()
}

/// `json` of rows already written out as JSON text, one each.
pub(super) fn array<S: AsRef<str>>(rows: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from("[");
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(row.as_ref());
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEOPLE: Table = Table {
        name: "t",
        columns: &[("id", Kind::Text), ("n", Kind::Int), ("maybe", Kind::Text)],
    };

    async fn sqlite() -> sqlx::AnyConnection {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, maybe TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    }

    #[tokio::test]
    async fn rows_of_any_number_go_in_through_one_statement_and_keys_select_them() {
        let mut conn = sqlite().await;
        let sql = PEOPLE.insert(Backend::Sqlite, 1);
        // Quotes, backslashes and text that looks like JSON arrive as they were sent.
        let odd = r#"{"a":"it's \"quoted\" \\ here"}"#;
        let rows = [
            serde_json::json!(["ana", 1, odd]),
            serde_json::json!(["bo", i64::MAX, null]),
            serde_json::json!(["cy", -3, "plain"]),
        ];
        sqlx::query(&sql)
            .bind(json(rows.clone()))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&sql)
            .bind(json(Vec::<Value>::new()))
            .execute(&mut conn)
            .await
            .unwrap();
        let read = format!(
            "SELECT id, n, maybe FROM t WHERE id IN ({}) ORDER BY id",
            keys(Backend::Sqlite, 1)
        );
        let found: Vec<(String, i64, Option<String>)> = sqlx::query_as(&read)
            .bind(json(["ana", "bo", "nobody"]))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            found,
            vec![
                ("ana".to_string(), 1, Some(odd.to_string())),
                ("bo".to_string(), i64::MAX, None),
            ]
        );
    }
}
