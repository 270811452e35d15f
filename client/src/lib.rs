//! What an unprivileged Daypass front end (the desktop app, the `daypass` CLI) needs to talk to
//! `daypass-tunneld` and answer passkey ceremonies: the `ipc` frames and client, the system-browser
//! passkey `browser_flow`, and the `authenticator`s. It holds no device key and never touches
//! WireGuard: that is the privileged service's.

#[cfg(any(feature = "soft-authenticator", feature = "security-key"))]
pub mod authenticator;
pub mod browser_flow;
pub mod ipc;
mod peer_user;
