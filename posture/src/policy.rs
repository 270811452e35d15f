//! The organisation's posture policy, as data: which checks are required, their thresholds, and
//! whether a check that could not be made counts as a failure.

use crate::facts::EdrRung;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    DiskEncryption,
    Edr,
    OsPatch,
    OsSupported,
    Firewall,
    ScreenLock,
}

impl Check {
    pub const ALL: [Check; 6] = [
        Check::DiskEncryption,
        Check::Edr,
        Check::OsPatch,
        Check::OsSupported,
        Check::Firewall,
        Check::ScreenLock,
    ];
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::DiskEncryption => "disk encryption",
            Check::Edr => "endpoint protection (EDR)",
            Check::OsPatch => "operating system updates",
            Check::OsSupported => "operating system still supported",
            Check::Firewall => "firewall",
            Check::ScreenLock => "screen lock",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Checks that must pass; the others are evaluated and shown but do not decide compliance.
    pub required: BTreeSet<Check>,
    /// Fail closed: a required check that could not be made counts as failed.
    pub unknown_fails: bool,
    /// Longest idle time before the screen must lock.
    pub max_idle_seconds: u32,
    /// Security updates that may be pending (Linux) before the patch check fails.
    pub max_pending_security_updates: u32,
    /// A pending reboot after updates fails the patch check.
    pub reboot_required_fails: bool,
    /// The rung an EDR product must reach.
    pub edr_min_rung: EdrRung,
    /// Accepted EDR products (catalogue names); empty accepts any.
    pub edr_products: BTreeSet<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            required: Check::ALL.into_iter().collect(),
            unknown_fails: true,
            max_idle_seconds: 900,
            max_pending_security_updates: 0,
            reboot_required_fails: true,
            edr_min_rung: EdrRung::ServiceRunning,
            edr_products: BTreeSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_override_defaults_and_refuse_unknown_keys() {
        let p: Policy =
            serde_json::from_str(r#"{"required":["disk_encryption"],"max_idle_seconds":300}"#).unwrap();
        assert_eq!(p.required, [Check::DiskEncryption].into_iter().collect());
        assert_eq!(p.max_idle_seconds, 300);
        assert!(p.unknown_fails, "defaults fill what the file leaves out");
        assert!(serde_json::from_str::<Policy>(r#"{"unknown_passes":true}"#).is_err());
    }
}
