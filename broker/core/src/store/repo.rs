//! Rows in and out: one function per query, each over a connection (pooled or inside a `Change`).

use super::bulk::{self, Kind, Table};
use super::{Backend, Change, StoreError, StoreResult};
use crate::domain::anomaly::HoursSeen;
use crate::domain::directory::{Device, Person};
use crate::domain::emergency::EmergencyStop;
use crate::domain::grant::GrantRecord;
use crate::domain::request::{AccessRequest, RequestState};
use crate::domain::ticket::Ticket;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) fn decode<T: DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    decode_optional(row, col)?.ok_or_else(|| StoreError::Corrupt(format!("{col}: empty")))
}

/// A JSON column an outer join may leave empty.
pub(super) fn decode_optional<T: DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<Option<T>> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{col}: {e}"))))
        .transpose()
}

/// `$from, …` for `count` parameters of one statement.
pub(super) fn placeholders(from: usize, count: usize) -> String {
    let params: Vec<String> = (from..from + count).map(|i| format!("${i}")).collect();
    params.join(", ")
}

/// A stored unix time (seconds) as an instant; one out of range means the row was edited.
pub(super) fn instant(seconds: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types always serialise")
}

pub(super) async fn one<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    sql: &str,
    key: &str,
) -> StoreResult<Option<T>> {
    let row = sqlx::query(sql).bind(key).fetch_optional(&mut *conn).await?;
    row.map(|r| decode(&r, "data")).transpose()
}

pub(super) async fn all<T: DeserializeOwned>(conn: &mut AnyConnection, sql: &str) -> StoreResult<Vec<T>> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// The rows of `table` whose `key_col` is one of `keys`, decoded and by `key_of` (one statement
/// per 500 keys; keys not stored are absent).
async fn all_keyed<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    table: &str,
    key_col: &str,
    keys: &BTreeSet<&str>,
    key_of: impl Fn(&T) -> String,
) -> StoreResult<HashMap<String, T>> {
    let keys: Vec<&str> = keys.iter().copied().collect();
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT data FROM {table} WHERE {key_col} IN ({})",
            placeholders(1, chunk.len())
        );
        let query = chunk.iter().fold(sqlx::query(&sql), |q, k| q.bind(*k));
        for row in query.fetch_all(&mut *conn).await? {
            let found: T = decode(&row, "data")?;
            out.insert(key_of(&found), found);
        }
    }
    Ok(out)
}

