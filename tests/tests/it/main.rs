//! End-to-end tests across processes and network namespaces, checking what packets actually do.

#![allow(clippy::unwrap_used)]

mod brokers;
mod browser;
mod client;
mod dataplane;
mod desktop;
mod gateway_agent;
mod gateway_cli;
mod verification;
