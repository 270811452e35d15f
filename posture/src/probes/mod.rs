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
