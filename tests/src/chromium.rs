//! Real Chromium (Debian's package) driven over the DevTools protocol, headless, with a fresh profile
//! removed on drop: pages are loaded as a person would, and passkeys are answered by the DevTools
//! virtual authenticator (CTAP2, internal, user verification as the test says).

use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Chromium {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next: u64,
    _profile: tempfile::TempDir,
}

/// The base64 SHA-256 of a PEM certificate's public key, as `--ignore-certificate-errors-spki-list`
/// wants it: Chromium then trusts the broker's self-signed certificate (and treats the page as a
/// secure context, which WebAuthn needs).
pub fn spki_hash(cert: &Path) -> String {
    let script = format!(
        "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
        cert.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Chromium {
    /// Starts Chromium trusting `cert` and opens one blank page to drive.
    pub fn launch(cert: &Path) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!(
                "--ignore-certificate-errors-spki-list={}",
                spki_hash(cert)
            ))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium (Debian package chromium) runs the browser tests");
        let port_file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let endpoint = loop {
            let text = std::fs::read_to_string(&port_file).unwrap_or_default();
            if let Some((port, path)) = text.split_once('\n') {
                if !path.trim().is_empty() {
                    break format!("ws://127.0.0.1:{}{}", port.trim(), path.trim());
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromium did not open its DevTools port"
            );
            crate::net::pause(Duration::from_millis(50));
        };
        let (ws, _) = tungstenite::connect(endpoint).expect("the DevTools websocket");
        let mut c = Chromium {
            child,
            ws,
            session: String::new(),
            next: 0,
            _profile: profile,
        };
        let target = c.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = c.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        c.session = attached["sessionId"].as_str().unwrap().to_string();
        c.call("WebAuthn.enable", json!({}));
        c
    }

    /// One DevTools command (on the page once attached); its result, or the test fails with the error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let mut msg = json!({ "id": self.next, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let Message::Text(text) = self.ws.read().unwrap() else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == self.next {
                assert!(reply["error"].is_null(), "{method}: {}", reply["error"]);
                return reply["result"].clone();
            }
        }
    }

    /// A virtual platform authenticator that verifies the user (or refuses to, like a cancel).
    pub fn add_authenticator(&mut self, verifies_user: bool) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": verifies_user,
            "automaticPresenceSimulation": true,
        });
        let added = self.call("WebAuthn.addVirtualAuthenticator", json!({ "options": options }));
        added["authenticatorId"].as_str().unwrap().to_string()
    }

    pub fn remove_authenticator(&mut self, id: &str) {
        self.call(
            "WebAuthn.removeVirtualAuthenticator",
            json!({ "authenticatorId": id }),
        );
    }

    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        r["result"]["value"].clone()
    }

    /// The page's visible text now.
    pub fn text(&mut self) -> String {
        let text = self.eval("document.body ? document.body.innerText : ''");
        text.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the page and its scripts have loaded (its forms are then handled by them).
    pub fn wait_until_loaded(&mut self) {
        let start = Instant::now();
        while self.eval("document.readyState") != json!("complete") {
            assert!(start.elapsed() < Duration::from_secs(20), "the page did not load");
            crate::net::pause(Duration::from_millis(50));
        }
    }

    /// Types `value` into the field `#id` as a person would leave it, and submits its form (once the
    /// page and its scripts have loaded).
    pub fn fill_and_submit(&mut self, id: &str, value: &str) {
        self.wait_until_loaded();
        let script = format!(
            "(() => {{ const f = document.getElementById({id}); f.value = {value}; f.form.requestSubmit(); }})()",
            id = json!(id),
            value = json!(value)
        );
        self.eval(&script);
    }

    /// Shows pages as a phone of `width` × `height` CSS pixels would (or as a desktop again with 0 × 0).
    pub fn viewport(&mut self, width: u32, height: u32) {
        if width == 0 {
            self.call("Emulation.clearDeviceMetricsOverride", json!({}));
            return;
        }
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
        );
    }

    /// Presses one key (`Tab`, `Enter`) as a keyboard would.
    pub fn press(&mut self, key: &str) {
        let code = match key {
            "Tab" => 9,
            "Enter" => 13,
            other => panic!("no key code for {other}"),
        };
        for kind in ["keyDown", "keyUp"] {
            let mut event = json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code });
            if key == "Enter" && kind == "keyDown" {
                event["text"] = json!("\r");
            }
            self.call("Input.dispatchKeyEvent", event);
        }
    }

    /// Types text into whatever has the focus.
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Saves what the page shows as a PNG (a test artifact).
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine as _;
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
