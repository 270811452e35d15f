//! The client's WireGuard interface, one backend per OS behind `Tunnel`: userspace `wireguard-go` on
//! Linux and macOS (configured through `wireguard-control`), and a WireGuardNT adapter on Windows
//! (configured as `adapter_config` plans it).

use crate::split::TunnelPlan;

#[cfg(any(windows, test))]
mod adapter_config;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(unix)]
mod userspace;
#[cfg(windows)]
mod windows;

#[cfg(target_os = "linux")]
pub use linux::ClientInterface;
#[cfg(target_os = "macos")]
pub use macos::ClientInterface;
#[cfg(windows)]
pub use windows::ClientInterface;

/// What the tunnel service needs from the interface: bring it up exactly as planned (replacing
/// whatever it had), and remove it with its routes (an interface already gone is not an error).
pub trait Tunnel: Send {
    fn up(&mut self, plan: &TunnelPlan) -> Result<(), InterfaceError>;
    fn down(&mut self) -> Result<(), InterfaceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum InterfaceError {
    #[error("{0:?} is not a usable interface name: {1}")]
    Name(String, String),
    #[error("{0} is not a base64 WireGuard key")]
    Key(&'static str),
    #[error("WireGuard interface {0}: {1}")]
    WireGuard(String, std::io::Error),
    #[error("{0}: {1}")]
    Command(String, String),
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Runs a system command (`ip`, `ifconfig`, `route`) and turns a failure into its standard error.
#[cfg(unix)]
fn run(program: &str, args: &[&str]) -> Result<(), InterfaceError> {
    let what = format!("{program} {}", args.join(" "));
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| InterfaceError::Command(what.clone(), e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(InterfaceError::Command(
            what,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}
