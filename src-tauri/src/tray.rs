//! The tray icon: its colour and tooltip say where access stands (no access, pending, active with
//! time left), and its menu has the quick actions (open, request access, disconnect, quit).

use crate::views::{Closed, Session};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};

const IDLE: &[u8] = include_bytes!("../icons/tray-idle.png");
const PENDING: &[u8] = include_bytes!("../icons/tray-pending.png");
const ACTIVE: &[u8] = include_bytes!("../icons/tray-active.png");

/// The tray icon and the menu line that shows the state.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    state_line: MenuItem<R>,
}

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Tray<R>> {
    let state_line = MenuItem::with_id(app, "state", line(&Session::Idle), false, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &state_line,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "open", "Open Daypass", true, None::<&str>)?,
            &MenuItem::with_id(app, "request", "Request access…", true, None::<&str>)?,
            &MenuItem::with_id(app, "disconnect", "Disconnect", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "quit", "Quit Daypass", true, None::<&str>)?,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("daypass")
        .icon(Image::from_bytes(IDLE)?)
        .tooltip(format!("Daypass: {}", line(&Session::Idle)))
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_window(app, None),
            "request" => show_window(app, Some("request")),
            "disconnect" => show_window(app, Some("disconnect")),
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
    Ok(Tray { icon, state_line })
}

impl<R: Runtime> Tray<R> {
    pub fn show(&self, session: &Session) -> tauri::Result<()> {
        let text = line(session);
        self.state_line.set_text(&text)?;
        self.icon.set_tooltip(Some(format!("Daypass: {text}")))?;
        let picture = match session {
            Session::Active { .. } => ACTIVE,
            Session::Pending { .. } | Session::Requesting => PENDING,
            _ => IDLE,
        };
        self.icon.set_icon(Some(Image::from_bytes(picture)?))
    }
}

/// Brings the window up and, for a quick action, tells it which (`request`, `disconnect`).
fn show_window<R: Runtime>(app: &AppHandle<R>, action: Option<&str>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    if let Some(action) = action {
        let _ = app.emit("tray-action", action);
    }
}

/// The state in a few words, e.g. "Active: 42 min left".
pub fn line(session: &Session) -> String {
    match session {
        Session::Idle => "No access".into(),
        Session::Requesting => "Requesting access…".into(),
        Session::Pending { .. } => "Waiting for approval".into(),
        Session::Active { access } if access.suspended.is_some() => "Suspended: fix posture".into(),
        Session::Active { access } => format!("Active: {} left", left(access.seconds_left)),
        Session::Closed { reason, .. } => match reason {
            Closed::Expired => "No access (expired)".into(),
            Closed::Revoked => "No access (revoked)".into(),
            Closed::Denied => "No access (denied)".into(),
            Closed::Disconnected => "No access".into(),
            Closed::Failed => "No access (failed)".into(),
        },
    }
}

/// Time left in words: "1 h 05 min", "42 min", "40 s".
pub fn left(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match (seconds / 3600, seconds % 3600 / 60) {
        (0, 0) => format!("{seconds} s"),
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::Access;

    #[test]
    fn the_tray_line_says_the_state_and_time_left() {
        let active = |seconds_left| Session::Active {
            access: Access {
                grant: "g".into(),
                ticket: "OPS-1".into(),
                resources: vec![],
                not_after: "2026-11-24T18:00:00Z".into(),
                seconds_left,
                expiring: false,
                suspended: None,
            },
        };
        assert_eq!(line(&active(42 * 60 + 5)), "Active: 42 min left");
        assert_eq!(line(&active(3900)), "Active: 1 h 05 min left");
        assert_eq!(line(&active(40)), "Active: 40 s left");
        let mut held = active(40);
        if let Session::Active { access } = &mut held {
            access.suspended = Some(crate::views::Held {
                detail: "firewall".into(),
                fix: "Turn on the firewall.".into(),
                since: "2026-11-24T17:00:00Z".into(),
            });
        }
        assert_eq!(line(&held), "Suspended: fix posture");
        assert_eq!(
            line(&Session::Pending { request: "r".into() }),
            "Waiting for approval"
        );
        assert_eq!(
            line(&Session::Closed {
                reason: Closed::Expired,
                detail: None
            }),
            "No access (expired)"
        );
    }
}
