//! Connections for reads: on PostgreSQL a pool of the store's own, which takes a connection back
//! without a round trip to the server.
//!
//! sqlx's pool checks every connection coming back with a round trip (a `Sync` and the server's
//! answer), to flush a rollback left unsent and to find a broken connection before its next user
//! does. Reads are single statements, not transactions: under load that check was over a quarter
//! of PostgreSQL's round trips and a tenth of the broker's CPU. Here a connection is taken back as
//! it is, and checked before its next use only when it was idle for a second or more (after a quiet
//! spell), or when any of this process's connections was lost since it was last used (a database
//! restart: a query failed with a lost connection). One whose call was cancelled with messages
//! still unsent is checked, as sqlx does, off the caller's path; one cancelled while its answer was
//! arriving is drained by sqlx at the start of its next statement. SQLite keeps sqlx's pool: there
//! the check is a message to a thread of this process, not a trip to a server.

use super::{StoreError, StoreResult};
use sqlx::any::AnyConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions as _, Connection as _};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A pooled connection idle this long is checked before use.
pub(super) const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// How long a read waits for a connection when all are in use.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection is closed after this long (PostgreSQL's per-connection caches grow with its age).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Connections this process lost (a query failed because the server went away), ever.
static CONNECTIONS_LOST: AtomicU64 = AtomicU64::new(0);

/// Notes that a connection was lost: every pooled connection is checked before its next use.
pub(super) fn note_connection_lost() {
    CONNECTIONS_LOST.fetch_add(1, Ordering::Relaxed);
}

/// Where reads get their connections.
#[derive(Clone)]
pub(super) enum Reads {
    /// SQLite: sqlx's pool, shared with the writes.
    Sqlx(AnyPool),
    Own(Arc<OwnPool>),
}

pub(super) struct OwnPool {
    options: AnyConnectOptions,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
}

struct Idle {
    conn: AnyConnection,
    born: Instant,
    since: Instant,
    /// `CONNECTIONS_LOST` when it was last handed out.
    losses_seen: u64,
}

impl Reads {
    /// At most `max` connections to `options`, opened as needed.
    pub(super) fn own(options: AnyConnectOptions, max: usize) -> Reads {
        Reads::Own(Arc::new(OwnPool {
            options,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max)),
        }))
    }

    pub(super) async fn acquire(&self) -> StoreResult<ReadConnection> {
        match self {
            Reads::Sqlx(pool) => Ok(ReadConnection(Held::Sqlx(pool.acquire().await?))),
            Reads::Own(pool) => pool.acquire().await,
        }
    }

    /// Closes the idle connections; reads from now on fail.
    pub(super) async fn close(&self) {
        let Reads::Own(pool) = self else { return };
        pool.permits.close();
        let idle = std::mem::take(&mut *pool.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for i in idle {
            let _ = i.conn.close().await;
        }
    }
}

impl OwnPool {
    async fn acquire(self: &Arc<Self>) -> StoreResult<ReadConnection> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        let losses = CONNECTIONS_LOST.load(Ordering::Relaxed);
        while let Some(mut idle) = self.take_idle() {
            let trusted = idle.since.elapsed() < PING_WHEN_IDLE_FOR && idle.losses_seen == losses;
            // One that fails its check is broken: dropped, and the next one tried.
            if trusted || idle.conn.ping().await.is_ok() {
                return Ok(self.hand_out(idle.conn, idle.born, losses, permit));
            }
        }
        let conn = self.options.connect().await?;
        Ok(self.hand_out(conn, Instant::now(), losses, permit))
    }

    fn take_idle(&self) -> Option<Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn hand_out(
        self: &Arc<Self>,
        conn: AnyConnection,
        born: Instant,
        losses_seen: u64,
        permit: OwnedSemaphorePermit,
    ) -> ReadConnection {
        ReadConnection(Held::Own {
            conn: Some(conn),
            born,
            losses_seen,
            pool: self.clone(),
            permit: Some(permit),
        })
    }

    /// Takes `conn` back; its permit goes back with it (after, so a waiting read finds it idle).
    fn take_back(&self, conn: AnyConnection, born: Instant, losses_seen: u64, permit: OwnedSemaphorePermit) {
        if born.elapsed() < MAX_LIFETIME && !self.permits.is_closed() {
            let idle = Idle {
                conn,
                born,
                since: Instant::now(),
                losses_seen,
            };
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(idle);
        } else if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = conn.close().await;
            });
        }
        drop(permit);
    }
}

/// A connection for reads outside a change; it goes back to its pool when dropped.
pub struct ReadConnection(Held);

enum Held {
    Sqlx(PoolConnection<Any>),
    Own {
        conn: Option<AnyConnection>,
        born: Instant,
        losses_seen: u64,
        pool: Arc<OwnPool>,
        permit: Option<OwnedSemaphorePermit>,
    },
}

impl Deref for ReadConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Held::Sqlx(conn) => conn,
            Held::Own { conn, .. } => conn.as_ref().expect("held until dropped"),
        }
    }
}

impl DerefMut for ReadConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Held::Sqlx(conn) => conn,
            Held::Own { conn, .. } => conn.as_mut().expect("held until dropped"),
        }
    }
}

impl Drop for ReadConnection {
    fn drop(&mut self) {
        let Held::Own {
            conn,
            born,
            losses_seen,
            pool,
            permit,
        } = &mut self.0
        else {
            return;
        };
        let (Some(mut conn), Some(permit)) = (conn.take(), permit.take()) else {
            return;
        };
        let (born, losses_seen) = (*born, *losses_seen);
        if !conn.should_flush() {
            pool.take_back(conn, born, losses_seen, permit);
            return;
        }
        // A cancelled call left messages unsent: they go now, with a check, before it is reused.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = pool.clone();
        rt.spawn(async move {
            if conn.ping().await.is_ok() {
                pool.take_back(conn, born, losses_seen, permit);
            }
        });
    }
}
