//! Signed session requests are taken once: the nonces of the signatures seen within their time
//! window. Kept in this broker's memory; several brokers behind one name each keep their own.

use daypass_proto::request_signature::SKEW_SECONDS;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Nonces remembered at most; past it, expired ones are forgotten, and if none has expired the
/// request is refused (only holders of a device key can fill it).
const MAX_NONCES: usize = 1_000_000;

#[derive(Debug, Default)]
pub(crate) struct SeenNonces {
    seen: Mutex<HashMap<String, OffsetDateTime>>,
}

impl SeenNonces {
    /// Whether `nonce` of `session` is new at `now` (and from now on it is not).
    pub fn first_time(&self, session: &str, nonce: &str, now: OffsetDateTime) -> bool {
        // A signature is good for SKEW_SECONDS either side of its time.
        let window = Duration::seconds(2 * SKEW_SECONDS);
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= MAX_NONCES {
            seen.retain(|_, at| now - *at < window);
            if seen.len() >= MAX_NONCES {
                return false;
            }
        }
        let key = format!("{session}:{nonce}");
        match seen.get(&key) {
            Some(at) if now - *at < window => false,
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
