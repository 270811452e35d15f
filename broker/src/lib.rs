//! Daypass access broker: the control plane that decides who may reach what, for how long, and records why.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod domain;
pub mod keys;
pub mod pages;
pub mod server;
pub mod service;
pub mod store;
pub mod tickets;
pub mod tls;
