//! Signed session requests are taken once: the nonces of the signatures seen within their time
//! window. Brokers sharing a PostgreSQL database take them in one table there, so a request one
//! broker took is refused by every other behind the same name; a broker on SQLite is the only one
//! on its database and keeps them in memory.

use crate::store::{self, Backend};
use crate::{Broker, ServiceResult};
use daypass_proto::request_signature::SKEW_SECONDS;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// How long a nonce first seen now can still come with a good signature: its signing time is
/// within `SKEW_SECONDS` of now, and it is good for `SKEW_SECONDS` either side of that time.
const WINDOW: Duration = Duration::seconds(2 * SKEW_SECONDS);

/// Kept past the window in the shared table, for brokers whose clocks differ by up to this.
const CLOCK_MARGIN: Duration = Duration::seconds(SKEW_SECONDS);

/// A signed request's nonce as the session read took it: on PostgreSQL in the same statement, so
/// taking it costs no round trip of its own.
pub(crate) struct TakenNonce {
    nonce: String,
    first_use: bool,
}

impl Broker {
    /// The session stored under `session` (as `store::session_holder`); on PostgreSQL the request's
    /// `nonce`, if it names one, is taken in the same statement.
    pub(crate) async fn session_holder_taking_nonce(
        &self,
        conn: &mut sqlx::AnyConnection,
        session: &str,
        nonce: Option<&str>,
        now: OffsetDateTime,
    ) -> ServiceResult<(Option<store::SessionHolder>, Option<TakenNonce>)> {
        match (self.store().backend(), nonce) {
            (Backend::Postgres, Some(nonce)) => {
                let key = nonce_key(session, nonce);
                let (holder, first_use) =
                    store::session_holder_taking_nonce(conn, session, &key, now + WINDOW).await?;
                let taken = TakenNonce {
                    nonce: nonce.to_string(),
                    first_use,
                };
                Ok((holder, Some(taken)))
            }
            _ => Ok((store::session_holder(conn, session).await?, None)),
        }
    }

    /// Whether `nonce`, of a request in the session stored under `session` whose signature was
    /// verified, is used for the first time by any broker on this database: as `taken` with the
    /// session on PostgreSQL, else in this broker's memory (from now on it is not).
    pub(crate) fn first_use_of_nonce(
        &self,
        taken: Option<TakenNonce>,
        session: &str,
        nonce: &str,
        now: OffsetDateTime,
    ) -> bool {
        match taken {
            Some(taken) => taken.nonce == nonce && taken.first_use,
            None => self.0.seen_nonces.first_time(session, nonce, now),
        }
    }

    /// Forgets shared nonces no broker would accept again (the sweep's housekeeping).
    pub(crate) async fn prune_request_nonces(&self, now: OffsetDateTime) -> ServiceResult<()> {
        if self.store().backend() == Backend::Postgres {
            let mut book = self.store().bookkeeping().await?;
            store::prune_request_nonces(book.conn(), now - CLOCK_MARGIN).await?;
        }
        Ok(())
    }
}

fn nonce_key(session: &str, nonce: &str) -> String {
    format!("{session}:{nonce}")
}

/// Nonces remembered at most; past it, expired ones are forgotten, and if none has expired the
/// request is refused (only holders of a device key can fill it).
const MAX_NONCES: usize = 1_000_000;

#[derive(Debug, Default)]
pub(crate) struct SeenNonces {
    seen: Mutex<HashMap<String, OffsetDateTime>>,
}

impl SeenNonces {
    /// Whether `nonce` of `session` is new at `now` (and from now on it is not).
    fn first_time(&self, session: &str, nonce: &str, now: OffsetDateTime) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= MAX_NONCES {
            seen.retain(|_, at| now - *at < WINDOW);
            if seen.len() >= MAX_NONCES {
                return false;
            }
        }
        let key = nonce_key(session, nonce);
        match seen.get(&key) {
            Some(at) if now - *at < WINDOW => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_taken_once_per_session_within_the_window() {
        let seen = SeenNonces::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert!(seen.first_time("s1", "n1", t0));
        assert!(
            !seen.first_time("s1", "n1", t0 + Duration::seconds(30)),
            "a replay"
        );
        assert!(seen.first_time("s2", "n1", t0), "another session");
        assert!(seen.first_time("s1", "n2", t0), "another nonce");
    }
}
