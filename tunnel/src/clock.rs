//! The tunnel service's one reader of the wall clock; the session and controller take `now`.

use time::OffsetDateTime;

#[allow(clippy::disallowed_methods)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
