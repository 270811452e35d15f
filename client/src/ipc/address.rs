//! Where the tunnel service listens on each OS, and (on Windows) the service's name, which the
//! app needs to check who is serving the pipe.

/// The service's default address: a Unix socket path, or on Windows a named pipe under the
/// `ProtectedPrefix\Administrators` namespace, where only administrators and SYSTEM may create
/// pipes, so an ordinary user cannot squat the name before the service starts.
#[cfg(target_os = "linux")]
pub const DEFAULT_ADDRESS: &str = "/run/daypass/tunneld.sock";
#[cfg(target_os = "macos")]
pub const DEFAULT_ADDRESS: &str = "/var/run/daypass/tunneld.sock";
#[cfg(windows)]
pub const DEFAULT_ADDRESS: &str = PIPE_NAME;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub const DEFAULT_ADDRESS: &str = "/var/run/daypass/tunneld.sock";

/// The Windows pipe's name (see `DEFAULT_ADDRESS`).
pub const PIPE_NAME: &str = r"\\.\pipe\ProtectedPrefix\Administrators\Daypass\tunneld";

/// The Windows service `daypass-tunneld` runs as (its short name in the service manager).
pub const WINDOWS_SERVICE: &str = "DaypassTunnel";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipe_lives_where_only_administrators_may_create_pipes() {
        assert!(PIPE_NAME.starts_with(r"\\.\pipe\ProtectedPrefix\Administrators\"));
        assert!(!PIPE_NAME.contains('/'), "pipe names use backslashes");
        assert!(
            PIPE_NAME.len() < 256,
            "Windows pipe names are at most 256 characters"
        );
    }
}
