//! The window's commands: each hands its work to the `Controller` and answers what it said. No
//! command takes or returns a secret.

use crate::controller::{Controller, Outcome, Start};
use crate::export;
use crate::passkey;
use crate::views::{
    AccessForm, Entitlement, ExportFormat, HistoryEntry, Overview, PasskeyMethod, Posture, Problem, Session,
    Ticket,
};
use tauri::ipc::Channel;
use tauri::State;

type Ctl<'a> = State<'a, Controller>;

#[tauri::command]
pub async fn overview(controller: Ctl<'_>) -> Outcome<Overview> {
    controller.overview().await
}

/// The ways this build can confirm a passkey, the usual first.
#[tauri::command]
pub fn passkey_methods() -> Vec<PasskeyMethod> {
    let mut methods = vec![PasskeyMethod::SecurityKey, PasskeyMethod::Browser];
    if passkey::test_token_available() {
        methods.insert(0, PasskeyMethod::TestToken);
    }
    methods
}

/// Sends the browser's address down the window's channel (when the browser confirms).
fn to_window(page: &Channel<String>) -> impl Fn(&str) + '_ {
    move |url| {
        let _ = page.send(url.to_string());
    }
}

/// Enrolls with an invite; `page` receives the browser address when the browser confirms.
#[tauri::command]
pub async fn enroll(
    controller: Ctl<'_>,
    invite: String,
    method: PasskeyMethod,
    page: Channel<String>,
) -> Outcome<String> {
    controller
        .passkey(Start::Enroll(invite), method, to_window(&page))
        .await
}

#[tauri::command]
pub async fn sign_in(
    controller: Ctl<'_>,
    person: String,
    method: PasskeyMethod,
    page: Channel<String>,
) -> Outcome<String> {
    controller
        .passkey(Start::SignIn(person), method, to_window(&page))
        .await
}

#[tauri::command]
pub async fn sign_out(controller: Ctl<'_>) -> Outcome<()> {
    controller.sign_out().await
}

#[tauri::command]
pub async fn check_posture(controller: Ctl<'_>) -> Outcome<Posture> {
    controller.check_posture().await
}

#[tauri::command]
pub async fn entitlements(controller: Ctl<'_>) -> Outcome<Vec<Entitlement>> {
    controller.entitlements().await
}

#[tauri::command]
pub async fn check_ticket(controller: Ctl<'_>, ticket: String) -> Outcome<Ticket> {
    controller.check_ticket(ticket).await
}

#[tauri::command]
pub async fn request_access(controller: Ctl<'_>, form: AccessForm) -> Outcome<Session> {
    controller.request_access(form).await
}

#[tauri::command]
pub async fn disconnect(controller: Ctl<'_>) -> Outcome<Session> {
    controller.disconnect().await
}

#[tauri::command]
pub async fn history(controller: Ctl<'_>) -> Outcome<Vec<HistoryEntry>> {
    controller.history().await
}

/// Writes the latest posture report into the person's Downloads folder; answers its path.
#[tauri::command]
pub async fn export_posture(controller: Ctl<'_>, format: ExportFormat) -> Outcome<String> {
    let posture = controller.latest_posture().await?;
    let device = controller.overview().await?.device;
    let folder = export::downloads().ok_or_else(|| {
        Problem::new(
            "export",
            "no Downloads folder is known for this account (HOME is not set)",
        )
    })?;
    std::fs::create_dir_all(&folder)
        .map_err(|e| Problem::new("export", format!("could not make {}: {e}", folder.display())))?;
    export::write(&posture, &device, format, &folder).map(|p| p.display().to_string())
}
