//! Linux: a `wireguard-go` interface named as configured, its address and routes set with `ip`;
//! down removes the control socket and the link, so a new interface of the same name can come up
//! at once.

use super::userspace::{self, configure, interface_name, socket_exists};
use super::{run, InterfaceError, Tunnel};
use crate::split::TunnelPlan;
use wireguard_control::InterfaceName;
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct ClientInterface {
    name: InterfaceName,
    private_key: Zeroizing<String>,
}

fn ip(args: &[&str]) -> Result<(), InterfaceError> {
    run("ip", args)
}

impl ClientInterface {
    pub fn new(name: &str, private_key: Zeroizing<String>) -> Result<Self, InterfaceError> {
        Ok(ClientInterface {
            name: interface_name(name)?,
            private_key,
        })
    }
}

impl Tunnel for ClientInterface {
    fn up(&mut self, plan: &TunnelPlan) -> Result<(), InterfaceError> {
        let dev = self.name.to_string();
        if !socket_exists(&dev) {
            userspace::start(&[&dev], &[], || socket_exists(&dev))?;
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

    fn down(&mut self) -> Result<(), InterfaceError> {
        userspace::remove(&self.name)?;
        match ip(&["link", "del", "dev", &self.name.to_string()]) {
            Err(InterfaceError::Command(_, e)) if e.contains("Cannot find device") => Ok(()),
            other => other,
        }
    }
}
