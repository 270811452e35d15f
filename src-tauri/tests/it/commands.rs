//! The window's commands on tauri's mock runtime (no display), against a stand-in for
//! `daypass-tunneld` on a Unix socket that answers with fixed frames. What is tested is the code
//! around the service: the managed-configuration check, the views, refusals before any call.
//! The real service and the real window are tests/tests/it/desktop.rs in the e2e crate.

use daypass_desktop::config::{Config, Expected};
use daypass_desktop::controller::Controller;
use daypass_proto::api::{TicketCheck, TicketVerdict};
use daypass_proto::ipc::{Answer, FromService, SessionView, Status, ToService};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

const KEY: &str = "MCowBQYDK2VwAyEAbroker-key-of-the-test-000=";

/// Answers each command on `socket` as a service talking to `https://broker.test` with `KEY`
/// would; records the commands it got.
fn service(socket: &Path) -> std::sync::Arc<std::sync::Mutex<Vec<ToService>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let record = seen.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::UnixListener::from_std(listener).unwrap();
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let record = record.clone();
                tokio::spawn(async move {
                    while let Ok(Some(command)) = daypass_client::ipc::read::<ToService>(&mut stream).await {
                        record.lock().unwrap().push(command.clone());
                        let result = Ok(match command {
                            ToService::CheckTicket { ticket } => Answer::Ticket(TicketCheck {
                                key: ticket.clone(),
                                verdict: TicketVerdict::NotYours,
                                message: format!("ticket {ticket} is assigned to ben, not to you"),
                                summary: Some("rotate keys".into()),
                                status: Some("In Progress".into()),
                            }),
                            _ => Answer::Status(Status {
                                device: "ana-laptop".into(),
                                signed_in: Some("ana".into()),
                                interface: "daypass0".into(),
                                broker: "https://broker.test".into(),
                                broker_key: KEY.into(),
                                session: SessionView::Idle,
                                at: time::OffsetDateTime::UNIX_EPOCH,
                            }),
                        });
                        let reply = FromService::Reply { result };
                        daypass_client::ipc::write(&mut stream, &reply).await.unwrap();
                    }
                });
            }
        });
    });
    seen
}

fn window(socket: PathBuf, expected_key: &str) -> WebviewWindow<MockRuntime> {
    let config = Config {
        socket,
        expected: Some(Expected {
            broker_url: "https://broker.test/".into(),
            broker_key: expected_key.into(),
        }),
        managed: true,
        source: "/etc/daypass/config.toml".into(),
    };
    let app = daypass_desktop::app(mock_builder(), Controller::new(Ok(config)))
        .build(mock_context(noop_assets()))
        .unwrap();
    tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap()
}

fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // On Linux the mock runtime takes only this origin (see machine-notes).
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn the_overview_of_a_service_set_up_as_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("s.sock");
    service(&socket);
    let window = window(socket, KEY);
    let overview = call(&window, "overview", json!({})).unwrap();
    assert_eq!(overview["signed_in"], "ana");
    assert_eq!(overview["session"], json!({ "state": "idle" }));
    assert_eq!(overview["broker"]["managed"], true);
    assert_eq!(overview["broker"]["source"], "/etc/daypass/config.toml");
}

#[test]
fn a_service_pinning_another_broker_key_is_refused_before_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("s.sock");
    let seen = service(&socket);
    let window = window(socket, "MCowBQYDK2VwAyEAanother-key-000000000000000=");
    let refused = call(
        &window,
        "request_access",
        json!({ "form": {
        "resources": ["db"], "ticket": "OPS-1", "duration": "1h", "reason": "r" } }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "wrong-broker", "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("pins another broker key"));
    assert_eq!(
        *seen.lock().unwrap(),
        [ToService::Status],
        "only the status was asked for: the request never reached the service"
    );
}

#[test]
fn the_ticket_check_is_passed_through_and_bad_forms_never_leave_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("s.sock");
    let seen = service(&socket);
    let window = window(socket, KEY);
    let ticket = call(&window, "check_ticket", json!({ "ticket": "SEC-9" })).unwrap();
    assert_eq!(ticket["verdict"], "not_yours");
    assert_eq!(ticket["summary"], "rotate keys");
    let empty = call(
        &window,
        "request_access",
        json!({ "form": {
        "resources": [], "ticket": "OPS-1", "duration": "1h", "reason": "r" } }),
    )
    .unwrap_err();
    assert_eq!(empty["code"], "bad-request");
    let bad_enroll = call(
        &window,
        "enroll",
        json!({ "invite": "  ", "method": "browser", "page": "__CHANNEL__:1" }),
    );
    assert_eq!(bad_enroll.unwrap_err()["code"], "bad-request");
    assert!(
        !seen
            .lock()
            .unwrap()
            .iter()
            .any(|c| matches!(c, ToService::Request { .. } | ToService::Enroll { .. })),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn no_service_running_says_how_to_start_it() {
    let window = window(PathBuf::from("/nonexistent/daypass.sock"), KEY);
    let refused = call(&window, "overview", json!({})).unwrap_err();
    assert_eq!(refused["code"], "service-unreachable");
    assert!(
        refused["message"].as_str().unwrap().contains("not running"),
        "{refused}"
    );
}