pub(super) async fn all_by<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    sql: &str,
    key: &str,
) -> StoreResult<Vec<T>> {
    let rows = sqlx::query(sql).bind(key).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Whether the one-time upgrade `key` of a database written by an older broker has been done.
pub(super) async fn upgrade_done(conn: &mut AnyConnection, key: &str) -> StoreResult<bool> {
    let done: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(done.is_some())
}

/// Records that the one-time upgrade `key` is done.
pub(super) async fn mark_upgrade_done(conn: &mut AnyConnection, key: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, '1')")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds `column` to `table` in a database written before it had it.
pub(super) async fn add_column_if_missing(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
    sql_type: &str,
) -> StoreResult<()> {
    // SQLite has no `ADD COLUMN IF NOT EXISTS`: a read of the column says whether it is there.
    let has_column = sqlx::query(&format!("SELECT {column} FROM {table} WHERE 1 = 0"))
        .fetch_optional(&mut *conn)
        .await
        .is_ok();
    if !has_column {
        sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Upserts a `(key, data)` row in one of the simple keyed tables.
pub(super) async fn put(
    conn: &mut AnyConnection,
    table: &str,
    key_col: &str,
    key: &str,
    data: String,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {table} ({key_col}, data) VALUES ($1, $2) \
         ON CONFLICT ({key_col}) DO UPDATE SET data = excluded.data"
    );
    sqlx::query(&sql).bind(key).bind(data).execute(&mut *conn).await?;
    Ok(())
}

pub(super) async fn delete(
    conn: &mut AnyConnection,
    table: &str,
    key_col: &str,
    key: &str,
) -> StoreResult<bool> {
    let sql = format!("DELETE FROM {table} WHERE {key_col} = $1");
    Ok(sqlx::query(&sql)
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0)
}

// People

pub async fn person(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Person>> {
    one(conn, "SELECT data FROM people WHERE id = $1", id).await
}

/// The people among `ids`, by id (the ones not stored are absent).
pub async fn people_by_id(
    conn: &mut AnyConnection,
    ids: &BTreeSet<&str>,
) -> StoreResult<HashMap<String, Person>> {
    all_keyed(conn, "people", "id", ids, |p: &Person| p.id.clone()).await
}

pub async fn people(conn: &mut AnyConnection) -> StoreResult<Vec<Person>> {
    all(conn, "SELECT data FROM people ORDER BY id").await
}

/// The people holding a grant not yet ended through `gateway`, and their devices (what a gateway's
/// whole state is checked against, read without the rest of the directory).
pub async fn holders_on_gateway(
    conn: &mut AnyConnection,
    gateway: &str,
) -> StoreResult<(Vec<Person>, Vec<Device>)> {
    let people = all_by(
        conn,
        "SELECT data FROM people WHERE id IN (SELECT person FROM grants WHERE gateway = $1 AND live = 1) ORDER BY id",
        gateway,
    )
    .await?;
    let devices = all_by(
        conn,
        "SELECT data FROM devices WHERE person IN (SELECT person FROM grants WHERE gateway = $1 AND live = 1) ORDER BY id",
        gateway,
    )
    .await?;
    Ok((people, devices))
}

/// The people holding open grants bound to ticket `key`.
pub async fn holders_of_ticket(conn: &mut AnyConnection, key: &str) -> StoreResult<Vec<Person>> {
    all_by(
        conn,
        "SELECT data FROM people WHERE id IN (SELECT person FROM grants WHERE ticket = $1 AND live = 1) ORDER BY id",
        key,
    )
    .await
}

/// The people who hold a grant not yet ended (the only ones whose account's end the sweep must act
/// on): a handful of rows however many people the directory has.
pub async fn people_with_open_grants(conn: &mut AnyConnection) -> StoreResult<Vec<Person>> {
    all(
        conn,
        "SELECT data FROM people WHERE id IN (SELECT person FROM grants WHERE live = 1) ORDER BY id",
    )
    .await
}

// Devices

pub async fn device(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Device>> {
    one(conn, "SELECT data FROM devices WHERE id = $1", id).await
}

pub async fn devices_of(conn: &mut AnyConnection, person: &str) -> StoreResult<Vec<Device>> {
    all_by(
        conn,
        "SELECT data FROM devices WHERE person = $1 ORDER BY id",
        person,
    )
    .await
}

pub async fn devices(conn: &mut AnyConnection) -> StoreResult<Vec<Device>> {
    all(conn, "SELECT data FROM devices ORDER BY id").await
}

/// The unrevoked device that has this WireGuard key, if any (through the live devices' key index).
pub async fn live_device_with_wireguard_key(
    conn: &mut AnyConnection,
    key: &str,
) -> StoreResult<Option<Device>> {
    let device: Option<Device> = one(
        conn,
        "SELECT d.data FROM device_keys k JOIN devices d ON d.id = k.device WHERE k.wireguard_key = $1",
        key,
    )
    .await?;
    Ok(device.filter(|d| !d.revoked && d.wireguard_public_key == key))
}

/// Fills the live devices' key index from the devices, for a database written before it existed.
pub async fn index_device_keys(conn: &mut AnyConnection) -> StoreResult<()> {
    let indexed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_keys")
        .fetch_one(&mut *conn)
        .await?;
    if indexed == 0 {
        for d in devices(conn).await?.iter().filter(|d| !d.revoked) {
            index_device_key(conn, d).await?;
        }
    }
    Ok(())
}

/// Keeps the key index in step with a device: its key while it is live, nothing once revoked.
async fn index_device_key(conn: &mut AnyConnection, d: &Device) -> StoreResult<()> {
    sqlx::query("DELETE FROM device_keys WHERE device = $1")
        .bind(&d.id)
        .execute(&mut *conn)
        .await?;
    if !d.revoked {
        sqlx::query(
            "INSERT INTO device_keys (wireguard_key, device) VALUES ($1, $2) \
             ON CONFLICT (wireguard_key) DO UPDATE SET device = excluded.device",
        )
        .bind(&d.wireguard_public_key)
        .bind(&d.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn put_device(change: &mut Change, d: &Device) -> StoreResult<()> {
    let conn = change.conn();
    sqlx::query(
        "INSERT INTO devices (id, person, data) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET person = excluded.person, data = excluded.data",
    )
    .bind(&d.id)
    .bind(&d.person)
    .bind(encode(d))
    .execute(&mut *conn)
    .await?;
    index_device_key(conn, d).await?;
    change.directory_written();
    Ok(())
}

/// Hands out the next host number of the tunnel address pool (atomic inside a `Change`).
pub async fn next_tunnel_host(conn: &mut AnyConnection) -> StoreResult<u32> {
    let row = sqlx::query(
        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'next_tunnel_host' RETURNING value",
    )
    .fetch_one(&mut *conn)
    .await?;
    let next: String = row.try_get(0)?;
    next.parse::<u32>()
        .map(|n| n - 1)
        .map_err(|_| StoreError::Corrupt(format!("next_tunnel_host is {next:?}")))
}

/// What an access decision reads, fetched in one query: the device, the emergency stops in force,
/// the device's latest posture report, the revision of the access matrix (read through the
/// broker's copy, `access/matrix.rs`), a built-in ticket, and what the request watch reads.
#[derive(Debug, Default)]
pub struct DecisionInputs {
    pub device: Option<Device>,
    pub latest_report: LatestReport,
    /// Oldest first.
    pub stops: Vec<EmergencyStop>,
    pub matrix_revision: i64,
    /// The requester as stored, and the count of directory writes, both as of the device and stops
    /// above (`Change::directory_revision`).
    pub requester: Option<Person>,
    pub directory_revision: i64,
    /// The ticket asked for, when tickets are kept in the broker's database and it exists.
    pub ticket: Option<Ticket>,
    pub history: RequestHistory,
}

/// A device's latest posture report, as a decision read it.
#[derive(Debug, Default)]
pub enum LatestReport {
    /// The device never reported.
    #[default]
    None,
    /// The report the ask already holds (`DecisionAsk::known_report`): only its id was read.
    AsKnown,
    Read(std::sync::Arc<PostureRecord>),
}

/// Which inputs an access decision asks for.
pub struct DecisionAsk<'a> {
    pub device: &'a str,
    /// The id of the device's report the caller holds decoded: if it is still the latest, the
    /// database sends its id alone.
    pub known_report: Option<Uuid>,
    pub requester: &'a str,
    /// The ticket's key, when tickets are kept in the broker's database (built-in tickets).
    pub builtin_ticket: Option<&'a str>,
    /// The requester's requests made in `[from, to)`, for the request watch.
    pub requests_from: OffsetDateTime,
    pub requests_to: OffsetDateTime,
    /// Their grants suspended since this instant, for the request watch.
    pub suspensions_from: OffsetDateTime,
}

/// What the request watch reads about a person.
#[derive(Debug, Default)]
pub struct RequestHistory {
    /// Their requests in the window asked for, by hour of day (their usual hours are learned from these).
    pub hours: HoursSeen,
    /// Whether one of their grants was suspended since the time asked for.
    pub suspended: bool,
}

pub async fn decision_inputs(conn: &mut AnyConnection, ask: &DecisionAsk<'_>) -> StoreResult<DecisionInputs> {
    // Suspensions are few and read by the audit log's action index.
    let rows = sqlx::query(
        "SELECT 'd' AS kind, id AS k, data FROM devices WHERE id = $1 \
         UNION ALL SELECT 's', id, data FROM emergency_stops WHERE state = 'in_force' \
         UNION ALL SELECT 'q', id, CASE WHEN id = $7 THEN '' ELSE data END FROM (SELECT id, data \
           FROM posture_reports WHERE device = $1 ORDER BY received_at DESC, id LIMIT 1) latest \
         UNION ALL SELECT 'v', CAST(revision AS TEXT), '' FROM access_matrix_revision WHERE id = 1 \
         UNION ALL SELECT 'w', CAST(directory_revision AS TEXT), '' FROM audit_head WHERE id = 1 \
         UNION ALL SELECT 'p', id, data FROM people WHERE id = $3 \
         UNION ALL SELECT 't', key, data FROM tickets WHERE key = $2 \
         UNION ALL SELECT 'r', CAST((created_at % 86400) / 3600 AS TEXT), CAST(COUNT(*) AS TEXT) \
           FROM requests WHERE requester = $3 AND created_at >= $4 AND created_at < $5 \
           GROUP BY (created_at % 86400) / 3600 \
         UNION ALL SELECT 'x', CAST(at AS TEXT), details FROM audit_log \
           WHERE action = 'grant.suspended' AND at >= $6 \
         ORDER BY kind, k",
    )
    .bind(ask.device)
    .bind(ask.builtin_ticket)
    .bind(ask.requester)
    .bind(ask.requests_from.unix_timestamp())
    .bind(ask.requests_to.unix_timestamp())
    .bind(ask.suspensions_from.unix_timestamp())
    .bind(ask.known_report.map(|id| id.to_string()))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = DecisionInputs::default();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        match kind.as_str() {
            "d" => out.device = Some(decode(r, "data")?),
            "q" => out.latest_report = latest_report(r, ask.known_report)?,
            "v" => out.matrix_revision = number_in(r, "k", "access matrix revision")?,
            "w" => out.directory_revision = number_in(r, "k", "directory revision")?,
            "p" => out.requester = Some(decode(r, "data")?),
            "t" => out.ticket = Some(decode(r, "data")?),
            "r" => add_requests_at_hour(&mut out.history.hours, r)?,
            "x" => {
                let details: String = r.try_get("data")?;
                out.history.suspended |= serde_json::from_str::<serde_json::Value>(&details)
                    .is_ok_and(|v| v["person"] == ask.requester);
            }
            _ => out.stops.push(decode(r, "data")?),
        }
    }
    out.stops.sort_by_key(|s| s.proposed_at);
    Ok(out)
}

/// The latest report's row of `decision_inputs`: its id, and its data unless it is `known`.
fn latest_report(row: &AnyRow, known: Option<Uuid>) -> StoreResult<LatestReport> {
    let id: String = row.try_get("k")?;
    if known.is_some_and(|known| known.to_string() == id) {
        return Ok(LatestReport::AsKnown);
    }
    Ok(LatestReport::Read(std::sync::Arc::new(decode(row, "data")?)))
}

/// A number (`what`) a row holds as text in `column`, as in a `kind, k, data` row.
pub(super) fn number_in<N: std::str::FromStr>(row: &AnyRow, column: &str, what: &str) -> StoreResult<N> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} {text:?}")))
}

/// Adds a row of a person's requests by hour of day (the hour in `k`, how many in `data`).
fn add_requests_at_hour(seen: &mut HoursSeen, row: &AnyRow) -> StoreResult<()> {
    seen.add(
        number_in(row, "k", "hour of day")?,
        number_in(row, "data", "request count")?,
    );
    Ok(())
}

// Built-in tickets

pub async fn builtin_ticket(conn: &mut AnyConnection, key: &str) -> StoreResult<Option<Ticket>> {
    one(conn, "SELECT data FROM tickets WHERE key = $1", key).await
}

pub async fn builtin_tickets(conn: &mut AnyConnection) -> StoreResult<Vec<Ticket>> {
    all(conn, "SELECT data FROM tickets ORDER BY key").await
}

pub async fn put_builtin_ticket(conn: &mut AnyConnection, t: &Ticket) -> StoreResult<()> {
    put(conn, "tickets", "key", &t.key, encode(t)).await
}

// Gateways

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRecord {
    pub name: String,
    /// Where clients reach the gateway's WireGuard port, e.g. `203.0.113.7:51820`.
    pub endpoint: String,
    /// The gateway's WireGuard public key.
    pub wireguard_public_key: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_seen: Option<OffsetDateTime>,
}

pub async fn gateway(conn: &mut AnyConnection, name: &str) -> StoreResult<Option<(GatewayRecord, i64)>> {
    let row = sqlx::query("SELECT data, revision FROM gateways WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((decode(&r, "data")?, r.try_get("revision")?)))
        .transpose()
}

pub async fn gateways(conn: &mut AnyConnection) -> StoreResult<Vec<(GatewayRecord, i64)>> {
    let rows = sqlx::query("SELECT data, revision FROM gateways ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((decode(r, "data")?, r.try_get("revision")?)))
        .collect()
}

pub async fn gateway_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> StoreResult<Option<GatewayRecord>> {
    one(
        conn,
        "SELECT data FROM gateways WHERE token_hash = $1",
        token_hash,
    )
    .await
}

pub async fn put_gateway(conn: &mut AnyConnection, g: &GatewayRecord, token_hash: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO gateways (name, token_hash, revision, data) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, data = excluded.data",
    )
    .bind(&g.name)
    .bind(token_hash)
    .bind(encode(g))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// API tokens

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub person: String,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// What the token may do; none: all its holder may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<std::collections::BTreeSet<crate::domain::token::Scope>>,
}

/// How many hex digits of a token's digest name it (to list and revoke it; not a secret).
pub const TOKEN_ID_LEN: usize = 12;

/// Every API token (holders' or one holder's) with its id, newest first.
pub async fn api_tokens(
    conn: &mut AnyConnection,
    person: Option<&str>,
) -> StoreResult<Vec<(String, ApiToken)>> {
    let rows = sqlx::query(
        "SELECT token_hash, data FROM api_tokens WHERE ($1 = '' OR person = $1) ORDER BY expires_at DESC",
    )
    .bind(person.unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let hash: String = r.try_get("token_hash")?;
            Ok((
                hash[..TOKEN_ID_LEN.min(hash.len())].to_string(),
                decode(r, "data")?,
            ))
        })
        .collect()
}

/// When each person got their first grant (its start).
pub async fn first_grants(conn: &mut AnyConnection) -> StoreResult<Vec<(String, OffsetDateTime)>> {
    let rows = sqlx::query("SELECT person, MIN(issued_at) AS first FROM grants GROUP BY person")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("person")?, instant(r.try_get("first")?)?)))
        .collect()
}

