//! The Win32 calls Daypass makes that no safe wrapper offers, each in its own small function with
//! its `// SAFETY:` argument: loading `wireguard.dll` by an absolute path (never from the current
//! directory or `PATH`), creating a named-pipe server with a security descriptor, and asking a
//! pipe for the process and session at its other end. Nothing else belongs here. Windows only;
//! on other systems this crate is empty.

#[cfg(windows)]
mod win32;
#[cfg(windows)]
pub use win32::*;
#[cfg(all(windows, feature = "wireguard"))]
mod wireguard;
#[cfg(all(windows, feature = "wireguard"))]
pub use wireguard::load_wireguard;
