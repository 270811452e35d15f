//! Integration tests of the tunnel service's parts.

#![allow(clippy::unwrap_used)]

mod controller;
mod launchd;
