//! The gateway's one reader of the wall clock; everything else takes `now` as a parameter.

use time::OffsetDateTime;

#[allow(clippy::disallowed_methods)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
