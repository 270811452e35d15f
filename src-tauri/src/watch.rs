//! Follows the tunnel service's events for the window: each session change goes to the window
//! (`overview`) and the tray; the service's warning before expiry, a hold on access for posture
//! (and its release) and the expiry itself become
//! desktop notifications (with the default `notifications` feature) and a `notice` in the window. When the service goes away, the window
//! is told (`service-lost`) and the watch starts again every two seconds.

use crate::controller::{service_problem, Controller};
use crate::tray::{left, Tray};
use crate::views::{Closed, Overview, Problem, Session};
use daypass_proto::ipc::{Event, ToService};
use std::time::Duration;
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};

pub fn spawn<R: Runtime>(app: AppHandle<R>, tray: Option<Tray<R>>) {
    tauri::async_runtime::spawn(async move {
        let mut last: Option<Session> = None;
        loop {
            if let Err(problem) = follow(&app, tray.as_ref(), &mut last).await {
                let _ = app.emit("service-lost", problem);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

async fn follow<R: Runtime>(
    app: &AppHandle<R>,
    tray: Option<&Tray<R>>,
    last: &mut Option<Session>,
) -> Result<(), Problem> {
    let controller = app.state::<Controller>();
    let (mut client, status) = controller.connect().await?;
    client.ask(&ToService::Watch).await.map_err(service_problem)?;
    show(app, tray, last, controller.overview_of(&status)?);
    loop {
        match client.next_event().await.map_err(service_problem)? {
            Event::Session { status } => {
                controller.check_service(&status)?;
                show(app, tray, last, controller.overview_of(&status)?);
            }
            Event::Warning { seconds_left } => notify(
                app,
                "Access ends soon",
                &format!("Your access ends in {}. Save your work.", left(seconds_left)),
            ),
            Event::Posture { .. } => {}
        }
    }
}

fn show<R: Runtime>(
    app: &AppHandle<R>,
    tray: Option<&Tray<R>>,
    last: &mut Option<Session>,
    overview: Overview,
) {
    if let Some(tray) = tray {
        if let Err(e) = tray.show(&overview.session) {
            tracing::warn!(error = %e, "could not update the tray icon");
        }
    }
    let held = |s: Option<&Session>| match s {
        Some(Session::Active { access }) => access.suspended.clone(),
        _ => None,
    };
    match (held(last.as_ref()), held(Some(&overview.session))) {
        (None, Some(now_held)) => notify(
            app,
            "Access suspended",
            &format!("{} fails: {}", now_held.detail, now_held.fix),
        ),
        (Some(_), None) if matches!(overview.session, Session::Active { .. }) => {
            notify(app, "Access resumed", "Your device passes its checks again.")
        }
        _ => {}
    }
    let was_active = matches!(last, Some(Session::Active { .. }));
    if was_active {
        if let Session::Closed { reason, detail } = &overview.session {
            let body = match reason {
                Closed::Expired => "Your access expired and the tunnel is closed.".to_string(),
                Closed::Revoked => format!("Your access was revoked: {}", detail.as_deref().unwrap_or("")),
                Closed::Disconnected => "You disconnected.".to_string(),
                Closed::Denied | Closed::Failed => detail.clone().unwrap_or_default(),
            };
            notify(app, "Access ended", &body);
        }
    }
    *last = Some(overview.session.clone());
    let _ = app.emit("overview", overview);
}

/// Tells the window (always) and the desktop (with the `notifications` feature).
fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    let _ = app.emit("notice", format!("{title}: {body}"));
    desktop_notification(app, title, body);
}

#[cfg(feature = "notifications")]
fn desktop_notification<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt as _;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "no desktop notification (the window shows it)");
    }
}

/// Built without desktop notifications (the macOS type check): the window's notice is all.
#[cfg(not(feature = "notifications"))]
fn desktop_notification<R: Runtime>(_app: &AppHandle<R>, title: &str, _body: &str) {
    tracing::debug!(title, "built without desktop notifications; the window shows it");
}
