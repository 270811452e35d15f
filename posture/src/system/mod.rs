//! The one door to the machine: every probe reads files, lists directories, follows links, runs
//! allow-listed commands, reads the Windows registry and WMI, and reads the clock through `System`,
//! so a captured machine of any OS replays anywhere.

mod cache;
mod fixture;
mod real;
mod recording;
#[cfg(windows)]
mod windows;

pub use cache::CachingSystem;
pub use fixture::{command_file, FixtureSystem};
pub use real::RealSystem;
pub use recording::RecordingSystem;

use crate::facts::OsFamily;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// How long a probe's command may run before it is killed and its fact is unknown.
pub const COMMAND_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("permission denied reading {0} (run the check with more privilege)")]
    Denied(String),
    #[error("{0} did not answer within {1} s")]
    TimedOut(String, u64),
    #[error("{0}")]
    Other(String),
}

/// Commands a probe may run: fixed absolute paths, never looked up on `PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cmd {
    Nft,
    FirewallCmd,
    AptCheck,
    AptGet,
    Dnf,
    Gsettings,
    Falconctl,
    Mdatp,
    WazuhControl,
    Sentinelctl,
    // macOS
    SwVers,
    Fdesetup,
    Socketfilterfw,
    Defaults,
    Sysadminctl,
    Softwareupdate,
    Ps,
    Systemextensionsctl,
    MdatpMacos,
    // Windows
    PowerShell,
}

impl Cmd {
    pub fn path(self) -> &'static str {
        match self {
            Cmd::Nft => "/usr/sbin/nft",
            Cmd::FirewallCmd => "/usr/bin/firewall-cmd",
            Cmd::AptCheck => "/usr/lib/update-notifier/apt-check",
            Cmd::AptGet => "/usr/bin/apt-get",
            Cmd::Dnf => "/usr/bin/dnf",
            Cmd::Gsettings => "/usr/bin/gsettings",
            Cmd::Falconctl => "/opt/CrowdStrike/falconctl",
            Cmd::Mdatp => "/usr/bin/mdatp",
            Cmd::WazuhControl => "/var/ossec/bin/wazuh-control",
            Cmd::Sentinelctl => "/opt/sentinelone/bin/sentinelctl",
            Cmd::SwVers => "/usr/bin/sw_vers",
            Cmd::Fdesetup => "/usr/bin/fdesetup",
            Cmd::Socketfilterfw => "/usr/libexec/ApplicationFirewall/socketfilterfw",
            Cmd::Defaults => "/usr/bin/defaults",
            Cmd::Sysadminctl => "/usr/sbin/sysadminctl",
            Cmd::Softwareupdate => "/usr/sbin/softwareupdate",
            Cmd::Ps => "/bin/ps",
            Cmd::Systemextensionsctl => "/usr/bin/systemextensionsctl",
            Cmd::MdatpMacos => "/usr/local/bin/mdatp",
            Cmd::PowerShell => r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        }
    }
}

/// Files and directories a command's answer depends on and nothing else, for the commands worth
/// caching (package managers take seconds to compute pending updates from them); `None` for the
/// rest, whose answers depend on the running system.
pub fn cache_inputs(cmd: Cmd, args: &[&str]) -> Option<&'static [&'static str]> {
    const APT: &[&str] = &["/var/lib/dpkg/status", "/var/lib/apt/lists"];
    const DNF: &[&str] = &["/var/lib/rpm", "/var/cache/libdnf5", "/var/cache/dnf"];
    match (cmd, args) {
        (Cmd::AptCheck | Cmd::AptGet, _) => Some(APT),
        (Cmd::Dnf, [.., "updateinfo", "list", "--security"]) => Some(DNF),
        _ => None,
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CmdOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A registry value as the probes use it: a DWORD/QWORD, or text (REG_SZ, REG_EXPAND_SZ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RegValue {
    Number(u64),
    Text(String),
}

impl RegValue {
    /// The value as a number; text that holds a number (`ScreenSaveTimeOut` = "600") counts.
    pub fn number(&self) -> Option<u64> {
        match self {
            RegValue::Number(n) => Some(*n),
            RegValue::Text(t) => t.trim().parse().ok(),
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            RegValue::Text(t) => Some(t),
            RegValue::Number(_) => None,
        }
    }
}

impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegValue::Number(n) => write!(f, "{n}"),
            RegValue::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// One WMI object (a query row, or a method's out-parameters): property name → value.
pub type WmiObject = BTreeMap<String, serde_json::Value>;

pub trait System: Send + Sync {
    /// The operating system of this machine, or of the captured one.
    fn family(&self) -> OsFamily;
    /// A file's text (lossy UTF-8).
    fn read_file(&self, path: &str) -> Result<String, SysError>;
    /// Entry names in a directory, sorted.
    fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError>;
    /// A symbolic link's target, as stored.
    fn read_link(&self, path: &str) -> Result<String, SysError>;
    /// Runs an allow-listed command with the C locale and a timeout.
    fn run(&self, cmd: Cmd, args: &[&str]) -> Result<CmdOutput, SysError>;
    fn exists(&self, path: &str) -> bool {
        self.read_link(path).is_ok() || self.read_file(path).is_ok() || self.read_dir(path).is_ok()
    }
    /// A registry value; `key` starts with its hive (`HKLM\SOFTWARE\…`, `HKCU\…`). An empty
    /// `value` reads the key's default value, or empty text when the key exists without one, so it
    /// also answers whether a key exists.
    fn registry(&self, key: &str, _value: &str) -> Result<RegValue, SysError> {
        Err(SysError::NotFound(format!("registry key {key}")))
    }
    /// The objects a WQL query returns in a WMI namespace (`ROOT\CIMV2`).
    fn wmi_query(&self, namespace: &str, _query: &str) -> Result<Vec<WmiObject>, SysError> {
        Err(SysError::NotFound(format!("WMI namespace {namespace}")))
    }
    /// Calls `method` (no in-parameters) on the WMI object at `object_path` (`Class.Key='…'`) and
    /// returns its out-parameters.
    fn wmi_method(&self, namespace: &str, _object_path: &str, _method: &str) -> Result<WmiObject, SysError> {
        Err(SysError::NotFound(format!("WMI namespace {namespace}")))
    }
    fn now(&self) -> OffsetDateTime;
}

/// The key a registry value is stored under in a fixture: `KEY\VALUE`.
pub fn registry_entry(key: &str, value: &str) -> String {
    format!("{key}\\{value}")
}

/// The key a WMI answer is stored under in a fixture: `NAMESPACE: QUERY` or `NAMESPACE: PATH.METHOD()`.
pub fn wmi_query_entry(namespace: &str, query: &str) -> String {
    format!("{namespace}: {query}")
}

pub fn wmi_method_entry(namespace: &str, object_path: &str, method: &str) -> String {
    format!("{namespace}: {object_path}.{method}()")
}

/// What a failed read or run of `path` means to a probe.
fn io_error(path: &str, e: std::io::Error) -> SysError {
    match e.kind() {
        std::io::ErrorKind::NotFound => SysError::NotFound(path.to_string()),
        std::io::ErrorKind::PermissionDenied => SysError::Denied(path.to_string()),
        _ => SysError::Other(format!("{path}: {e}")),
    }
}