/// Removes the token whose id is `id`; whether there was one.
pub async fn delete_api_token(conn: &mut AnyConnection, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE substr(token_hash, 1, $1) = $2")
        .bind(TOKEN_ID_LEN as i64)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The token with its holder, in one query (every API call makes it).
pub async fn api_token_holder(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> StoreResult<Option<(ApiToken, Person)>> {
    let row = sqlx::query(
        "SELECT t.data AS token, p.data AS person FROM api_tokens t JOIN people p ON p.id = t.person \
         WHERE t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((decode(&r, "token")?, decode(&r, "person")?)))
        .transpose()
}

pub async fn put_api_token(conn: &mut AnyConnection, token_hash: &str, t: &ApiToken) -> StoreResult<()> {
    sqlx::query("INSERT INTO api_tokens (token_hash, person, expires_at, data) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(&t.person)
        .bind(t.expires_at.unix_timestamp())
        .bind(encode(t))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_api_tokens_of(conn: &mut AnyConnection, person: &str) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE person = $1")
        .bind(person)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

// Access requests

pub async fn request(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<AccessRequest>> {
    one(conn, "SELECT data FROM requests WHERE id = $1", &id.to_string()).await
}

/// A request's row in `requests`.
pub(super) const REQUESTS: Table = Table {
    name: "requests",
    columns: &[
        ("id", Kind::Text),
        ("requester", Kind::Text),
        ("pending", Kind::Int),
        ("expires_at", Kind::Int),
        ("created_at", Kind::Int),
        ("data", Kind::Text),
    ],
};

/// `r` as a row of `REQUESTS`.
pub(super) fn request_row(r: &AccessRequest) -> serde_json::Value {
    serde_json::json!([
        r.id.to_string(),
        r.requester,
        i64::from(r.state == RequestState::Pending),
        r.expires_at.unix_timestamp(),
        r.created_at.unix_timestamp(),
        encode(r),
    ])
}

pub async fn put_request(conn: &mut AnyConnection, r: &AccessRequest) -> StoreResult<()> {
    let sql = REQUESTS.upsert(Backend::of(conn), 1, "id", &["pending", "data"]);
    sqlx::query(&sql)
        .bind(bulk::json([request_row(r)]))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many of `person`'s requests wait for a decision at `now`.
pub async fn waiting_count_of(
    conn: &mut AnyConnection,
    person: &str,
    now: OffsetDateTime,
) -> StoreResult<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM requests WHERE requester = $1 AND pending = 1 AND expires_at > $2")
            .bind(person)
            .bind(now.unix_timestamp())
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get(0)?)
}

/// Requests still marked pending (including ones whose wait has lapsed but are not yet swept).
pub async fn pending_requests(conn: &mut AnyConnection) -> StoreResult<Vec<AccessRequest>> {
    all(
        conn,
        "SELECT data FROM requests WHERE pending = 1 ORDER BY created_at, id",
    )
    .await
}

pub async fn lapsed_requests(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
) -> StoreResult<Vec<AccessRequest>> {
    let rows =
        sqlx::query("SELECT data FROM requests WHERE pending = 1 AND expires_at <= $1 ORDER BY expires_at")
            .bind(now.unix_timestamp())
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

pub async fn requests_of(conn: &mut AnyConnection, requester: &str) -> StoreResult<Vec<AccessRequest>> {
    all_by(
        conn,
        "SELECT data FROM requests WHERE requester = $1 ORDER BY created_at DESC, id",
        requester,
    )
    .await
}

/// `requester`'s requests in `[from, to)` by hour of day (the anomaly rules learn their hours).
pub async fn hours_seen_between(
    conn: &mut AnyConnection,
    requester: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> StoreResult<HoursSeen> {
    let rows = sqlx::query(
        "SELECT CAST((created_at % 86400) / 3600 AS TEXT) AS k, CAST(COUNT(*) AS TEXT) AS data \
         FROM requests WHERE requester = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY (created_at % 86400) / 3600",
    )
    .bind(requester)
    .bind(from.unix_timestamp())
    .bind(to.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    let mut seen = HoursSeen::default();
    for row in &rows {
        add_requests_at_hour(&mut seen, row)?;
    }
    Ok(seen)
}

pub async fn requests_since(
    conn: &mut AnyConnection,
    since: OffsetDateTime,
) -> StoreResult<Vec<AccessRequest>> {
    let rows = sqlx::query("SELECT data FROM requests WHERE created_at >= $1 ORDER BY created_at, id")
        .bind(since.unix_timestamp())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

// Grants

pub async fn grant(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<GrantRecord>> {
    one(conn, "SELECT data FROM grants WHERE id = $1", &id.to_string()).await
}

/// A grant's row in `grants`.
pub(super) const GRANTS: Table = Table {
    name: "grants",
    columns: &[
        ("id", Kind::Text),
        ("request_id", Kind::Text),
        ("person", Kind::Text),
        ("gateway", Kind::Text),
        ("ticket", Kind::Text),
        ("live", Kind::Int),
        ("not_after", Kind::Int),
        ("issued_at", Kind::Int),
        ("data", Kind::Text),
        ("device", Kind::Text),
    ],
};

/// `g` as a row of `GRANTS`.
pub(super) fn grant_row(g: &GrantRecord) -> serde_json::Value {
    serde_json::json!([
        g.grant.id.to_string(),
        g.grant.request_id.to_string(),
        g.grant.person,
        g.grant.gateway,
        g.grant.ticket,
        i64::from(g.ended.is_none()),
        g.grant.not_after.unix_timestamp(),
        g.grant.not_before.unix_timestamp(),
        encode(g),
        g.grant.device.id,
    ])
}

pub async fn put_grant(conn: &mut AnyConnection, g: &GrantRecord) -> StoreResult<()> {
    let sql = GRANTS.upsert(Backend::of(conn), 1, "id", &["live", "data", "device"]);
    sqlx::query(&sql)
        .bind(bulk::json([grant_row(g)]))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Grants not yet ended (some may be past `not_after` and await the sweep).
pub async fn open_grants(conn: &mut AnyConnection) -> StoreResult<Vec<GrantRecord>> {
    all(
        conn,
        "SELECT data FROM grants WHERE live = 1 ORDER BY issued_at, id",
    )
    .await
}

pub async fn open_grants_of_gateway(
    conn: &mut AnyConnection,
    gateway: &str,
) -> StoreResult<Vec<GrantRecord>> {
    all_by(
        conn,
        "SELECT data FROM grants WHERE gateway = $1 AND live = 1 ORDER BY issued_at, id",
        gateway,
    )
    .await
}

/// The tickets of grants that may be live at `now` (and perhaps of some that ended within its
/// second), from the table's columns: no grant is read.
pub async fn tickets_of_live_grants(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
) -> StoreResult<BTreeSet<String>> {
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT ticket FROM grants WHERE live = 1 AND not_after >= $1")
            .bind(now.unix_timestamp())
            .fetch_all(&mut *conn)
            .await?;
    Ok(keys.into_iter().collect())
}

pub async fn open_grants_of_ticket(conn: &mut AnyConnection, ticket: &str) -> StoreResult<Vec<GrantRecord>> {
    all_by(
        conn,
        "SELECT data FROM grants WHERE ticket = $1 AND live = 1 ORDER BY issued_at, id",
        ticket,
    )
    .await
}

pub async fn open_grants_of_person(conn: &mut AnyConnection, person: &str) -> StoreResult<Vec<GrantRecord>> {
    all_by(
        conn,
        "SELECT data FROM grants WHERE person = $1 AND live = 1 ORDER BY issued_at, id",
        person,
    )
    .await
}

pub async fn due_grants(conn: &mut AnyConnection, now: OffsetDateTime) -> StoreResult<Vec<GrantRecord>> {
    let rows =
        sqlx::query("SELECT data FROM grants WHERE live = 1 AND not_after <= $1 ORDER BY not_after, id")
            .bind(now.unix_timestamp())
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Grants issued up to `to` (inclusive) whose window reaches past `from`.
pub async fn grants_overlapping(
    conn: &mut AnyConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> StoreResult<Vec<GrantRecord>> {
    let rows = sqlx::query(
        "SELECT data FROM grants WHERE issued_at <= $1 AND not_after > $2 ORDER BY issued_at, id",
    )
    .bind(to.unix_timestamp())
    .bind(from.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

// Posture

/// A posture report as the broker received, verified and evaluated it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostureRecord {
    pub id: Uuid,
    pub device: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The broker's own evaluation of the facts (the client's verdict is never used).
    pub report: daypass_posture::evaluate::Report,
    /// What the device signed.
    pub claims: daypass_posture::signed_report::ReportClaims,
}

pub async fn put_posture_nonce(
    conn: &mut AnyConnection,
    nonce: &str,
    device: &str,
    expires_at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO posture_nonces (nonce, device, expires_at, used) VALUES ($1, $2, $3, 0)")
        .bind(nonce)
        .bind(device)
        .bind(expires_at.unix_timestamp())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a nonce used; false when it is unknown, for another device, already used or expired.
pub async fn consume_posture_nonce(
    conn: &mut AnyConnection,
    nonce: &str,
    device: &str,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE posture_nonces SET used = 1 WHERE nonce = $1 AND device = $2 AND used = 0 AND expires_at > $3")
        .bind(nonce)
        .bind(device)
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn put_posture_report(conn: &mut AnyConnection, r: &PostureRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO posture_reports (id, device, received_at, compliant, data) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.id.to_string())
    .bind(&r.device)
    .bind(r.received_at.unix_timestamp())
    .bind(i64::from(r.report.compliant))
    .bind(encode(r))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One report by its id.
pub async fn posture_report(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<PostureRecord>> {
    one(
        conn,
        "SELECT data FROM posture_reports WHERE id = $1",
        &id.to_string(),
    )
    .await
}

/// A device's reports, newest first.
pub async fn posture_reports_of(
    conn: &mut AnyConnection,
    device: &str,
    limit: i64,
) -> StoreResult<Vec<PostureRecord>> {
    let rows = sqlx::query(
        "SELECT data FROM posture_reports WHERE device = $1 ORDER BY received_at DESC, id LIMIT $2",
    )
    .bind(device)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Each device's most recent report.
pub async fn latest_posture_reports(conn: &mut AnyConnection) -> StoreResult<Vec<PostureRecord>> {
    let rows = sqlx::query(
        "SELECT r.data FROM posture_reports r JOIN \
         (SELECT device, MAX(received_at) AS latest FROM posture_reports GROUP BY device) l \
         ON r.device = l.device AND r.received_at = l.latest ORDER BY r.device, r.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decision that holds the device's latest report gets its id alone; one holding another
    /// report, or none, gets the latest one's data.
    #[tokio::test]
    async fn a_decision_holding_the_latest_report_is_sent_its_id_alone() {
        let dir = tempfile::tempdir().unwrap();
        for store in [
            super::super::sqlite_store(&dir).await,
            super::super::postgres_store().await,
        ] {
            let latest = Uuid::new_v4();
            // Data no decoder takes: a read fails only if it was sent.
            let mut change = store.change().await.unwrap();
            sqlx::query(
                "INSERT INTO posture_reports (id, device, received_at, compliant, data) \
                 VALUES ($1, 'ana-desk', 1, 1, 'not a report')",
            )
            .bind(latest.to_string())
            .execute(change.conn())
            .await
            .unwrap();
            change.commit().await.unwrap();
            let at = OffsetDateTime::UNIX_EPOCH;
            let ask = |known_report| DecisionAsk {
                device: "ana-desk",
                known_report,
                requester: "ana",
                builtin_ticket: None,
                requests_from: at,
                requests_to: at,
                suspensions_from: at,
            };
            let mut conn = store.read().await.unwrap();
            let held = decision_inputs(&mut conn, &ask(Some(latest))).await.unwrap();
            assert!(matches!(held.latest_report, LatestReport::AsKnown), "{held:?}");
            for other in [Some(Uuid::new_v4()), None] {
                let sent = decision_inputs(&mut conn, &ask(other)).await;
                assert!(matches!(sent, Err(StoreError::Corrupt(_))), "{other:?}: {sent:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_database_from_before_the_key_index_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
        let key = "YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=";
        let laptop = Device {
            id: "ana-laptop".into(),
            person: "ana".into(),
            name: "laptop".into(),
            wireguard_public_key: key.into(),
            tunnel_address: "100.96.0.2/32".into(),
            revoked: false,
            report_public_key: None,
        };
        {
            let store = super::super::Store::open(&url).await.unwrap();
            let mut change = store.change().await.unwrap();
            put_device(&mut change, &laptop).await.unwrap();
            change.commit().await.unwrap();
            let mut conn = store.read().await.unwrap();
            // As an older broker left it: the device, and no index.
            sqlx::query("DELETE FROM device_keys")
                .execute(&mut *conn)
                .await
                .unwrap();
            assert!(live_device_with_wireguard_key(&mut conn, key)
                .await
                .unwrap()
                .is_none());
        }
        let store = super::super::Store::open(&url).await.unwrap();
        let mut conn = store.read().await.unwrap();
        let found = live_device_with_wireguard_key(&mut conn, key).await.unwrap();
        assert_eq!(found.map(|d| d.id), Some("ana-laptop".to_string()));
        // A revoked device frees its key.
        let mut change = store.change().await.unwrap();
        put_device(
            &mut change,
            &Device {
                revoked: true,
                ..laptop
            },
        )
        .await
        .unwrap();
        change.commit().await.unwrap();
        assert!(live_device_with_wireguard_key(&mut conn, key)
            .await
            .unwrap()
            .is_none());
    }
}
