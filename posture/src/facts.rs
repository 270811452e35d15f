//! Posture facts: what the probes saw on a device, versioned, each either seen (with evidence) or
//! unknown (with the reason). Facts carry no verdicts; `evaluate` makes those.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Bumped whenever a field changes meaning; the broker refuses schemas it does not know.
pub const FACTS_SCHEMA: u32 = 1;

/// One observation: the value with the raw evidence it came from, or why it could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Observed<T> {
    Seen { value: T, evidence: Vec<String> },
    Unknown { reason: String },
}

impl<T> Observed<T> {
    pub fn seen(value: T, evidence: impl IntoIterator<Item = String>) -> Self {
        Observed::Seen {
            value,
            evidence: evidence.into_iter().collect(),
        }
    }

    pub fn unknown(reason: impl Into<String>) -> Self {
        Observed::Unknown {
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Linux,
    Macos,
    Windows,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsFacts {
    pub family: OsFamily,
    /// Linux: os-release `ID` (`ubuntu`); otherwise `windows` or `macos`.
    pub name: String,
    /// Linux: `VERSION_ID` (`24.04`); Windows: `10.0.BUILD.UBR`; macOS: `ProductVersion` (`14.6.1`).
    pub version: String,
    /// macOS Rapid Security Response, e.g. `(a)`.
    pub version_extra: Option<String>,
    /// Windows `EditionID`, Linux kernel release, macOS build: shown, not evaluated.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    On,
    Off,
    /// BitLocker suspended: encrypted but the key is in the clear; counts as off.
    Suspended,
}

/// One writable, non-pseudo volume and how it is protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Mount point or drive (`/`, `/home`, `[SWAP] /dev/dm-1`, `C:`, `/System/Volumes/Data`).
    pub mount: String,
    pub protection: Protection,
    /// `LUKS2`, `BitLocker`, `FileVault`, … when protected.
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskEncryptionFacts {
    pub volumes: Vec<Volume>,
}

/// How far up the verification ladder an EDR product was confirmed (weakest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdrRung {
    Installed,
    ServiceRunning,
    ComponentActive,
    VendorHealthy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdrProduct {
    /// Catalogue name, e.g. `crowdstrike-falcon`, `microsoft-defender`.
    pub product: String,
    /// The highest rung confirmed.
    pub rung: EdrRung,
    /// What the vendor's health command said, when it was asked: `false` means it reported unhealthy.
    pub vendor_healthy: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateFacts {
    /// Security updates waiting to be installed; `None` where the OS does not count them offline
    /// (Windows: the build and UBR against the baseline say how patched it is).
    pub pending_security_updates: Option<u32>,
    /// A restart is pending to finish installing updates; `None` where the OS does not say.
    pub reboot_required: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallFacts {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenLockFacts {
    pub lock_enabled: bool,
    /// Idle time before the screen locks; `None` = never.
    pub idle_timeout_seconds: Option<u32>,
}

/// Everything the probes collected on one device at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub schema: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    pub os: Observed<OsFacts>,
    pub disk_encryption: Observed<DiskEncryptionFacts>,
    pub edr: Observed<Vec<EdrProduct>>,
    pub updates: Observed<UpdateFacts>,
    pub firewall: Observed<FirewallFacts>,
    pub screen_lock: Observed<ScreenLockFacts>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_serialise_with_a_status_tag() {
        let seen = Observed::seen(
            FirewallFacts { enabled: true },
            ["nft: input policy drop".to_string()],
        );
        let json = serde_json::to_value(&seen).unwrap();
        assert_eq!(json["status"], "seen");
        assert_eq!(json["value"]["enabled"], true);
        let unknown: Observed<FirewallFacts> =
            serde_json::from_str(r#"{"status":"unknown","reason":"nft not installed"}"#).unwrap();
        assert_eq!(unknown, Observed::unknown("nft not installed"));
    }

    #[test]
    fn edr_rungs_order_weakest_first() {
        assert!(EdrRung::Installed < EdrRung::ServiceRunning);
        assert!(EdrRung::ComponentActive < EdrRung::VendorHealthy);
    }
}
