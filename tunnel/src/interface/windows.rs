//! Windows: not yet. The tunnel there needs wireguard-nt (the signed `wireguard.dll` driver loaded
//! through FFI, which this workspace's `unsafe_code = "forbid"` rules out until it is reviewed) or
//! the WireGuard for Windows tunnel service; both are a decision of their own. Until then bringing a
//! tunnel up fails with a clear message and nothing is left half-made.

use super::{InterfaceError, Tunnel};
use crate::split::TunnelPlan;
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct ClientInterface;

impl ClientInterface {
    pub fn new(_name: &str, _private_key: Zeroizing<String>) -> Result<Self, InterfaceError> {
        Ok(ClientInterface)
    }
}

impl Tunnel for ClientInterface {
    fn up(&mut self, _plan: &TunnelPlan) -> Result<(), InterfaceError> {
        Err(InterfaceError::Unsupported(
            "the Windows tunnel (wireguard-nt) is not built yet: use a Linux or macOS machine for now",
        ))
    }

    fn down(&mut self) -> Result<(), InterfaceError> {
        Ok(())
    }
}
