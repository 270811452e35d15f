//! The real desktop app in a real window: a private Xvfb display, WebKitGTK's own WebDriver
//! (`WebKitWebDriver`, which starts the app with automation allowed, as tauri-driver does) and a
//! small W3C WebDriver client over HTTP on loopback. Everything started here stops on drop.

use crate::world::{Tunneld, World, BROKER};
use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The X display the app shows on: a private Xvfb, or the person's own.
pub struct Display {
    pub name: String,
    xvfb: Option<Child>,
}

impl Display {
    /// The display already there (`DISPLAY`), if any.
    pub fn existing() -> Option<Display> {
        let name = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty())?;
        Some(Display { name, xvfb: None })
    }

    /// Xvfb on the first free display number from 90.
    pub fn start() -> Display {
        let number = (90..200)
            .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists())
            .expect("a free X display number");
        let name = format!(":{number}");
        let xvfb = Command::new("Xvfb")
            .args([name.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (package xvfb)");
        let socket = format!("/tmp/.X11-unix/X{number}");
        crate::world::wait_for("Xvfb", Duration::from_secs(10), || Path::new(&socket).exists());
        Display {
            name,
            xvfb: Some(xvfb),
        }
    }

    /// Whether this is a private Xvfb nobody looks at.
    pub fn is_virtual(&self) -> bool {
        self.xvfb.is_some()
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(xvfb) = &mut self.xvfb {
            // SIGTERM: Xvfb then removes its /tmp/.X*-lock and socket (SIGKILL would leave them,
            // and the display numbers would run out over many runs).
            let pid = nix::unistd::Pid::from_raw(xvfb.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = xvfb.wait();
        }
    }
}

/// The app under WebKitWebDriver on `display`, with `env` for the app.
pub struct App {
    driver: Child,
    port: u16,
    session: String,
}

impl App {
    pub fn launch(display: &Display, binary: &Path, env: &[(&str, &str)], log: &Path) -> App {
        let port = crate::net::free_port();
        let log = std::fs::File::create(log).unwrap();
        let driver = Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .env("DISPLAY", &display.name)
            // What tauri-driver sets: the app's web view accepts the driver's automation session.
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("WebKitWebDriver (package webkit2gtk-driver)");
        crate::world::wait_for("WebKitWebDriver", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let mut app = App {
            driver,
            port,
            session: String::new(),
        };
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "webkitgtk:browserOptions": { "binary": binary, "args": [] }
        }}});
        let created = app.call("POST", "/session", Some(capabilities));
        app.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        app
    }

    /// One WebDriver call; the answer's `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        let json = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let json = unchunk(json);
        let value: Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("WebDriver answered {text:?}: {e}"));
        value["value"].clone()
    }

    fn in_session(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// The element `css` matches, once it exists (within 20 s).
    pub fn find(&self, css: &str) -> String {
        let mut id = None;
        crate::world::wait_for(&format!("{css} in the window"), Duration::from_secs(20), || {
            let found = self.in_session(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            );
            id = found[ELEMENT].as_str().map(String::from);
            id.is_some()
        });
        id.unwrap()
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.in_session("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.in_session(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Empties the field `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.in_session("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.in_session(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.in_session("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, css: &str, name: &str) -> String {
        let id = self.find(css);
        self.in_session("GET", &format!("/element/{id}/attribute/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the text of `css` contains `wanted`; answers how long that took.
    pub fn wait_for_text(&self, css: &str, wanted: &str, limit: Duration) -> Duration {
        self.until_text(css, wanted, limit)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// How long until the text of `css` contained `wanted`, or what it said instead at `limit`.
    pub fn until_text(&self, css: &str, wanted: &str, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < limit {
            let found = self.in_session(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            );
            if let Some(id) = found[ELEMENT].as_str() {
                last = self
                    .in_session("GET", &format!("/element/{id}/text"), None)
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if last.contains(wanted) {
                    return Ok(started.elapsed());
                }
            }
            crate::net::pause(Duration::from_millis(100));
        }
        Err(format!(
            "{css} did not say {wanted:?} within {limit:?}; it said {last:?}"
        ))
    }

    /// A PNG of the window, saved at `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.in_session("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.in_session("DELETE", "", None);
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The contractor's side as IT ships it: IT's managed configuration naming the world's broker and
/// its key, the tunnel service's socket, the test token as the passkey, a home folder of its own.
pub struct Contractor {
    pub home: PathBuf,
    pub managed: PathBuf,
    token: PathBuf,
    socket: PathBuf,
    logs: PathBuf,
}

impl Contractor {
    pub fn new(w: &World, t: &Tunneld) -> Contractor {
        let home = w.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let contractor = Contractor {
            home,
            managed: w.dir.path().join("managed-config.toml"),
            token: w.dir.path().join("contractor-passkey.cbor"),
            socket: t.socket.clone(),
            logs: w.dir.path().to_path_buf(),
        };
        contractor.manage(BROKER, &w.broker_key);
        contractor
    }

    /// Rewrites IT's configuration to name `broker` and `key`.
    pub fn manage(&self, broker: &str, key: &str) {
        let config = format!("broker_url = \"{broker}\"\nbroker_key = \"{key}\"\n");
        std::fs::write(&self.managed, config).unwrap();
    }

    /// Starts the built app on `display`; its output goes to `log` in the world's folder.
    pub fn launch(&self, display: &Display, log: &str) -> App {
        let env = [
            ("DAYPASS_SOCKET", self.socket.to_str().unwrap()),
            ("DAYPASS_MANAGED_CONFIG", self.managed.to_str().unwrap()),
            ("DAYPASS_SOFT_AUTHENTICATOR", self.token.to_str().unwrap()),
            ("HOME", self.home.to_str().unwrap()),
        ];
        App::launch(
            display,
            &crate::bins::bin("daypass-desktop"),
            &env,
            &self.logs.join(log),
        )
    }
}

/// The contractor's steps, as the window offers them.
impl App {
    /// First run: the invite enrolls a passkey (the test token) and binds this device.
    pub fn enroll(&self, invite: &str) {
        self.wait_for_text("main h1", "Welcome to Daypass", Duration::from_secs(20));
        self.type_into("#invite", invite);
        self.click("form[data-form=enroll] button[type=submit]");
        if let Err(e) = self.until_text("main h1", "No access right now", Duration::from_secs(30)) {
            panic!(
                "enrollment failed ({e}): {}",
                self.text("form[data-form=enroll] [role=alert]")
            );
        }
    }

    /// Fills in the request form (`duration` as the form's value, e.g. `1m`) and waits for the
    /// ticket check to accept `ticket`; `submit` sends it.
    pub fn fill_request(&self, resource: &str, ticket: &str, duration: &str, reason: &str) {
        self.click("button[data-view=request]");
        self.find(&format!("#res-{resource}"));
        self.fill("#ticket", ticket);
        self.wait_for_text("#ticket-status", "open and yours", Duration::from_secs(10));
        self.click(&format!("#res-{resource}"));
        self.click(&format!("#duration option[value='{duration}']"));
        self.type_into("#reason", reason);
    }

    /// Sends the request form and waits for the window to say `outcome` (its heading).
    pub fn submit_request_until(&self, outcome: &str) {
        self.click("form[data-form=request] button[type=submit]");
        self.wait_for_text("main h1", outcome, Duration::from_secs(30));
    }

    /// Sends the request form and waits for access to be active.
    pub fn submit_request(&self) {
        self.submit_request_until("Access active");
    }

    /// When the active access ends (RFC 3339), as the window shows it.
    pub fn not_after(&self) -> String {
        self.attribute("[data-not-after]", "data-not-after")
    }

    /// Waits for `not_after`, then for the window to say access ended; answers how long after.
    pub fn wait_for_expiry(&self, not_after: &str) -> Duration {
        crate::net::pause(crate::world::until(not_after));
        self.wait_for_text("main h1", "Access ended", Duration::from_secs(5))
    }
}

/// A body sent with `Transfer-Encoding: chunked`, joined (a plain body comes back unchanged).
fn unchunk(body: &str) -> String {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
