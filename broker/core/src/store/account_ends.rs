//! When each person's account ends, in a column of its own (`people.ends_at`), so the sweep asks
//! the database for the ended accounts that still hold live grants, instead of reading and
//! decoding everyone who holds one (every second, on every broker).

use super::repo::{add_column_if_missing, all, decode, encode, mark_upgrade_done, upgrade_done};
use super::StoreResult;
use crate::domain::directory::Person;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// The second a person's account ends or ended: whole seconds down, so the column never says
/// later than the account; a disabled account has ended since ever; none while it runs on.
fn ends_at(p: &Person) -> Option<i64> {
    if p.disabled {
        Some(i64::MIN)
    } else {
        p.contract_end.map(OffsetDateTime::unix_timestamp)
    }
}

/// Upserts a person's row with their account's end.
pub(super) async fn put_person_row(conn: &mut AnyConnection, p: &Person) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO people (id, data, ends_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, ends_at = excluded.ends_at",
    )
    .bind(&p.id)
    .bind(encode(p))
    .bind(ends_at(p))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The people holding a grant not yet ended whose account may have ended by `now` (to the second:
/// the caller checks each account's exact state).
pub async fn ended_people_with_open_grants(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
) -> StoreResult<Vec<Person>> {
    let rows = sqlx::query(
        "SELECT data FROM people WHERE ends_at <= $1 \
         AND id IN (SELECT person FROM grants WHERE live = 1) ORDER BY id",
    )
    .bind(now.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

const FILLED: &str = "account_ends_filled";

/// For a database written before people had the column: adds it and fills it in for everyone,
/// once; and the index the sweep reads it by.
pub async fn fill_account_ends(conn: &mut AnyConnection) -> StoreResult<()> {
    if !upgrade_done(conn, FILLED).await? {
        add_column_if_missing(conn, "people", "ends_at", "BIGINT").await?;
        let people: Vec<Person> = all(conn, "SELECT data FROM people").await?;
        for (p, end) in people.iter().filter_map(|p| Some((p, ends_at(p)?))) {
            sqlx::query("UPDATE people SET ends_at = $1 WHERE id = $2")
                .bind(end)
                .bind(&p.id)
                .execute(&mut *conn)
                .await?;
        }
        mark_upgrade_done(conn, FILLED).await?;
    }
    // Here rather than in the schema: an older database has the column only from the line above.
    sqlx::query("CREATE INDEX IF NOT EXISTS people_ends_at ON people (ends_at)")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn person(contract_end: Option<OffsetDateTime>, disabled: bool) -> Person {
        Person {
            id: "p".into(),
            name: "P".into(),
            email: "p@example.com".into(),
            company: "C".into(),
            roles: Default::default(),
            groups: Default::default(),
            contract_end,
            disabled,
            ticket_identities: Default::default(),
            step_up_demanded_by: None,
            entitlements_removed: Default::default(),
        }
    }

    #[test]
    fn the_column_never_says_an_account_ends_later_than_it_does() {
        let end = datetime!(2026-12-31 17:30:00.75 UTC);
        let at = ends_at(&person(Some(end), false)).expect("a contract end");
        assert_eq!(at, datetime!(2026-12-31 17:30:00 UTC).unix_timestamp());
        assert!(at <= end.unix_timestamp());
        assert_eq!(ends_at(&person(None, false)), None);
        assert_eq!(ends_at(&person(Some(end), true)), Some(i64::MIN));
        assert_eq!(ends_at(&person(None, true)), Some(i64::MIN));
    }
}
