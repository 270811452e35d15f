//! How `daypass-tunneld service install` registers the Windows service, as pure data (tested on
//! every OS): its names, the arguments the service manager starts it with (`service run` and the
//! options given at install), automatic start as LocalSystem, and restarts after a failure.

use daypass_client::ipc::address::WINDOWS_SERVICE;
use std::ffi::OsString;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDefinition {
    pub name: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    /// After the executable: `service run` and then the install's options.
    pub launch_arguments: Vec<OsString>,
    /// Restart after the first, second and later failures, waiting this long each time.
    pub restart_delays: [Duration; 3],
    /// A day without failure starts the count again.
    pub reset_failures_after: Duration,
}

/// The service for `options`, the command line given after `service install`.
pub fn definition(options: &[OsString]) -> ServiceDefinition {
    let mut launch_arguments: Vec<OsString> = vec!["service".into(), "run".into()];
    launch_arguments.extend(options.iter().cloned());
    ServiceDefinition {
        name: WINDOWS_SERVICE,
        display_name: "Daypass Tunnel",
        description:
            "Brings Daypass's just-in-time access up for a granted time and takes it down at expiry.",
        launch_arguments,
        restart_delays: [
            Duration::from_secs(5),
            Duration::from_secs(15),
            Duration::from_secs(60),
        ],
        reset_failures_after: Duration::from_secs(24 * 60 * 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_runs_itself_with_the_options_given_at_install() {
        let options: Vec<OsString> = ["--broker", "https://b.corp", "--device", "laptop-7"]
            .iter()
            .map(OsString::from)
            .collect();
        let service = definition(&options);
        assert_eq!(service.name, "DaypassTunnel");
        assert_eq!(
            service.launch_arguments,
            [
                "service",
                "run",
                "--broker",
                "https://b.corp",
                "--device",
                "laptop-7"
            ]
            .iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
        );
        assert!(service.restart_delays.iter().all(|d| !d.is_zero()));
        assert!(service.restart_delays.windows(2).all(|w| w[0] <= w[1]));
    }
}
