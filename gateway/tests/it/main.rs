//! Gateway integration tests: real nftables and real WireGuard (`wireguard-go`) in network
//! namespaces the tests create and always remove, checking what packets actually do.

#![allow(clippy::unwrap_used)]

mod dataplane;
mod net;
