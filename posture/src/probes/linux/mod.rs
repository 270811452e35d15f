//! Linux probes, one fact each.

pub mod disk;
pub mod edr;
pub mod firewall;
pub mod os;
pub mod screen_lock;
pub mod updates;
