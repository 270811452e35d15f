//! The tunnel service's side of the local IPC: each caller's `connection` (the same frames over
//! any transport; the frames and the client's side are `daypass_client::ipc`'s), served on a Unix
//! socket (`unix_socket`, callers checked by `callers`) on Linux and macOS, and on a named pipe
//! (`named_pipe`, with the rules of `pipe_access`) on Windows.

#[cfg(unix)]
pub mod callers;
pub mod connection;
#[cfg(windows)]
pub mod named_pipe;
#[cfg(any(windows, test))]
pub mod pipe_access;
#[cfg(unix)]
pub mod unix_socket;
