//! Probes: read the machine through `System` and turn what they find into `Facts`; no verdicts here.

pub mod linux;

use crate::facts::{Facts, FACTS_SCHEMA};
use crate::system::System;

/// Collects every fact on a Linux machine (or a replayed Linux capture).
pub fn collect_linux(sys: &dyn System) -> Facts {
    Facts {
        schema: FACTS_SCHEMA,
        collected_at: sys.now(),
        os: linux::os::probe(sys),
        disk_encryption: linux::disk::probe(sys),
        edr: linux::edr::probe(sys),
        updates: linux::updates::probe(sys),
        firewall: linux::firewall::probe(sys),
        screen_lock: linux::screen_lock::probe(sys),
    }
}
