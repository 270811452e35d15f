//! The client's WireGuard interface (userspace `wireguard-go` through `wireguard-control`, which
//! starts it when its socket is missing): up with the device key, the gateway as its one peer, the
//! device's tunnel address and routes to exactly the planned resources; down removes all of it.

use crate::split::TunnelPlan;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use wireguard_control::{Backend, Device, DeviceUpdate, InterfaceName, Key, PeerConfigBuilder};

#[derive(Debug, thiserror::Error)]
pub enum InterfaceError {
    #[error("{0:?} is not a usable interface name: {1}")]
    Name(String, String),
    #[error("{0} is not a base64 WireGuard key")]
    Key(&'static str),
    #[error("WireGuard interface {0}: {1}")]
    WireGuard(String, std::io::Error),
    #[error("ip {0}: {1}")]
    Ip(String, String),
}

/// How long to wait for `wireguard-go`'s socket: 100 steps of 30 ms.
const SOCKET_WAIT_STEPS: u32 = 100;

/// A pause while an external daemon starts; not a timer the session logic depends on.
#[allow(clippy::disallowed_methods)]
fn wait_a_little() {
    std::thread::sleep(std::time::Duration::from_millis(30));
}

#[derive(Debug)]
pub struct ClientInterface {
    name: InterfaceName,
}

fn ip(args: &[&str]) -> Result<(), InterfaceError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| InterfaceError::Ip(args.join(" "), e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(InterfaceError::Ip(
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

impl ClientInterface {
    pub fn new(name: &str) -> Result<Self, InterfaceError> {
        let name = name
            .parse()
            .map_err(|e: wireguard_control::InvalidInterfaceName| {
                InterfaceError::Name(name.into(), e.to_string())
            })?;
        Ok(ClientInterface { name })
    }

    /// Starts `wireguard-go` for the interface unless its control socket is there, and waits for
    /// the socket: configuring before it exists fails (seen under load when `wireguard-control`
    /// started the daemon itself).
    fn ensure_userspace(&self) -> Result<(), InterfaceError> {
        let socket = format!("/var/run/wireguard/{}.sock", self.name);
        if Path::new(&socket).exists() {
            return Ok(());
        }
        let io = |e: std::io::Error| InterfaceError::WireGuard(self.name.to_string(), e);
        let status = Command::new("wireguard-go")
            .arg(self.name.to_string())
            .status()
            .map_err(io)?;
        if !status.success() {
            return Err(io(std::io::Error::other(format!(
                "wireguard-go exited with {status}"
            ))));
        }
        // wireguard-go goes to the background; its socket appears once the interface is ready.
        for _ in 0..SOCKET_WAIT_STEPS {
            if Path::new(&socket).exists() {
                return Ok(());
            }
            wait_a_little();
        }
        Err(io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("wireguard-go did not create {socket}"),
        )))
    }

    /// Brings the tunnel up as planned, replacing whatever the interface had.
    pub fn up(&self, device_private_key: &str, plan: &TunnelPlan) -> Result<(), InterfaceError> {
        self.ensure_userspace()?;
        let key = Key::from_base64(device_private_key)
            .map_err(|_| InterfaceError::Key("the device's private key"))?;
        let gateway = Key::from_base64(&plan.gateway_key)
            .map_err(|_| InterfaceError::Key("the gateway's public key"))?;
        let mut peer = PeerConfigBuilder::new(&gateway)
            .set_endpoint(plan.endpoint)
            .replace_allowed_ips();
        for r in &plan.routes {
            peer = peer.add_allowed_ip(IpAddr::V4(r.network()), r.prefix_len());
        }
        DeviceUpdate::new()
            .set_private_key(key)
            .replace_peers()
            .add_peer(peer)
            .apply(&self.name, Backend::Userspace)
            .map_err(|e| InterfaceError::WireGuard(self.name.to_string(), e))?;
        let dev = self.name.to_string();
        ip(&["addr", "flush", "dev", &dev])?;
        ip(&["addr", "add", &plan.address.to_string(), "dev", &dev])?;
        ip(&["link", "set", &dev, "up"])?;
        for r in &plan.routes {
            ip(&["route", "replace", &r.to_string(), "dev", &dev])?;
        }
        Ok(())
    }

    /// Removes the interface (its routes go with it) before returning: the control socket first,
    /// then the link itself, so `wireguard-go` exits and a new interface of the same name can come
    /// up at once. An interface already gone is not an error.
    pub fn down(&self) -> Result<(), InterfaceError> {
        if let Ok(device) = Device::get(&self.name, Backend::Userspace) {
            device
                .delete()
                .map_err(|e| InterfaceError::WireGuard(self.name.to_string(), e))?;
        }
        match ip(&["link", "del", "dev", &self.name.to_string()]) {
            Err(InterfaceError::Ip(_, e)) if e.contains("Cannot find device") => Ok(()),
            other => other,
        }
    }
}
