//! What Linux and macOS share: starting `wireguard-go` and waiting for its control socket, and
//! configuring the device key and the gateway peer through that socket.

use super::InterfaceError;
use crate::split::TunnelPlan;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use wireguard_control::{Backend, DeviceUpdate, InterfaceName, Key, PeerConfigBuilder};

/// How long to wait for `wireguard-go`'s socket: 100 steps of 30 ms.
pub(super) const SOCKET_WAIT_STEPS: u32 = 100;

/// A pause while an external daemon starts; not a timer the session logic depends on.
#[allow(clippy::disallowed_methods)]
pub(super) fn wait_a_little() {
    std::thread::sleep(std::time::Duration::from_millis(30));
}

pub fn socket(name: &str) -> String {
    format!("/var/run/wireguard/{name}.sock")
}

/// Runs `wireguard-go` (the `program` IT installed) with `args` (it goes to the background) and
/// waits until `ready` says its interface is there: configuring before the socket exists fails
/// (seen under load).
pub fn start(
    program: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    mut ready: impl FnMut() -> bool,
) -> Result<(), InterfaceError> {
    let name = args.last().copied().unwrap_or_default().to_string();
    let io = |e: std::io::Error| InterfaceError::WireGuard(name.clone(), e);
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| {
            io(std::io::Error::new(
                e.kind(),
                format!("running {}: {e}", program.display()),
            ))
        })?;
    if !status.success() {
        return Err(io(std::io::Error::other(format!(
            "wireguard-go exited with {status}"
        ))));
    }
    for _ in 0..SOCKET_WAIT_STEPS {
        if ready() {
            return Ok(());
        }
        wait_a_little();
    }
    Err(io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "wireguard-go did not create its control socket",
    )))
}

pub fn interface_name(name: &str) -> Result<InterfaceName, InterfaceError> {
    name.parse()
        .map_err(|e: wireguard_control::InvalidInterfaceName| {
            InterfaceError::Name(name.into(), e.to_string())
        })
}

/// Sets the device key and the gateway as the one peer, allowed exactly the planned routes; a new
/// peer drops any old session, so the first packet starts a fresh handshake.
pub fn configure(name: &InterfaceName, private_key: &str, plan: &TunnelPlan) -> Result<(), InterfaceError> {
    let key = Key::from_base64(private_key).map_err(|_| InterfaceError::Key("the device's private key"))?;
    let gateway =
        Key::from_base64(&plan.gateway_key).map_err(|_| InterfaceError::Key("the gateway's public key"))?;
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
        .apply(name, Backend::Userspace)
        .map_err(|e| InterfaceError::WireGuard(name.to_string(), e))
}

pub fn socket_exists(name: &str) -> bool {
    Path::new(&socket(name)).exists()
}
