//! The gateways' change log: which grants changed at each revision of a gateway's state, read by
//! the gateway streams to send deltas, and pruned once no stream can still need it.

use super::repo::decode_optional;
use super::{StoreError, StoreResult};
use crate::domain::directory::{Device, Person};
use crate::domain::grant::GrantRecord;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::Hash;
use time::OffsetDateTime;
use uuid::Uuid;

/// What changed for a gateway after a revision, with what each changed grant is judged against.
#[derive(Debug, Default)]
pub struct GatewayChanges {
    /// Each revision with a grant it changed, oldest revision first.
    pub logged: Vec<(i64, Uuid)>,
    /// The changed grants still stored.
    pub grants: HashMap<Uuid, GrantRecord>,
    /// Their holders, by id.
    pub people: HashMap<String, Person>,
    /// Their holders' devices, by id.
    pub devices: HashMap<String, Device>,
}

/// The grants that changed for `gateway` after revision `after`, with their records, holders and
/// holders' devices, in one statement (a stream reads this at every revision of its gateway).
pub async fn gateway_changes_since(
    conn: &mut AnyConnection,
    gateway: &str,
    after: i64,
) -> StoreResult<GatewayChanges> {
    let rows = sqlx::query(
        "SELECT c.revision, c.grant_id, g.data AS grant_record, g.person AS person_id, p.data AS person, \
           d.id AS device_id, d.data AS device \
         FROM gateway_changes c LEFT JOIN grants g ON g.id = c.grant_id \
           LEFT JOIN people p ON p.id = g.person LEFT JOIN devices d ON d.person = g.person \
         WHERE c.gateway = $1 AND c.revision > $2 ORDER BY c.revision, c.grant_id, d.id",
    )
    .bind(gateway)
    .bind(after)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = GatewayChanges::default();
    for r in &rows {
        let revision: i64 = r.try_get("revision")?;
        let text: String = r.try_get("grant_id")?;
        let id = Uuid::parse_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("gateway_changes grant {text:?}: {e}")))?;
        // A grant's holder has a row per device: the change is logged once.
        if out.logged.last() != Some(&(revision, id)) {
            out.logged.push((revision, id));
        }
        decode_once(&mut out.grants, Some(id), r, "grant_record")?;
        decode_once(&mut out.people, r.try_get("person_id")?, r, "person")?;
        decode_once(&mut out.devices, r.try_get("device_id")?, r, "device")?;
    }
    Ok(out)
}

/// Decodes column `col` of `row` into `map` under `key`, unless already there (the rows repeat a
/// grant and its holder once per device of theirs).
fn decode_once<K: Eq + Hash, T: DeserializeOwned>(
    map: &mut HashMap<K, T>,
    key: Option<K>,
    row: &AnyRow,
    col: &str,
) -> StoreResult<()> {
    if let Some(Entry::Vacant(slot)) = key.map(|k| map.entry(k)) {
        if let Some(value) = decode_optional(row, col)? {
            slot.insert(value);
        }
    }
    Ok(())
}

/// Forgets changes logged before `before`; a stream that far behind gets a full state instead.
pub async fn prune_gateway_changes(conn: &mut AnyConnection, before: OffsetDateTime) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM gateway_changes WHERE at < $1")
        .bind(before.unix_timestamp())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
