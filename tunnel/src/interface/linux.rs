//! Linux: a `wireguard-go` interface named as configured, its address and routes set with `ip`;
//! down deletes the link and waits for that `wireguard-go` to exit.

use super::userspace::{self, configure, interface_name, socket_exists};
use super::{run, InterfaceError, Tunnel};
use crate::split::TunnelPlan;
use std::path::{Path, PathBuf};
use wireguard_control::InterfaceName;
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct ClientInterface {
    name: InterfaceName,
    private_key: Zeroizing<String>,
    wireguard_go: PathBuf,
}

fn ip(args: &[&str]) -> Result<(), InterfaceError> {
    run("ip", args)
}

impl ClientInterface {
    pub fn new(name: &str, private_key: Zeroizing<String>) -> Result<Self, InterfaceError> {
        Ok(ClientInterface {
            name: interface_name(name)?,
            private_key,
            wireguard_go: PathBuf::from("wireguard-go"),
        })
    }
}

impl ClientInterface {
    /// Runs this `wireguard-go` (an absolute path for a service whose `PATH` may not have it).
    pub fn with_wireguard_go(self, program: PathBuf) -> Self {
        ClientInterface {
            wireguard_go: program,
            ..self
        }
    }
}

impl Tunnel for ClientInterface {
    fn up(&mut self, plan: &TunnelPlan) -> Result<(), InterfaceError> {
        let dev = self.name.to_string();
        if !socket_exists(&dev) {
            userspace::start(&self.wireguard_go, &[&dev], &[], || socket_exists(&dev))?;
        }
        configure(&self.name, &self.private_key, plan)?;
        ip(&["addr", "flush", "dev", &dev])?;
        ip(&["addr", "add", &plan.address.to_string(), "dev", &dev])?;
        ip(&["link", "set", &dev, "up"])?;
        for r in &plan.routes {
            ip(&["route", "replace", &r.to_string(), "dev", &dev])?;
        }
        Ok(())
    }

    /// Deletes the link (routes go with it); `wireguard-go` sees its device gone and exits, and
    /// returning only once it has lets a new interface of the same name come up at once.
    fn down(&mut self) -> Result<(), InterfaceError> {
        let dev = self.name.to_string();
        match ip(&["link", "del", "dev", &dev]) {
            Err(InterfaceError::Command(_, e)) if e.contains("Cannot find device") => {}
            other => other?,
        }
        wait_until_gone(&dev);
        Ok(())
    }
}

/// Waits until the `wireguard-go` of a deleted interface has gone (it removes its socket as it
/// exits): one of the same name started before that would lose its fresh socket to the old one's
/// clean-up. A socket nobody listens on any more (its process was killed) is removed at once.
fn wait_until_gone(name: &str) {
    let path = userspace::socket(name);
    for _ in 0..userspace::SOCKET_WAIT_STEPS {
        if !Path::new(&path).exists() {
            return;
        }
        if std::os::unix::net::UnixStream::connect(&path).is_err() {
            let _ = std::fs::remove_file(&path);
            return;
        }
        userspace::wait_a_little();
    }
    tracing::warn!(
        interface = name,
        "wireguard-go did not exit after its interface was deleted"
    );
}
