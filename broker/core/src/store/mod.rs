//! Storage: SQLite or PostgreSQL behind one schema, and the `Change` transaction every write goes through.

mod access_matrix;
mod account_ends;
mod alerts;
mod audit_log;
mod bulk;
mod commit;
mod emergency;
mod feed_cursors;
mod gateway_log;
mod grant_devices;
mod group;
mod group_members;
mod outage;
mod passkeys;
mod places;
mod reads;
mod repo;
mod request_nonces;
mod reviews;
mod scim;
mod wal;

pub use access_matrix::*;
pub use account_ends::ended_people_with_open_grants;
pub use alerts::*;
pub use audit_log::{AuditFilter, AuditRead};
pub use emergency::*;
pub use feed_cursors::FeedCursors;
pub use gateway_log::*;
pub use grant_devices::grants_of_unheard_devices;
pub use group::Insertion;
pub use group_members::*;
pub use passkeys::*;
pub use places::*;
pub use reads::ReadConnection;
pub use repo::*;
pub use request_nonces::*;
pub use reviews::*;
pub use scim::*;

use crate::domain::audit::{Checkpoint, GENESIS_HASH};
use audit_log::DraftEntry;
use ed25519_dalek::SigningKey;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection as _, Row};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, Mutex, OwnedMutexGuard};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("stored data is unreadable ({0}): the database was edited by hand or by a newer broker")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
    #[error("writing a batch of changes failed: {0}")]
    Batch(String),
    #[error(transparent)]
    Stale(#[from] Stale),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the database connection was lost while committing, so whether the change was recorded is unknown: {0}")]
    CommitUnknown(String),
}

