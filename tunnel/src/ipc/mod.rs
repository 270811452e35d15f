//! The tunnel service's side of the local IPC (`server`, with the caller check in `callers`); the
//! frames and the client's side are `daypass_client::ipc`'s. Unix sockets on Linux and macOS; the
//! Windows named pipe comes with the Windows tunnel (see `interface/windows.rs`).

#[cfg(unix)]
pub mod callers;
#[cfg(unix)]
pub mod server;
