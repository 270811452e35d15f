//! How every Daypass program logs: to standard error, filtered by `DAYPASS_LOG` (a
//! `tracing_subscriber::EnvFilter` directive, e.g. `debug` or `daypass_gateway=trace`), with
//! colours only when standard error is a terminal (never in journald or a log file).

use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// Installs the program's logger; `default` is the filter used when `DAYPASS_LOG` is unset or
/// unreadable.
pub fn init(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("DAYPASS_LOG").unwrap_or_else(|_| default.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
