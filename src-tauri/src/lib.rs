//! Daypass for contractors: the desktop app. The window (`ui/`) calls `commands`, which hand
//! their work to the `controller`, which talks to `daypass-tunneld` (the privileged service) over
//! its local socket; `watch` follows the service's events into the window, the `tray` and
//! notifications; `config` holds IT's managed configuration; `passkey` answers ceremonies outside
//! the web view; `export` writes posture reports; `views` are the types the window sees.

pub mod commands;
pub mod config;
pub mod controller;
pub mod export;
pub mod passkey;
pub mod tray;
pub mod views;
pub mod watch;

use controller::Controller;
use tauri::{Builder, Runtime};

/// The app on `builder` without its desktop parts (tray, notifications, event watch): what the
/// command tests run on the mock runtime.
pub fn app<R: Runtime>(builder: Builder<R>, controller: Controller) -> Builder<R> {
    builder
        .manage(controller)
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::passkey_methods,
            commands::enroll,
            commands::sign_in,
            commands::sign_out,
            commands::check_posture,
            commands::entitlements,
            commands::check_ticket,
            commands::request_access,
            commands::disconnect,
            commands::history,
            commands::export_posture,
        ])
}

/// Runs the app until it is quit.
pub fn run() -> anyhow::Result<()> {
    daypass_logging::init("info");
    let config = config::Config::load();
    if let Err(e) = &config {
        tracing::error!(error = %e, "the configuration cannot be used; the window says so");
    }
    let builder = app(tauri::Builder::default(), Controller::new(config));
    #[cfg(feature = "notifications")]
    let builder = builder.plugin(tauri_plugin_notification::init());
    builder
        .setup(|app| {
            let handle = app.handle().clone();
            // A desktop without a tray (a bare X server, some GNOME setups) still gets the window.
            let tray = tray::build(&handle)
                .map_err(|e| tracing::warn!(error = %e, "no tray icon"))
                .ok();
            watch::spawn(handle, tray);
            Ok(())
        })
        .run(tauri::generate_context!())?;
    Ok(())
}
