//! Windows probes, one fact each, reading the registry and WMI (and one PowerShell fallback).

pub mod disk;
pub mod edr;
pub mod firewall;
pub mod os;
pub mod screen_lock;
pub mod updates;

use crate::system::{RegValue, System};

/// `CurrentVersion` of Windows NT: build, UBR, edition, installation type, system root.
pub const CURRENT_VERSION: &str = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion";

/// A registry value with its path in the error, for evidence and `unknown` reasons.
fn reg(sys: &dyn System, key: &str, value: &str) -> Result<RegValue, String> {
    sys.registry(key, value)
        .map_err(|e| format!("registry {key}\\{value}: {e}"))
}

/// A registry value that must be a number (or text holding one).
fn reg_number(sys: &dyn System, key: &str, value: &str) -> Result<u64, String> {
    let v = reg(sys, key, value)?;
    v.number()
        .ok_or_else(|| format!("registry {key}\\{value} is {v}, not a number"))
}

/// Whether a registry key exists (an empty value name reads the key itself).
fn reg_key_exists(sys: &dyn System, key: &str) -> bool {
    sys.registry(key, "").is_ok()
}
