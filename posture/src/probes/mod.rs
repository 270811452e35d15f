//! Probes: read the machine through `System` and turn what they find into `Facts`; no verdicts here.

pub mod edr;
pub mod linux;
pub mod macos;
pub mod windows;

use crate::facts::{Facts, OsFamily, FACTS_SCHEMA};
use crate::system::System;

/// Collects every fact on this machine (or a replayed capture), with the probes of its OS.
pub fn collect(sys: &dyn System) -> Facts {
    let now = sys.now();
    match sys.family() {
        OsFamily::Linux => Facts {
            schema: FACTS_SCHEMA,
            collected_at: now,
            os: linux::os::probe(sys),
            disk_encryption: linux::disk::probe(sys),
            edr: linux::edr::probe(sys),
            updates: linux::updates::probe(sys),
            firewall: linux::firewall::probe(sys),
            screen_lock: linux::screen_lock::probe(sys),
        },
        OsFamily::Macos => Facts {
            schema: FACTS_SCHEMA,
            collected_at: now,
            os: macos::os::probe(sys),
            disk_encryption: macos::disk::probe(sys),
            edr: macos::edr::probe(sys),
            updates: macos::updates::probe(sys),
            firewall: macos::firewall::probe(sys),
            screen_lock: macos::screen_lock::probe(sys),
        },
        OsFamily::Windows => Facts {
            schema: FACTS_SCHEMA,
            collected_at: now,
            os: windows::os::probe(sys),
            disk_encryption: windows::disk::probe(sys),
            edr: windows::edr::probe(sys),
            updates: windows::updates::probe(sys),
            firewall: windows::firewall::probe(sys),
            screen_lock: windows::screen_lock::probe(sys),
        },
    }
}

/// Feeds `text` to every parser of what a probe reads (command output and files a contractor's
/// machine controls), discarding the answers: the one list the robustness properties and the fuzz
/// target (`posture/fuzz`) share, so a new parser is added in one place.
#[doc(hidden)]
pub fn exercise_parsers(text: &str) {
    use linux::{firewall, os, screen_lock, updates};
    let _ = crate::linux::mountinfo::parse(text);
    let _ = os::parse_os_release(text);
    let _ = firewall::input_policy_drops(text);
    let _ = updates::parse_apt_check(text);
    let _ = updates::parse_dnf_advisories(text);
    let _ = updates::parse_apt_simulation(text);
    let _ = screen_lock::parse_idle_delay(text);
    let _ = text.parse::<crate::version::Version>();
    let _ = edr::falcon_rfm(text);
    let _ = edr::mdatp_health(text);
    let _ = edr::sentinel_status(text);
    let _ = edr::wazuh_status(text);
    let _ = macos::os::parse_sw_vers(text);
    let _ = macos::disk::parse_status(text);
    let _ = macos::disk::parse_unlock_users(text);
    let _ = macos::firewall::parse_socketfilterfw(text);
    let _ = macos::screen_lock::parse_screen_lock(text);
    let _ = macos::updates::parse_softwareupdate(text);
    let _ = macos::edr::parse_ps(text);
    let _ = macos::edr::parse_system_extensions(text);
}

/// Every OS's parsers, fed arbitrary text: they answer or fail cleanly, never panic.
#[cfg(test)]
mod robustness {
    use super::windows;
    use proptest::prelude::*;

    proptest! {
        /// Whatever bytes a tool or file hands back, the parsers answer (value or error) and never panic.
        #[test]
        fn parsers_never_panic_on_arbitrary_text(text in ".{0,400}") {
            super::exercise_parsers(&text);
        }

        /// Mountinfo-shaped lines with arbitrary fields parse or fail cleanly.
        #[test]
        fn mountinfo_like_lines_never_panic(fields in proptest::collection::vec("[a-z0-9:/\\\\,-]{0,12}", 0..14)) {
            let _ = crate::linux::mountinfo::parse(&fields.join(" "));
        }

        /// Whatever numbers Windows hands back, decoding them answers and never panics.
        #[test]
        fn windows_decoders_never_panic(state in any::<u64>(), protection in any::<u64>(), conversion in any::<u64>()) {
            let _ = windows::edr::wsc_state(state);
            let _ = windows::disk::classify(protection, conversion);
        }
    }
}
