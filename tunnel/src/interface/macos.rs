//! macOS: `wireguard-go` on a `utun` interface (the kernel picks the number; wireguard-go writes it to
//! `WG_TUN_NAME_FILE`), the address set with `ifconfig` and routes with `route`, as `wg-quick` does
//! on macOS; down removes the control socket, which makes wireguard-go close the utun and exit.
//! Type-checked for `aarch64-apple-darwin`; never run on a Mac here.

use super::userspace::{self, configure, interface_name, socket_exists};
use super::{run, InterfaceError, Tunnel};
use crate::split::TunnelPlan;
use std::path::PathBuf;
use wireguard_control::{Backend, Device, InterfaceName};
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct ClientInterface {
    /// Where the chosen utun name is kept (`/var/run/wireguard/NAME.name`, as wg-quick keeps it).
    name_file: PathBuf,
    private_key: Zeroizing<String>,
    wireguard_go: PathBuf,
}

impl ClientInterface {
    pub fn new(name: &str, private_key: Zeroizing<String>) -> Result<Self, InterfaceError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(InterfaceError::Name(
                name.into(),
                "use letters, digits and -".into(),
            ));
        }
        Ok(ClientInterface {
            name_file: PathBuf::from(format!("/var/run/wireguard/{name}.name")),
            private_key,
            wireguard_go: PathBuf::from("wireguard-go"),
        })
    }

    /// The utun a previous `up` got, if its wireguard-go still runs.
    fn current(&self) -> Option<String> {
        let utun = std::fs::read_to_string(&self.name_file).ok()?;
        let utun = utun.trim().to_string();
        socket_exists(&utun).then_some(utun)
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
        let utun = match self.current() {
            Some(utun) => utun,
            None => {
                let file = self.name_file.to_string_lossy().into_owned();
                let _ = std::fs::remove_file(&self.name_file);
                userspace::start(
                    &self.wireguard_go,
                    &["utun"],
                    &[("WG_TUN_NAME_FILE", &file)],
                    || self.current().is_some(),
                )?;
                self.current().ok_or(InterfaceError::Unsupported(
                    "wireguard-go started but did not say which utun it took",
                ))?
            }
        };
        configure(&interface_name(&utun)?, &self.private_key, plan)?;
        let address = plan.address.addr().to_string();
        run("ifconfig", &[&utun, "inet", &address, &address, "alias"])?;
        run("ifconfig", &[&utun, "up"])?;
        for r in &plan.routes {
            let net = r.to_string();
            // `change` fails when the route is not there yet; then it is added.
            if run(
                "route",
                &["-q", "-n", "change", "-inet", &net, "-interface", &utun],
            )
            .is_err()
            {
                run("route", &["-q", "-n", "add", "-inet", &net, "-interface", &utun])?;
            }
        }
        Ok(())
    }

    fn down(&mut self) -> Result<(), InterfaceError> {
        if let Some(utun) = self.current() {
            remove(&interface_name(&utun)?)?;
        }
        let _ = std::fs::remove_file(&self.name_file);
        Ok(())
    }
}

/// Removes the control socket, which makes `wireguard-go` close the interface and exit.
fn remove(name: &InterfaceName) -> Result<(), InterfaceError> {
    if let Ok(device) = Device::get(name, Backend::Userspace) {
        device
            .delete()
            .map_err(|e| InterfaceError::WireGuard(name.to_string(), e))?;
    }
    Ok(())
}
