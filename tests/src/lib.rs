//! The end-to-end harness: test networks of network namespaces (contractor, gateway, resources)
//! with real WireGuard and nftables, the workspace's binaries to run in them, and a reader of the
//! metrics they expose.

// A test harness: a failed step is a failed test, said at the step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bins;
pub mod chromium;
pub mod desktop;
pub mod measure;
pub mod metrics;
pub mod net;
pub mod postgres;
pub mod world;
