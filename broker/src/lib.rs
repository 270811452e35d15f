//! Daypass access broker, the `daypass-broker` binary's side: configuration, the posture baseline
//! in force, TLS, server start-up and the command line (`cli`, the admin commands among them), over `daypass_broker_web` (HTTP),
//! `daypass_broker_core` (the service) and `daypass_broker_domain` (the pure rules).

pub mod baseline;
pub mod cli;
pub mod config;
pub mod keys;
pub mod server;
pub mod tls;
