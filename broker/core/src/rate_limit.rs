//! Rate limits per key (a person, a source address) over fixed windows: how often one caller may
//! make a call that costs others something — a lookup in the ticket system, an anonymous passkey
//! ceremony. The count lives in this broker's memory; behind several brokers each limits alone.

use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Keys remembered before windows that have ended are forgotten (and, should that not be enough,
/// all of them: a flood of new keys resets the counts rather than locking everyone out).
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
pub struct RateLimit {
    calls: u32,
    window: Duration,
    seen: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: OffsetDateTime,
    calls: u32,
}

/// Refused for calling too often; `retry_after_seconds` says when the window ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many {what} in a row: try again in {retry_after_seconds} s")]
pub struct TooMany {
    pub what: &'static str,
    pub retry_after_seconds: u64,
}

impl RateLimit {
    /// At most `calls` per `window` for each key.
    pub fn new(calls: u32, window: Duration) -> Self {
        RateLimit {
            calls,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call of `what` by `key` at `now`, or refuses it.
    pub fn allow(&self, what: &'static str, key: &str, now: OffsetDateTime) -> Result<(), TooMany> {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= MAX_KEYS && !seen.contains_key(key) {
            seen.retain(|_, w| now < w.started + self.window);
            if seen.len() >= MAX_KEYS {
                seen.clear();
            }
        }
        let window = seen.entry(key.to_string()).or_insert(Window {
            started: now,
            calls: 0,
        });
        if now >= window.started + self.window || now < window.started {
            *window = Window {
                started: now,
                calls: 0,
            };
        }
        if window.calls >= self.calls {
            let left = (window.started + self.window - now).whole_seconds().max(1);
            return Err(TooMany {
                what,
                retry_after_seconds: left.unsigned_abs(),
            });
        }
        window.calls += 1;
        Ok(())
    }
}

/// The limits one broker keeps.
#[derive(Debug)]
pub(crate) struct BrokerLimits {
    /// Ticket checks per person: each is a lookup in the ticket system.
    pub ticket_checks: RateLimit,
    /// Passkey sign-ins started per person (anyone may start one for any person id).
    pub sign_in_starts: RateLimit,
    /// Passkey ceremonies (sign-ins, enrollments) started per source address.
    pub ceremony_starts: RateLimit,
}

impl Default for BrokerLimits {
    fn default() -> Self {
        BrokerLimits {
            ticket_checks: RateLimit::new(60, Duration::minutes(1)),
            sign_in_starts: RateLimit::new(20, Duration::minutes(1)),
            ceremony_starts: RateLimit::new(120, Duration::minutes(1)),
        }
    }
}

impl crate::Broker {
    /// Counts an anonymous passkey ceremony started from `address`. Loopback is not counted: the
    /// broker's own machine (a reverse proxy there must limit by the client's address itself).
    pub fn admit_ceremony_from(&self, address: std::net::IpAddr) -> crate::ServiceResult<()> {
        if address.is_loopback() {
            return Ok(());
        }
        let key = address.to_string();
        Ok((self.0.limits.ceremony_starts).allow("passkey ceremonies from one address", &key, self.now())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    #[test]
    fn each_key_has_its_own_window() {
        let limit = RateLimit::new(2, Duration::minutes(1));
        assert!(limit.allow("checks", "ana", T0).is_ok());
        assert!(limit.allow("checks", "ana", T0).is_ok());
        assert_eq!(
            limit.allow("checks", "ana", T0 + Duration::seconds(15)),
            Err(TooMany {
                what: "checks",
                retry_after_seconds: 45
            })
        );
        assert!(limit.allow("checks", "ben", T0).is_ok(), "ben is not ana");
        assert!(
            limit.allow("checks", "ana", T0 + Duration::minutes(1)).is_ok(),
            "a new window"
        );
    }

    #[test]
    fn a_flood_of_new_keys_does_not_grow_without_bound() {
        let limit = RateLimit::new(1, Duration::minutes(1));
        for i in 0..MAX_KEYS + 10 {
            limit.allow("starts", &i.to_string(), T0).unwrap();
        }
        assert!(limit.seen.lock().unwrap().len() <= MAX_KEYS);
    }
}
