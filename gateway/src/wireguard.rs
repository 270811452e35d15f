//! The gateway's WireGuard interface through `wireguard-control`: the kernel module where it is
//! loaded, else userspace `wireguard-go` (its UAPI socket). One peer per device, whose only allowed
//! IP is the device's tunnel address.

use crate::plan::{Changes, Peer};
use std::net::IpAddr;
use wireguard_control::{Backend, Device, DeviceUpdate, InterfaceName, Key, PeerConfigBuilder};

#[derive(Debug, thiserror::Error)]
pub enum WireGuardError {
    #[error("{0:?} is not a usable interface name: {1}")]
    Name(String, String),
    #[error("peer key {0:?} is not a base64 WireGuard key")]
    Key(String),
    #[error("WireGuard interface {0}: {1}")]
    Io(String, std::io::Error),
}

/// The kernel module when it is loaded, else userspace.
pub fn default_backend() -> Backend {
    #[cfg(target_os = "linux")]
    if std::path::Path::new("/sys/module/wireguard").exists() {
        return Backend::Kernel;
    }
    Backend::Userspace
}

#[derive(Debug)]
pub struct WireGuard {
    name: InterfaceName,
    backend: Backend,
}

impl WireGuard {
    pub fn new(interface: &str, backend: Backend) -> Result<Self, WireGuardError> {
        let name = interface
            .parse()
            .map_err(|e: wireguard_control::InvalidInterfaceName| {
                WireGuardError::Name(interface.into(), e.to_string())
            })?;
        Ok(WireGuard { name, backend })
    }

    fn io(&self, e: std::io::Error) -> WireGuardError {
        WireGuardError::Io(self.name.to_string(), e)
    }

    /// Sets the gateway's key and port, keeping the peers already there: a restarted agent
    /// removes only those its grants no longer ask for, so live sessions survive the restart. The
    /// interface must exist (made by the kernel module, or by `wireguard-go`, which
    /// `wireguard-control` starts itself when its socket is missing).
    pub fn configure(&self, private_key_base64: &str, listen_port: u16) -> Result<(), WireGuardError> {
        let key = Key::from_base64(private_key_base64)
            .map_err(|_| WireGuardError::Key("(the gateway's private key)".into()))?;
        DeviceUpdate::new()
            .set_private_key(key)
            .set_listen_port(listen_port)
            .apply(&self.name, self.backend)
            .map_err(|e| self.io(e))
    }

    /// Adds and removes the peers of `changes` in one update.
    pub fn apply(&self, changes: &Changes) -> Result<(), WireGuardError> {
        if changes.add_peers.is_empty() && changes.remove_peers.is_empty() {
            return Ok(());
        }
        let key =
            |p: &Peer| Key::from_base64(&p.public_key).map_err(|_| WireGuardError::Key(p.public_key.clone()));
        let mut update = DeviceUpdate::new();
        for p in &changes.remove_peers {
            update = update.remove_peer_by_key(&key(p)?);
        }
        for p in &changes.add_peers {
            update = update.add_peer(
                PeerConfigBuilder::new(&key(p)?)
                    .replace_allowed_ips()
                    .add_allowed_ip(IpAddr::V4(p.tunnel_address.addr()), 32),
            );
        }
        update.apply(&self.name, self.backend).map_err(|e| self.io(e))
    }

    /// Each peer's latest handshake (none before the first) and the address it came from.
    pub fn handshakes(&self) -> Result<Vec<crate::connects::Handshake>, WireGuardError> {
        let device = Device::get(&self.name, self.backend).map_err(|e| self.io(e))?;
        Ok(device
            .peers
            .iter()
            .map(|p| crate::connects::Handshake {
                peer: p.config.public_key.to_base64(),
                at: p.stats.last_handshake_time,
                endpoint: p.config.endpoint.map(|e| e.ip()),
            })
            .collect())
    }

    /// The peers configured now, each with its (first) allowed address.
    pub fn peers(&self) -> Result<Vec<Peer>, WireGuardError> {
        let device = Device::get(&self.name, self.backend).map_err(|e| self.io(e))?;
        Ok(device
            .peers
            .iter()
            .filter_map(|p| {
                let ip = p.config.allowed_ips.iter().find_map(|a| match a.address {
                    IpAddr::V4(v4) if a.cidr == 32 => Some(v4),
                    _ => None,
                })?;
                Some(Peer {
                    public_key: p.config.public_key.to_base64(),
                    tunnel_address: ip.into(),
                })
            })
            .collect())
    }
}
