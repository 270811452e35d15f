//! Parsers for what the Linux probes read; pure functions over text and small trees, so captured
//! machines replay anywhere.

pub mod block;
pub mod mountinfo;

#[cfg(test)]
mod robustness {
    use crate::probes::linux::{firewall, os, screen_lock, updates};
    use proptest::prelude::*;

    proptest! {
        /// Whatever bytes a tool or file hands back, the parsers answer (value or error) and never panic.
        #[test]
        fn parsers_never_panic_on_arbitrary_text(text in ".{0,400}") {
            let _ = super::mountinfo::parse(&text);
            let _ = os::parse_os_release(&text);
            let _ = firewall::input_policy_drops(&text);
            let _ = updates::parse_apt_check(&text);
            let _ = screen_lock::parse_idle_delay(&text);
            let _ = text.parse::<crate::version::Version>();
        }

        /// Mountinfo-shaped lines with arbitrary fields parse or fail cleanly.
        #[test]
        fn mountinfo_like_lines_never_panic(fields in proptest::collection::vec("[a-z0-9:/\\\\,-]{0,12}", 0..14)) {
            let _ = super::mountinfo::parse(&fields.join(" "));
        }
    }
}
