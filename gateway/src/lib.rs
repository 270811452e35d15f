//! The Daypass gateway: it trusts only grants signed by the broker key it was installed with, turns
//! them into WireGuard peers and per-resource nftables allow entries, and lets the kernel end each
//! entry at its grant's `not_after`, whether or not the agent is still running.

pub mod firewall;
pub mod plan;
pub mod verify;
#[cfg(unix)]
pub mod wireguard;
