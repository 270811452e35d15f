//! Who is in which group: each person's record holds their groups, and an index beside it, kept in
//! step by `put_person`, lets a group's members be read without reading the whole directory.

use super::account_ends::put_person_row;
use super::repo::{all_by, mark_upgrade_done, people, upgrade_done};
use super::{insert_rows, Change, StoreResult};
use crate::domain::directory::Person;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, BTreeSet};

/// Saves a person, and their groups in the index.
pub async fn put_person(change: &mut Change, p: &Person) -> StoreResult<()> {
    put_person_row(change.conn(), p).await?;
    index_groups_of(change.conn(), p).await?;
    change.directory_written();
    Ok(())
}

/// Keeps the index in step with a person's groups.
async fn index_groups_of(conn: &mut AnyConnection, p: &Person) -> StoreResult<()> {
    sqlx::query("DELETE FROM person_groups WHERE person = $1")
        .bind(&p.id)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<(&str, &str)> = p.groups.iter().map(|g| (g.as_str(), p.id.as_str())).collect();
    insert_memberships(conn, &rows).await
}

/// Adds `(group, person)` rows to the index, many to a statement.
async fn insert_memberships(conn: &mut AnyConnection, rows: &[(&str, &str)]) -> StoreResult<()> {
    insert_rows(
        conn,
        "person_groups (grp, person)",
        2,
        rows,
        |q, (group, person)| q.bind(group.to_string()).bind(person.to_string()),
    )
    .await
}

const INDEXED: &str = "person_groups_indexed";

/// Fills the index from the people, once, for a database written before it existed.
pub async fn index_person_groups(conn: &mut AnyConnection) -> StoreResult<()> {
    if !upgrade_done(conn, INDEXED).await? {
        // From scratch, in case an earlier start stopped halfway.
        sqlx::query("DELETE FROM person_groups")
            .execute(&mut *conn)
            .await?;
        let people = people(conn).await?;
        let rows: Vec<(&str, &str)> = people
            .iter()
            .flat_map(|p| p.groups.iter().map(|g| (g.as_str(), p.id.as_str())))
            .collect();
        insert_memberships(conn, &rows).await?;
        mark_upgrade_done(conn, INDEXED).await?;
    }
    Ok(())
}

/// Every group someone is in, with its members' ids (read from the index alone).
pub async fn group_members(conn: &mut AnyConnection) -> StoreResult<BTreeMap<String, BTreeSet<String>>> {
    let rows = sqlx::query("SELECT grp, person FROM person_groups ORDER BY grp, person")
        .fetch_all(&mut *conn)
        .await?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        out.entry(row.try_get("grp")?)
            .or_default()
            .insert(row.try_get("person")?);
    }
    Ok(out)
}

/// Every group someone is in.
pub async fn group_names(conn: &mut AnyConnection) -> StoreResult<BTreeSet<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT grp FROM person_groups")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

/// The ids of the people in `group`.
pub async fn member_ids(conn: &mut AnyConnection, group: &str) -> StoreResult<BTreeSet<String>> {
    Ok(
        sqlx::query_scalar("SELECT person FROM person_groups WHERE grp = $1")
            .bind(group)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    )
}

/// The people in `group`.
pub async fn members_of(conn: &mut AnyConnection, group: &str) -> StoreResult<Vec<Person>> {
    all_by(
        conn,
        "SELECT p.data FROM person_groups g JOIN people p ON p.id = g.person WHERE g.grp = $1 ORDER BY p.id",
        group,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, groups: &[&str]) -> Person {
        Person {
            id: id.into(),
            name: id.into(),
            email: String::new(),
            company: String::new(),
            roles: BTreeSet::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            contract_end: None,
            disabled: false,
            ticket_identities: BTreeSet::new(),
            step_up_demanded_by: None,
            entitlements_removed: BTreeSet::new(),
        }
    }

    #[tokio::test]
    async fn the_index_follows_each_person_and_an_older_database_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
        {
            let store = super::super::Store::open(&url).await.unwrap();
            let mut change = store.change().await.unwrap();
            put_person(&mut change, &person("ana", &["dba", "wiki"]))
                .await
                .unwrap();
            put_person(&mut change, &person("ben", &["dba"])).await.unwrap();
            put_person(&mut change, &person("ana", &["wiki"])).await.unwrap();
            change.commit().await.unwrap();
            let mut conn = store.read().await.unwrap();
            let members = group_members(&mut conn).await.unwrap();
            assert_eq!(members["dba"], ["ben".to_string()].into());
            assert_eq!(members["wiki"], ["ana".to_string()].into());
            let dba: Vec<String> = members_of(&mut conn, "dba")
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect();
            assert_eq!(dba, ["ben"]);
            // As an older broker left it: the people, and no index.
            sqlx::query("DELETE FROM person_groups")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query("DELETE FROM meta WHERE key = 'person_groups_indexed'")
                .execute(&mut *conn)
                .await
                .unwrap();
            assert!(group_members(&mut conn).await.unwrap().is_empty());
        }
        let store = super::super::Store::open(&url).await.unwrap();
        let mut conn = store.read().await.unwrap();
        let members = group_members(&mut conn).await.unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members["dba"], ["ben".to_string()].into());
        assert_eq!(members["wiki"], ["ana".to_string()].into());
    }
}
