//! `daypass-tunneld service install|uninstall|run` on Windows: registering the Daypass Tunnel
//! service (as `windows_service_definition` describes it) and running under the service manager,
//! which stops it through its control handler.

use super::{exit, run_until, settings, Options};
use anyhow::{Context, Result};
use clap::Parser;
use daypass_client::ipc::address::WINDOWS_SERVICE;
use daypass_tunnel::windows_service_definition::{definition, ServiceDefinition};
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
    ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

#[derive(Debug, Parser)]
#[command(name = "daypass-tunneld service")]
enum ServiceCommand {
    /// Registers the Daypass Tunnel service with these options (LocalSystem, automatic start,
    /// restarted after a failure) and starts it. Run as an administrator.
    Install(Options),
    /// Stops and removes the service.
    Uninstall,
    /// What the service manager starts; not for running by hand.
    Run(Options),
}

pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match ServiceCommand::parse_from(&args) {
        ServiceCommand::Install(options) => exit(install(&options, &args[2..])),
        ServiceCommand::Uninstall => exit(uninstall()),
        ServiceCommand::Run(_) => exit(
            service_dispatcher::start(WINDOWS_SERVICE, ffi_service_main)
                .context("not started by the service manager (use `service install`)"),
        ),
    }
}

fn manager(access: ServiceManagerAccess) -> Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access)
        .context("opening the service manager (run as an administrator)")
}

fn install(options: &Options, given: &[OsString]) -> Result<()> {
    settings(options).context("the options to install the service with")?;
    let service = definition(given);
    let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let info = ServiceInfo {
        name: service.name.into(),
        display_name: service.display_name.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: std::env::current_exe().context("finding this program")?,
        launch_arguments: service.launch_arguments.clone(),
        dependencies: Vec::new(),
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS;
    let created = manager
        .create_service(&info, access)
        .context("registering the service (is it installed already? `service uninstall` first)")?;
    created.set_description(service.description)?;
    created.update_failure_actions(failure_actions(&service))?;
    created.set_failure_actions_on_non_crash_failures(true)?;
    created.start::<&str>(&[]).context("starting the service")?;
    println!(
        "installed and started {} ({})",
        service.display_name, service.name
    );
    Ok(())
}

fn failure_actions(service: &ServiceDefinition) -> ServiceFailureActions {
    ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(service.reset_failures_after),
        reboot_msg: None,
        command: None,
        actions: Some(
            service
                .restart_delays
                .iter()
                .map(|delay| ServiceAction {
                    action_type: ServiceActionType::Restart,
                    delay: *delay,
                })
                .collect(),
        ),
    }
}

/// Waits (up to 10 s) for a service to stop before removing it: a pause while the service manager
/// works, not a timer anything depends on.
#[allow(clippy::disallowed_methods)]
fn uninstall() -> Result<()> {
    let name = WINDOWS_SERVICE;
    let manager = manager(ServiceManagerAccess::CONNECT)?;
    let service = manager
        .open_service(
            name,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .with_context(|| format!("opening service {name} (is it installed?)"))?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        service.stop().context("stopping the service")?;
        for _ in 0..100 {
            if service.query_status()?.current_state == ServiceState::Stopped {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    service.delete().context("removing the service")?;
    println!("removed {name}");
    Ok(())
}

define_windows_service!(ffi_service_main, service_main);

/// The service's life under the service manager: running until told to stop, then stopped with
/// the run's outcome as its exit code.
fn service_main(_arguments: Vec<OsString>) {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Ok(ServiceCommand::Run(options)) = ServiceCommand::try_parse_from(&args) else {
        tracing::error!("the service was registered with options this version does not take: reinstall it");
        return;
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = Mutex::new(Some(stop_tx));
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(tx) = stop.lock().ok().and_then(|mut s| s.take()) {
                let _ = tx.send(());
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let status = match service_control_handler::register(WINDOWS_SERVICE, handler) {
        Ok(status) => status,
        Err(e) => {
            tracing::error!(error = %e, "could not register with the service manager");
            return;
        }
    };
    let report = |state, accept, exit_code| {
        let _ = status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accept,
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        });
    };
    report(
        ServiceState::Running,
        ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
        ServiceExitCode::Win32(0),
    );
    let outcome = run_until(options, async {
        let _ = stop_rx.await;
    });
    let code = match &outcome {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the service stopped with an error");
            1
        }
    };
    report(
        ServiceState::Stopped,
        ServiceControlAccept::empty(),
        ServiceExitCode::ServiceSpecific(code),
    );
}
