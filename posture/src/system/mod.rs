//! The one door to the machine: every probe reads files, lists directories, follows links, runs
//! allow-listed commands and reads the clock through `System`, so a captured machine replays anywhere.

mod fixture;
#[cfg(unix)]
mod recording;
#[cfg(unix)]
mod unix;

pub use fixture::FixtureSystem;
#[cfg(unix)]
pub use recording::RecordingSystem;
#[cfg(unix)]
pub use unix::RealSystem;

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
    Gsettings,
    Falconctl,
    Mdatp,
    WazuhControl,
    Sentinelctl,
}

impl Cmd {
    pub fn path(self) -> &'static str {
        match self {
            Cmd::Nft => "/usr/sbin/nft",
            Cmd::FirewallCmd => "/usr/bin/firewall-cmd",
            Cmd::AptCheck => "/usr/lib/update-notifier/apt-check",
            Cmd::Gsettings => "/usr/bin/gsettings",
            Cmd::Falconctl => "/opt/CrowdStrike/falconctl",
            Cmd::Mdatp => "/usr/bin/mdatp",
            Cmd::WazuhControl => "/var/ossec/bin/wazuh-control",
            Cmd::Sentinelctl => "/opt/sentinelone/bin/sentinelctl",
        }
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

pub trait System: Send + Sync {
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
    fn now(&self) -> OffsetDateTime;
}
