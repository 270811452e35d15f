//! The desktop app's integration tests: its commands on tauri's mock runtime, and the MDM templates
//! against the code that reads what they set.

#![allow(clippy::unwrap_used)]

// The stand-in service is a Unix socket: these tests build and run on Linux and macOS.
#[cfg(unix)]
mod commands;
mod mdm_templates;
