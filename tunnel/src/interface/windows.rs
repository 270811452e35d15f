//! Windows: a WireGuardNT adapter (the signed `wireguard.dll` next to the executable, loaded by
//! its absolute path) created for each grant with the planned configuration, address and routes,
//! and deleted (routes with it) when the grant ends. Needs SYSTEM or an administrator, as the
//! service runs. Type-checked and built for `x86_64-pc-windows-gnu`; never run on Windows here.

use super::adapter_config::{adapter_guid, adapter_name, AdapterConfig};
use super::{InterfaceError, Tunnel};
use crate::split::TunnelPlan;
use std::path::PathBuf;
use wireguard_nt::{Adapter, SetInterface, SetPeer, Wireguard};
use zeroize::Zeroizing;

/// The adapter pool Daypass's adapters are created in (shown as their device's description).
const POOL: &str = "Daypass";

pub struct ClientInterface {
    wireguard: Wireguard,
    name: String,
    private_key: Zeroizing<String>,
    /// The adapter of the grant in force: dropping it deletes the adapter and its routes.
    adapter: Option<Adapter>,
}

impl std::fmt::Debug for ClientInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInterface")
            .field("name", &self.name)
            .field("up", &self.adapter.is_some())
            .finish_non_exhaustive()
    }
}

/// `wireguard.dll` beside this executable.
fn dll_path() -> Result<PathBuf, InterfaceError> {
    let exe = std::env::current_exe()
        .map_err(|e| InterfaceError::Command("finding this program".into(), e.to_string()))?;
    Ok(exe.with_file_name("wireguard.dll"))
}

fn driver(what: &str, e: wireguard_nt::Error) -> InterfaceError {
    InterfaceError::Command(what.into(), e.to_string())
}

impl ClientInterface {
    /// Loads WireGuardNT and empties and downs an adapter of this name a crashed run left (the
    /// driver deletes it once no process holds it).
    pub fn new(name: &str, private_key: Zeroizing<String>) -> Result<Self, InterfaceError> {
        let name = adapter_name(name)?.to_string();
        let dll = dll_path()?;
        if !dll.is_file() {
            return Err(InterfaceError::Command(
                format!("loading {}", dll.display()),
                "wireguard.dll is missing next to daypass-tunneld.exe: reinstall Daypass".into(),
            ));
        }
        let wireguard = daypass_winffi::load_wireguard(&dll)
            .map_err(|e| InterfaceError::Command(format!("loading {}", dll.display()), e))?;
        if let Ok(left) = Adapter::open(&wireguard, &name) {
            tracing::warn!(adapter = %name, "an adapter a previous run left is taken down");
            let _ = left.down();
            let _ = left.set_config(&SetInterface {
                listen_port: None,
                public_key: None,
                private_key: None,
                peers: Vec::new(),
            });
        }
        Ok(ClientInterface {
            wireguard,
            name,
            private_key,
            adapter: None,
        })
    }
}

impl Tunnel for ClientInterface {
    /// A new adapter each time, so nothing of a previous grant's routes survives.
    fn up(&mut self, plan: &TunnelPlan) -> Result<(), InterfaceError> {
        self.adapter = None;
        let config = AdapterConfig::new(&self.private_key, plan)?;
        let adapter = Adapter::create(&self.wireguard, POOL, &self.name, Some(adapter_guid(&self.name)))
            .map_err(|e| driver("creating the WireGuard adapter", e))?;
        let interface = SetInterface {
            listen_port: None,
            public_key: None,
            private_key: Some(*config.private_key),
            peers: vec![SetPeer {
                public_key: Some(config.gateway_key),
                preshared_key: None,
                keep_alive: None,
                endpoint: config.endpoint,
                allowed_ips: config.allowed_ips.clone(),
            }],
        };
        adapter
            .set_config(&interface)
            .map_err(|e| driver("configuring the WireGuard adapter", e))?;
        adapter
            .set_default_route(&config.addresses, &interface)
            .map_err(|e| driver("setting the tunnel's address and routes", e))?;
        adapter
            .up()
            .map_err(|e| driver("bringing the WireGuard adapter up", e))?;
        self.adapter = Some(adapter);
        Ok(())
    }

    /// Deletes the adapter (dropping a created adapter removes it, with its address and routes).
    fn down(&mut self) -> Result<(), InterfaceError> {
        if let Some(adapter) = self.adapter.take() {
            adapter
                .down()
                .map_err(|e| driver("taking the WireGuard adapter down", e))?;
        }
        Ok(())
    }
}