/// What changed between a decision and its write, so the write was refused (nothing of it kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("device {0} was revoked or removed meanwhile")]
    DeviceGone(String),
    #[error("the account of {0} ended meanwhile")]
    AccountEnded(String),
    #[error("an emergency stop was put in force meanwhile")]
    EmergencyStop(Box<crate::domain::emergency::EmergencyStop>),
    #[error(
        "entitlement {entitlement:?} stopped being {person}'s meanwhile (an access review, a group left)"
    )]
    NoLongerEntitled { person: String, entitlement: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database behind `conn`.
    fn of(conn: &AnyConnection) -> Backend {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The broker's database. Cloning shares the pool and the change bus.
#[derive(Clone)]
pub struct Store {
    /// Changes, batches and bookkeeping (and, on SQLite, reads too).
    pool: AnyPool,
    reads: reads::Reads,
    backend: Backend,
    url: String,
    /// Names of gateways whose desired state changed; fed by this process and by PostgreSQL NOTIFY.
    gateway_changes: broadcast::Sender<String>,
    /// This process's tag on its PostgreSQL notifications: it hears its own changes on the bus at
    /// commit, and its listener passes over their echo.
    instance: Uuid,
    /// Changes apply one at a time (SQLite allows one writer; on PostgreSQL every change locks the
    /// audit head): this process's changes queue here, fairly, before taking a connection. Else on
    /// PostgreSQL each waiting change would hold a pooled connection while the one applying needs
    /// another to read, and with as many changes waiting as the pool has connections, stall it
    /// until the acquire timeout. (SQLite writers of other processes still meet `busy_timeout`.)
    writer: Arc<Mutex<()>>,
    /// The group committer's queue, started on first use (see `group.rs`).
    committer: Arc<std::sync::OnceLock<tokio::sync::mpsc::Sender<group::Job>>>,
}

const NOTIFY_CHANNEL: &str = "daypass_gateway";

impl Store {
    /// Opens (creating if needed) and migrates the database at `url` (`sqlite://…` or `postgres://…`).
    pub async fn open(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(url)
            )));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let mut pool_options = AnyPoolOptions::new()
            .acquire_timeout(reads::ACQUIRE_TIMEOUT)
            // sqlx checks every connection it hands out with a round trip (and again as it comes
            // back, which only the reads' own pool avoids: `reads.rs`). One back from use
            // within the last second is taken as it is (if the database went away since, its call
            // fails with a retryable error and the connection is dropped); one idle longer, as
            // after a quiet spell or a database restart, is still checked first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= reads::PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        if backend == Backend::Sqlite {
            pool_options = pool_options.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    // Checkpoints run on their own connection (wal.rs), not inside a commit.
                    sqlx::query("PRAGMA wal_autocheckpoint = 0")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        } else {
            // Reads have a pool of their own (`reads.rs`); changes take the writer's turn one at a
            // time, so few of these are in use at once.
            pool_options = pool_options.max_connections(8);
        }
        let pool = pool_options.connect_with(options.clone()).await?;
        let reads = match backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
                wal::spawn_checkpointer(&options, pool.clone()).await?;
                reads::Reads::Sqlx(pool.clone())
            }
            Backend::Postgres => reads::Reads::own(options, 16),
        };
        let (gateway_changes, _) = broadcast::channel(1024);
        let store = Store {
            pool,
            reads,
            backend,
            url: url.to_string(),
            gateway_changes,
            instance: Uuid::new_v4(),
            writer: Arc::default(),
            committer: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            // Brokers starting together must not race on CREATE TABLE.
            sqlx::query("SELECT pg_advisory_lock(4242001)")
                .execute(&mut *conn)
                .await?;
        }
        for statement in include_str!("schema.sql")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let sql: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if !sql.trim().is_empty() {
                sqlx::query(&sql).execute(&mut *conn).await?;
            }
        }
        // The count of directory writes, in a database written before it was kept.
        let count = "BIGINT NOT NULL DEFAULT 0";
        repo::add_column_if_missing(&mut conn, "audit_head", "directory_revision", count).await?;
        index_device_keys(&mut conn).await?;
        index_person_groups(&mut conn).await?;
        grant_devices::fill_grant_devices(&mut conn).await?;
        account_ends::fill_account_ends(&mut conn).await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(4242001)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for reads outside a change.
    pub async fn read(&self) -> StoreResult<ReadConnection> {
        self.reads.acquire().await
    }

    /// Starts a write. The audit head is locked first, so changes (from any broker sharing the
    /// database) apply one at a time and each appends to the chain in order.
    pub async fn change(&self) -> StoreResult<Change> {
        let writer = self.writer.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash, directory_revision",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(Change {
            tx,
            head_seq: row.try_get(0)?,
            head_hash: row.try_get(1)?,
            directory_revision: row.try_get(2)?,
            directory_written: false,
            entries: Vec::new(),
            staged: Vec::new(),
            _writer: writer,
            backend: self.backend,
            changed_grants: BTreeMap::new(),
            bus: self.gateway_changes.clone(),
            instance: self.instance,
        })
    }

    /// A connection for single-statement writes outside the audit chain (the SIEM feeds' cursors);
    /// on SQLite it waits for the one writer's turn, as a change does.
    pub async fn bookkeeping(&self) -> StoreResult<Bookkeeping> {
        let writer = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Ok(Bookkeeping {
            conn: self.pool.acquire().await?,
            _writer: writer,
        })
    }

    /// Wakes when a gateway's desired state may have changed (name of the gateway).
    pub fn subscribe_gateway_changes(&self) -> broadcast::Receiver<String> {
        self.gateway_changes.subscribe()
    }

    /// With PostgreSQL, forwards other brokers' gateway changes into this process's bus.
    pub async fn listen_for_other_brokers(&self) -> StoreResult<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        let bus = self.gateway_changes.clone();
        let own = self.instance.to_string();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => match n.payload().split_once(' ') {
                        // This broker's own change: its streams heard of it at commit.
                        Some((from, _)) if from == own => {}
                        Some((_, gateway)) => {
                            let _ = bus.send(gateway.to_string());
                        }
                        None => {
                            let _ = bus.send(n.payload().to_string());
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "lost PostgreSQL notifications; gateways fall back to polling");
                        tokio::time::sleep(StdDuration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }

    pub async fn close(&self) {
        self.reads.close().await;
        self.pool.close().await;
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `rows` into `into` (`table (col, …)`, `cols` columns) with multi-row INSERTs, `bind`
/// adding one row's values in column order.
pub(crate) async fn insert_rows<T>(
    conn: &mut AnyConnection,
    into: &str,
    cols: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &T) -> AnyQuery<'q>,
) -> StoreResult<()> {
    // Stay well under SQLite's and PostgreSQL's limits on parameters per statement.
    for chunk in rows.chunks((4000 / cols).max(1)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", repo::placeholders(r * cols + 1, cols)))
            .collect();
        let sql = format!("INSERT INTO {into} VALUES {}", values.join(", "));
        let query = chunk.iter().fold(sqlx::query(&sql), &bind);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Hides the password in a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// One write transaction: domain rows and their audit entries commit together or not at all.
/// See `Store::bookkeeping`.
pub struct Bookkeeping {
    conn: PoolConnection<Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Bookkeeping {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

pub struct Change {
    tx: sqlx::Transaction<'static, Any>,
    head_seq: i64,
    head_hash: String,
    /// The count of writes to people, devices and emergency stops (`audit_head.directory_revision`)
    /// when the head was taken. A decision reads it with its inputs; the group write, holding the
    /// head, reads those again only if it has moved since (`group.rs`).
    directory_revision: i64,
    /// Whether this change wrote people, devices or emergency stops: its commit moves the count.
    directory_written: bool,
    /// Rows of the entries appended by this change (`DraftEntry::place`), written at commit.
    entries: Vec<String>,
    /// Rows to insert at commit, in order, before the audit entries.
    staged: Vec<commit::Part>,
    _writer: OwnedMutexGuard<()>,
    backend: Backend,
    /// Grants this change alters, by gateway, each with when.
    changed_grants: BTreeMap<String, Vec<(Uuid, OffsetDateTime)>>,
    bus: broadcast::Sender<String>,
    instance: Uuid,
}

impl Change {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Writes to people, devices and emergency stops committed before this change took the head.
    pub(super) fn directory_revision(&self) -> i64 {
        self.directory_revision
    }

    /// Notes a write to people, devices or emergency stops (the only writers take a `Change`).
    pub(super) fn directory_written(&mut self) {
        self.directory_written = true;
    }

    /// Appends one entry to the audit chain; it is written with the rest of the change at commit.
    pub async fn audit(
        &mut self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> StoreResult<()> {
        self.append(&DraftEntry::new(at, actor, action, subject, &details));
        Ok(())
    }

    /// Appends an entry drafted before the head was taken (`Insertion::audit`).
    pub(super) fn append(&mut self, draft: &DraftEntry) {
        let seq = self.head_seq + 1;
        let (row, hash) = draft.place(&self.head_hash, seq);
        self.entries.push(row);
        self.head_seq = seq;
        self.head_hash = hash;
    }

    /// Signs the current chain head, if it is not signed yet.
    pub async fn checkpoint(
        &mut self,
        at: OffsetDateTime,
        key: &SigningKey,
    ) -> StoreResult<Option<Checkpoint>> {
        if self.head_seq == 0 || self.head_hash == GENESIS_HASH {
            return Ok(None);
        }
        let cp = Checkpoint::sign(self.head_seq, &self.head_hash, at, key);
        let inserted = sqlx::query(
            "INSERT INTO audit_checkpoints (seq, at, hash, signature) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(cp.seq)
        .bind(at.unix_timestamp())
        .bind(&cp.hash)
        .bind(&cp.signature)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok((inserted > 0).then_some(cp))
    }

    /// Records that `grant` changed for `gateway` (issued, ended, held or released). At commit each
    /// gateway touched goes up one revision, its changed grants are logged at that revision for its
    /// stream (one statement for all), and it is woken once committed.
    pub fn grant_changed(&mut self, gateway: &str, grant: Uuid, at: OffsetDateTime) {
        self.changed_grants
            .entry(gateway.to_string())
            .or_default()
            .push((grant, at));
    }

    /// Inserts `rows` (a `bulk::json` array of `table`'s rows) at commit.
    fn stage(&mut self, table: &'static bulk::Table, rows: String) {
        self.staged.push(commit::Part::Insert(table, rows));
    }

    /// The audit entries appended, and the head's new state if anything on it moved.
    fn head_parts(&self) -> Vec<commit::Part> {
        let mut parts = Vec::new();
        if !self.entries.is_empty() {
            parts.push(commit::Part::Insert(
                &audit_log::AUDIT_LOG,
                bulk::array(&self.entries),
            ));
        }
        if !self.entries.is_empty() || self.directory_written {
            parts.push(commit::Part::Head {
                seq: self.head_seq,
                hash: self.head_hash.clone(),
                directory_written: self.directory_written,
            });
        }
        parts
    }

    /// Each gateway touched goes up a revision, and its changed grants are logged at that
    /// revision (each grant once).
    fn gateway_parts(&self) -> Vec<commit::Part> {
        if self.changed_grants.is_empty() {
            return Vec::new();
        }
        let mut changes = Vec::new();
        for (gateway, grants) in &self.changed_grants {
            let unique: BTreeMap<Uuid, OffsetDateTime> = grants.iter().copied().collect();
            changes.extend(
                unique
                    .into_iter()
                    .map(|(grant, at)| serde_json::json!([gateway, grant.to_string(), at.unix_timestamp()])),
            );
        }
        vec![
            commit::Part::Raise {
                gateways: bulk::json(self.changed_grants.keys().map(String::as_str)),
            },
            commit::Part::Log {
                changes: bulk::json(changes),
            },
        ]
    }

    /// Writes what the change left for its commit (`commit::write`), and commits.
    pub async fn commit(mut self) -> StoreResult<()> {
        let mut parts = std::mem::take(&mut self.staged);
        parts.extend(self.head_parts());
        parts.extend(self.gateway_parts());
        commit::write(&mut self.tx, self.backend, &parts, self.instance).await?;
        self.tx.commit().await.map_err(outage::commit_failed)?;
        for g in self.changed_grants.into_keys() {
            let _ = self.bus.send(g);
        }
        Ok(())
    }
}

/// A store on a fresh SQLite database in `dir`, for the store's own tests.
#[cfg(test)]
async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    Store::open(&url).await.unwrap()
}

/// A store on a fresh database of the test PostgreSQL (`DAYPASS_TEST_POSTGRES_URL`, which README's
/// test command sets; without it the test fails, it is not skipped), for the store's own tests.
#[cfg(test)]
async fn postgres_store() -> Store {
    let admin = std::env::var("DAYPASS_TEST_POSTGRES_URL")
        .expect("DAYPASS_TEST_POSTGRES_URL is not set: run the tests with `bash scripts/test.sh`, which starts PostgreSQL");
    let name = format!("dp_store_test_{}", Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
    Store::open(&format!("{base}/{name}")).await.unwrap()
}
