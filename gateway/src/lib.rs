//! The Daypass gateway: it trusts only grants signed by the broker key it was installed with, turns
//! them into WireGuard peers and per-resource nftables allow entries, and lets the kernel end each
//! entry at its grant's `not_after`, whether or not the agent is still running.

pub mod agent;
pub mod clock;
pub mod connects;
pub mod firewall;
pub mod health;
pub mod keeper;
pub mod link;
pub mod metrics;
pub mod nft_session;
pub mod plan;
pub mod store;
pub mod verify;
#[cfg(unix)]
pub mod wireguard;
