//! The Daypass client side. `daypass-tunneld` is the one privileged piece on the contractor's
//! machine: the `controller` drives the pure `session` with the wall clock and brings the split
//! tunnel (`split` plans it, `interface` does it) up and down; `ipc` serves the app and the
//! `daypass` CLI (their side is `daypass_client`); `poller` and `errands` talk to the `broker`,
//! `rechecker` keeps sending posture during a grant; `secrets` and `device` keep the keys, `kept` the session across restarts;
//! `windows_service_definition` is how the Windows service is registered, `state_dir` how its
//! state directory is locked.

pub mod broker;
#[cfg(feature = "broker-http")]
pub mod broker_http;
pub mod clock;
pub mod controller;
pub mod device;
pub mod errands;
pub mod interface;
pub mod ipc;
pub mod kept;
pub mod messages;
pub mod poller;
pub mod posture_check;
pub mod rechecker;
pub mod secrets;
pub mod service;
pub mod session;
pub mod split;
#[cfg(any(windows, test))]
pub mod state_dir;
pub mod view;
#[cfg(any(windows, test))]
pub mod windows_service_definition;
