//! Passkeys in a real browser: the broker (on localhost, its self-signed certificate trusted by key)
//! in headless Chromium with the DevTools virtual authenticator. For the app: `daypass-tunneld`,
//! driven by `daypass --browser`, prints the broker's ceremony page for the person to open. For staff:
//! the broker's own pages, signing in to a cookie session. Enrolling from an invite, signing in, a
//! cancelled ceremony, a passkey the broker does not know, a used or expired invite, a forged change.
//! Screenshots of the broker's pages are kept in `target/debug/test-artifacts/broker-pages/`.

use daypass_e2e::bins::{artifacts, bin};
use daypass_e2e::chromium::Chromium;
use daypass_e2e::net::pause;
use daypass_e2e::world::{
    admin, broker_cli, invite_code, made_up_key, open_review, person, seeded_data, wait_for,
};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Processes killed when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(program: &str, args: &[&str], env: &[(&str, &str)], log: &Path) -> Child {
    let file = std::fs::File::create(log).unwrap();
    Command::new(bin(program))
        .args(args)
        .envs(env.iter().copied())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap()
}

/// `daypass --browser …` running, and the page address it printed for the person to open.
struct Waiting {
    child: Child,
    page: String,
}

fn start_ceremony(socket: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Waiting, String> {
    let mut child = Command::new(bin("daypass"))
        .arg("--socket")
        .arg(socket)
        .args(["--browser", "--json"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.trim().starts_with("https://") => {
                return Ok(Waiting {
                    child,
                    page: line.trim().to_string(),
                })
            }
            // Another line, nothing yet, or stderr closed: has it ended (refused before any page)?
            _ => {
                if let Some(status) = child.try_wait().unwrap() {
                    let out = child.wait_with_output().unwrap();
                    return Err(format!("{status}: {}", String::from_utf8_lossy(&out.stdout)));
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Err("daypass printed no page to open".into())
}

/// Opens the page in the browser and waits for `daypass` to finish: (exit code, its JSON answer).
fn finish_in(browser: &mut Chromium, w: Waiting) -> (i32, serde_json::Value) {
    browser.open(&w.page);
    let mut child = w.child;
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "daypass did not finish after the page"
        );
        pause(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let answer = serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or_default();
    (out.status.code().unwrap_or(-1), answer)
}

/// `daypass` ended refused (exit 1), saying `words`.
fn refused_saying((status, answer): (i32, serde_json::Value), words: &str) {
    assert_eq!(status, 1, "{answer}");
    let message = answer["refused"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{answer}");
}

/// Waits until the browser shows `words` (the page ends on the app's loopback answer).
/// (Generous: the browser tests share two cores with the rest of the suite.)
fn page_says(browser: &mut Chromium, words: &str) {
    wait_for(
        &format!("the page saying {words:?}"),
        Duration::from_secs(20),
        || browser.text().contains(words),
    );
}

/// A broker on localhost serving HTTPS with its self-signed certificate, its data in `dir`, with
/// `people` added as `(id, role)`.
struct Broker {
    procs: Processes,
    origin: String,
    cert: PathBuf,
    data: PathBuf,
}

fn start_broker(dir: &Path, people: &[(&str, &str)]) -> Broker {
    start_broker_with(dir, people, "")
}

/// `start_broker` with more lines for its config file.
fn start_broker_with(dir: &Path, people: &[(&str, &str)], config_lines: &str) -> Broker {
    let data = dir.join("broker");
    std::fs::create_dir_all(&data).unwrap();
    for (id, role) in people {
        person(&data, id, "Acme", &[role], &[]);
    }
    let port = daypass_e2e::net::free_port();
    let origin = format!("https://localhost:{port}");
    let config = dir.join("broker.toml");
    std::fs::write(
        &config,
        format!("passkey_rp_id = \"localhost\"\npasskey_origin = \"{origin}\"\n{config_lines}"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (data_s, config_s) = (data.to_str().unwrap(), config.to_str().unwrap());
    let broker = spawn(
        "daypass-broker",
        &[
            "--data-dir",
            data_s,
            "serve",
            "--config",
            config_s,
            "--listen",
            &listen,
        ],
        &[],
        &dir.join("broker.log"),
    );
    let procs = Processes(vec![broker]);
    let cert = data.join("broker-cert.pem");
    wait_for("the broker listening", Duration::from_secs(20), || {
        cert.exists() && std::net::TcpStream::connect(&listen).is_ok()
    });
    Broker {
        procs,
        origin,
        cert,
        data,
    }
}

/// A call to the broker's API with `curl` (the token in a header, the certificate pinned).
fn call_api(
    broker: &Broker,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> serde_json::Value {
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--cacert", broker.cert.to_str().unwrap(), "-X", method])
        .args(["-H", "content-type: application/json"]);
    if let Some(t) = token {
        curl.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        curl.args(["-d", b]);
    }
    let out = curl.arg(format!("{}{path}", broker.origin)).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{method} {path}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn passkeys_in_the_browser_enroll_sign_in_and_refuse_cancelled_or_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[("ana", "contractor")]);
    let key = call_api(&broker, None, "GET", "/api/v1/broker-key", None);
    let Broker {
        mut procs,
        origin,
        cert,
        data,
    } = broker;
    let socket = dir.path().join("tunneld.sock");
    let interface = format!("dpweb{}", std::process::id() % 10_000);
    let tunneld = spawn(
        "daypass-tunneld",
        &[
            "--device",
            "web-laptop",
            "--interface",
            &interface,
            "--socket",
            socket.to_str().unwrap(),
            "--state-dir",
            dir.path().join("tunneld").to_str().unwrap(),
        ],
        &[
            ("DAYPASS_BROKER_URL", &origin),
            ("DAYPASS_BROKER_KEY", key["public_key"].as_str().unwrap()),
            ("DAYPASS_BROKER_CA", cert.to_str().unwrap()),
        ],
        &dir.path().join("tunneld.log"),
    );
    procs.0.push(tunneld);
    wait_for("daypass-tunneld listening", Duration::from_secs(10), || {
        socket.exists()
    });

    let mut browser = Chromium::launch(&cert);
    let platform = browser.add_authenticator(true);
    let code = &invite_code(&data, "ana");

    // Enroll from the invite: the passkey is created in the browser, the device's keys are bound.
    let waiting = start_ceremony(&socket, &["enroll"], &[("DAYPASS_INVITE", code)]).unwrap();
    let (status, answer) = finish_in(&mut browser, waiting);
    assert_eq!(status, 0, "{answer}");
    assert_eq!(answer["person"], "ana");
    page_says(&mut browser, "You can close this window");

    // The invite is used now: refused before any page.
    let used = start_ceremony(&socket, &["enroll"], &[("DAYPASS_INVITE", code)])
        .err()
        .unwrap();
    assert!(used.contains("already used"), "{used}");

    // Sign in again with the passkey.
    let waiting = start_ceremony(&socket, &["login", "--person", "ana"], &[]).unwrap();
    let (status, answer) = finish_in(&mut browser, waiting);
    assert_eq!(
        (status, answer["person"].clone()),
        (0, serde_json::json!("ana")),
        "{answer}"
    );

    // Without --browser the native authenticator answers: a USB security key, and none is plugged
    // into this machine, which `daypass` says at once.
    let usb = Command::new(bin("daypass"))
        .arg("--socket")
        .arg(&socket)
        .args(["--json", "login", "--person", "ana"])
        .output()
        .unwrap();
    let answer: serde_json::Value =
        serde_json::from_slice(usb.stdout.split(|b| *b == b'\n').next().unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(usb.status.code(), Some(1), "{answer}");
    assert!(
        answer["refused"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no FIDO2 security key is plugged in"),
        "{answer}"
    );

    // The person declines (the authenticator does not verify them): nothing is signed in.
    browser.call(
        "WebAuthn.setUserVerified",
        serde_json::json!({ "authenticatorId": platform, "isUserVerified": false }),
    );
    let waiting = start_ceremony(&socket, &["login", "--person", "ana"], &[]).unwrap();
    refused_saying(finish_in(&mut browser, waiting), "cancelled");
    page_says(&mut browser, "did not get a passkey");

    // Another authenticator, without ana's passkey.
    browser.remove_authenticator(&platform);
    browser.add_authenticator(true);
    let waiting = start_ceremony(&socket, &["login", "--person", "ana"], &[]).unwrap();
    refused_saying(finish_in(&mut browser, waiting), "the browser said");
    drop(procs);
}

/// Waits until the page shows `words`, saving what it shows as `shot` once it does.
fn shows(browser: &mut Chromium, words: &str, shot: &Path) {
    page_says(browser, words);
    browser.screenshot(shot);
}

#[test]
fn staff_enroll_and_sign_in_on_the_broker_pages_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &[("ida", "admin"), ("ben", "approver"), ("cy", "helpdesk")],
    );
    let shots = artifacts("broker-pages");
    let invite = |person: &str, ttl: &str| -> String {
        let out = admin(&broker.data, &["invite", person, "--ttl", ttl]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["invite"].as_str().unwrap().to_string()
    };
    let mut browser = Chromium::launch(&broker.cert);
    let platform = browser.add_authenticator(true);

    // Not signed in: the home page sends the person to sign in.
    browser.open(&format!("{}/console", broker.origin));
    shows(&mut browser, "Sign in to Daypass", &shots.join("sign-in.png"));

    // An expired invite is refused with what to do.
    let stale = invite("ben", "1s");
    pause(Duration::from_millis(1500));
    browser.open(&format!("{}/console/enroll", broker.origin));
    shows(
        &mut browser,
        "Create your Daypass passkey",
        &shots.join("enroll.png"),
    );
    browser.fill_and_submit("invite", &stale);
    shows(&mut browser, "expired", &shots.join("enroll-expired.png"));
    assert!(browser
        .text()
        .contains("ask your Daypass administrator for a new one"));

    // Enroll from an invite: the passkey is made in the browser and the person is signed in.
    browser.fill_and_submit("invite", &invite("ida", "1h"));
    shows(&mut browser, "Signed in as", &shots.join("home.png"));
    let home = browser.text();
    assert!(home.contains("(ida)") && home.contains("admin"), "{home}");
    assert_eq!(
        browser.eval("document.cookie"),
        serde_json::json!(""),
        "the session cookie is hidden from scripts"
    );

    // A forged change from the page's own script, without the CSRF token, is refused.
    let forged = browser.eval(
        "fetch('/console/sign-out', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'csrf=guess' }).then(async r => [r.status, (await r.json()).detail])",
    );
    assert_eq!(forged[0], serde_json::json!(403), "{forged}");
    assert!(
        forged[1].as_str().unwrap().contains("reload the page"),
        "{forged}"
    );
    browser.open(&format!("{}/console", broker.origin));
    shows(
        &mut browser,
        "Signed in as",
        &shots.join("home-after-forgery.png"),
    );

    // Sign out with the page's own button, then sign in again with the passkey.
    browser.eval("document.querySelector('form[action=\"/console/sign-out\"]').requestSubmit()");
    shows(&mut browser, "Sign in to Daypass", &shots.join("signed-out.png"));
    browser.fill_and_submit("person", "ida");
    shows(&mut browser, "Signed in as", &shots.join("home-again.png"));

    // Declined user verification: nothing is signed in, the page says so.
    browser.eval("document.querySelector('form[action=\"/console/sign-out\"]').requestSubmit()");
    shows(
        &mut browser,
        "Sign in to Daypass",
        &shots.join("signed-out-again.png"),
    );
    browser.call(
        "WebAuthn.setUserVerified",
        serde_json::json!({ "authenticatorId": platform, "isUserVerified": false }),
    );
    browser.fill_and_submit("person", "ida");
    shows(
        &mut browser,
        "No passkey was used",
        &shots.join("sign-in-cancelled.png"),
    );

    // An authenticator without ida's passkey: the browser cannot tell the page more than that.
    browser.remove_authenticator(&platform);
    browser.add_authenticator(true);
    browser.open(&format!("{}/console/sign-in", broker.origin));
    shows(
        &mut browser,
        "Sign in to Daypass",
        &shots.join("sign-in-before-unknown.png"),
    );
    browser.fill_and_submit("person", "ida");
    shows(
        &mut browser,
        "No passkey was used",
        &shots.join("sign-in-unknown-passkey.png"),
    );

    // Someone the broker does not know looks the same as someone whose passkey is not here: the
    // page cannot be used to learn who has an account.
    browser.fill_and_submit("person", "nobody");
    shows(
        &mut browser,
        "No passkey was used",
        &shots.join("sign-in-unknown-person.png"),
    );
    browser.open(&format!("{}/console", broker.origin));
    shows(
        &mut browser,
        "Sign in to Daypass",
        &shots.join("still-signed-out.png"),
    );
    drop(broker.procs);
}

#[test]
fn staff_decide_and_revoke_in_chromium_on_lists_that_follow_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (data, org) = seeded_data(dir.path());
    let broker = start_broker(dir.path(), &[]);
    let shots = artifacts("approvals");
    let ask = |reason: &str| -> String {
        let body = serde_json::json!({
            "device": "ana-laptop", "resources": ["db2"], "ticket": "OPS-1", "reason": reason, "duration": "30m",
        });
        let made = call_api(
            &broker,
            Some(&org.ana_token),
            "POST",
            "/api/v1/requests",
            Some(&body.to_string()),
        );
        assert_eq!(made["status"], "pending", "{made}");
        made["id"].as_str().unwrap().to_string()
    };
    let first = ask("rotate the replica's certificates");

    // abe, an approver, enrolls on the pages and opens the approvals.
    let mut browser = Chromium::launch(&broker.cert);
    browser.add_authenticator(true);
    let code = invite_code(&data, "abe");
    browser.open(&format!("{}/console/enroll", broker.origin));
    browser.fill_and_submit("invite", &code);
    shows(&mut browser, "Signed in as", &shots.join("home.png"));
    browser.open(&format!("{}/console/approvals", broker.origin));
    shows(&mut browser, "asks for db2 for 30 min", &shots.join("inbox.png"));
    let text = browser.text();
    for words in [
        "OPS-1",
        "In Progress",
        "rotate the replica's certificates",
        "No posture report from ana-laptop",
    ] {
        assert!(text.contains(words), "{words:?} missing from {text}");
    }

    // A new request shows up by itself: the page is not reloaded (its marker stays).
    browser.eval("window.notReloaded = true");
    let second = ask("restore last night's backup");
    shows(
        &mut browser,
        "restore last night's backup",
        &shots.join("inbox-live.png"),
    );
    assert_eq!(
        browser.eval("window.notReloaded === true"),
        serde_json::json!(true)
    );

    // Approve the first with a passkey confirmation; deny the second with a reason.
    let approve = format!("form[data-endpoint=\"/console/api/requests/{first}/approve\"]");
    browser.wait_until_loaded();
    browser.eval(&format!("document.querySelector('{approve}').requestSubmit()"));
    shows(&mut browser, "Approved.", &shots.join("approved.png"));
    let granted = call_api(
        &broker,
        Some(&org.ana_token),
        "GET",
        &format!("/api/v1/requests/{first}"),
        None,
    );
    assert_eq!(granted["status"], "granted", "{granted}");
    assert_eq!(granted["approvals"][0]["approver"], "abe", "{granted}");
    let deny = format!("d-{second}");
    browser.fill_and_submit(&deny, "use the staging replica");
    shows(&mut browser, "Denied.", &shots.join("denied.png"));
    let denied = call_api(
        &broker,
        Some(&org.ana_token),
        "GET",
        &format!("/api/v1/requests/{second}"),
        None,
    );
    assert_eq!(denied["status"], "denied", "{denied}");
    assert_eq!(denied["denial_reason"], "use the staging replica", "{denied}");
    shows(&mut browser, "Nothing is waiting", &shots.join("inbox-empty.png"));

    // ida, an admin, sees ana's live access on the administration page and revokes it there.
    browser.eval("document.querySelector('form[action=\"/console/sign-out\"]').requestSubmit()");
    shows(&mut browser, "Sign in to Daypass", &shots.join("signed-out.png"));
    let code = invite_code(&data, "ida");
    browser.open(&format!("{}/console/enroll", broker.origin));
    browser.fill_and_submit("invite", &code);
    shows(&mut browser, "Signed in as", &shots.join("admin-home.png"));
    browser.open(&format!("{}/console/admin", broker.origin));
    shows(&mut browser, "Live access (1)", &shots.join("admin.png"));
    let grant = granted["grant_id"].as_str().unwrap();
    browser.fill_and_submit(&format!("why-{grant}"), "work finished early");
    shows(
        &mut browser,
        "Nobody has access right now",
        &shots.join("admin-revoked.png"),
    );
    assert!(browser.text().contains("Revoked ana's access"));
    let ended = call_api(&broker, Some(&org.ana_token), "GET", "/api/v1/grants", None);
    assert_eq!(ended, serde_json::json!([]), "no live grant is left");
    browser.open(&format!("{}/console/reports", broker.origin));
    shows(&mut browser, "The last 12 weeks", &shots.join("reports.png"));
    assert!(browser.text().contains("Grants issued"));
    browser.open(&format!("{}/console/helpdesk?q=acme", broker.origin));
    shows(&mut browser, "People matching", &shots.join("helpdesk.png"));
    assert!(browser.text().contains("ana-laptop"));
    drop(broker.procs);
}

#[test]
fn the_console_works_with_the_keyboard_alone_and_on_a_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (data, org) = seeded_data(dir.path());
    let staff = ["admin", "approver", "auditor", "helpdesk"];
    person(&data, "lee", "Example", &staff, &["approvers"]);
    let broker = start_broker(dir.path(), &[]);
    let shots = artifacts("phone-and-keyboard");
    let body = serde_json::json!({
        "device": "ana-laptop", "resources": ["db2"], "ticket": "OPS-1", "reason": "check the replication lag", "duration": "1h",
    });
    call_api(
        &broker,
        Some(&org.ana_token),
        "POST",
        "/api/v1/requests",
        Some(&body.to_string()),
    );
    let code = invite_code(&data, "lee");

    // Keyboard only: Tab to the invite field, type the code, Enter.
    let mut browser = Chromium::launch(&broker.cert);
    browser.add_authenticator(true);
    browser.open(&format!("{}/console/enroll", broker.origin));
    shows(
        &mut browser,
        "Create your Daypass passkey",
        &shots.join("enroll.png"),
    );
    browser.wait_until_loaded();
    let mut tabs = 0;
    while browser.eval("document.activeElement && document.activeElement.id") != serde_json::json!("invite") {
        browser.press("Tab");
        tabs += 1;
        assert!(tabs < 10, "Tab never reached the invite field");
    }
    browser.type_text(&code);
    browser.press("Enter");
    shows(&mut browser, "Signed in as", &shots.join("home-by-keyboard.png"));

    // Every page on a phone-sized screen: readable without sideways scrolling.
    browser.viewport(390, 844);
    for (path, heading, name) in [
        ("/console", "Signed in as", "home"),
        ("/console/approvals", "asks for db2", "approvals"),
        ("/console/helpdesk?q=acme", "People matching", "helpdesk"),
        (
            "/console/helpdesk/devices/ana-laptop",
            "Device ana-laptop",
            "device",
        ),
        ("/console/admin", "Who may request what", "admin"),
        ("/console/audit", "The audit chain verifies", "audit"),
        ("/console/reports", "The last 12 weeks", "reports"),
    ] {
        browser.open(&format!("{}{path}", broker.origin));
        shows(&mut browser, heading, &shots.join(format!("phone-{name}.png")));
        let fits = browser.eval("document.documentElement.scrollWidth <= window.innerWidth");
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{path} scrolls sideways on a phone"
        );
    }
    drop(broker.procs);
}

/// Runs the Playwright suite in `tests/console` (its packages installed by scripts/test.sh with
/// `npm ci`) against a broker seeded here: every role's main path and the refusals, in Debian's
/// Chromium; screenshots in `target/debug/test-artifacts/console-playwright/`.
#[test]
fn the_console_in_playwright() {
    let dir = tempfile::tempdir().unwrap();
    let (data, org) = seeded_data(dir.path());
    let staff = ["admin", "approver", "auditor", "helpdesk"];
    person(&data, "lee", "Example", &staff, &["approvers"]);
    person(&data, "hal", "Example", &["helpdesk"], &[]);
    person(&data, "kim", "Example", &["helpdesk"], &[]);
    admin(
        &data,
        &[
            "device",
            "add",
            "abe-laptop",
            "--person",
            "abe",
            "--wireguard-key",
            &made_up_key(9),
        ],
    );
    admin(
        &data,
        &[
            "entitlement",
            "add",
            "abe-db2",
            "--subject",
            "person:abe",
            "--selector",
            "resource:db2",
            "--max",
            "1h",
            "--policy",
            "strict",
        ],
    );
    admin(
        &data,
        &[
            "ticket",
            "set",
            "OPS-2",
            "--summary",
            "abe's own work",
            "--status",
            "In Progress",
            "--assignee",
            "abe",
        ],
    );
    // An access review of Zedcorp's contractor (three standing entitlements) for rae to go through.
    person(&data, "zed", "Zedcorp", &["contractor"], &[]);
    person(&data, "rae", "Example", &["approver"], &["approvers"]);
    for (id, resource) in [("zed-a", "db"), ("zed-b", "db2"), ("zed-c", "db")] {
        let selector = format!("resource:{resource}");
        admin(
            &data,
            &[
                "entitlement",
                "add",
                id,
                "--subject",
                "person:zed",
                "--selector",
                &selector,
                "--max",
                "1h",
                "--policy",
                "strict",
            ],
        );
    }
    let campaign = open_review(&data, "Zedcorp review", "company:Zedcorp", "remove");
    assert_eq!(campaign["total"], 3, "{campaign}");
    let session_seconds = 40;
    let broker = start_broker_with(
        dir.path(),
        &[],
        &format!("session_ttl = \"{session_seconds}s\"\n"),
    );
    let ask = |token: &str, device: &str, ticket: &str| -> String {
        let body = serde_json::json!({
            "device": device, "resources": ["db2"], "ticket": ticket, "reason": "check the replication lag", "duration": "1h",
        });
        let made = call_api(
            &broker,
            Some(token),
            "POST",
            "/api/v1/requests",
            Some(&body.to_string()),
        );
        assert_eq!(made["status"], "pending", "{made}");
        made["id"].as_str().unwrap().to_string()
    };
    let ana_request = ask(&org.ana_token, "ana-laptop", "OPS-1");
    let abe_request = ask(&org.abe_token, "abe-laptop", "OPS-2");
    let mut invites = serde_json::Map::new();
    for who in ["abe", "hal", "lee", "kim", "rae"] {
        invites.insert(who.into(), invite_code(&data, who).into());
    }
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    assert!(
        suite.join("node_modules/.bin/playwright").exists(),
        "the Playwright packages are not installed: run npm ci in tests/console (scripts/test.sh does)"
    );
    let shots = artifacts("console-playwright");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new(suite.join("node_modules/.bin/playwright"))
        .arg("test")
        .current_dir(&suite)
        .env("DAYPASS_BROKER_URL", &broker.origin)
        .env(
            "DAYPASS_BROKER_SPKI",
            daypass_e2e::chromium::spki_hash(&broker.cert),
        )
        .env("DAYPASS_INVITES", serde_json::Value::Object(invites).to_string())
        .env("DAYPASS_ANA_REQUEST", &ana_request)
        .env("DAYPASS_ABE_REQUEST", &abe_request)
        .env("DAYPASS_SESSION_TTL_SECONDS", session_seconds.to_string())
        .env("DAYPASS_ARTIFACTS", &shots)
        .env("CI", "true")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Playwright suite failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("5 passed"), "{report}");
    // The answers given from the keyboard are in the campaign's evidence, which verifies with the
    // broker's key (`review evidence`, then `review verify` on the file).
    let file = dir.path().join("review-evidence.json");
    let id = campaign["id"].as_str().unwrap();
    broker_cli(
        &data,
        &["review", "evidence", id, "--out", file.to_str().unwrap()],
    );
    let verified = broker_cli(&data, &["--json", "review", "verify", file.to_str().unwrap()]);
    let evidence: serde_json::Value = serde_json::from_str(&verified).unwrap();
    assert_eq!(
        evidence["outcomes"],
        serde_json::json!({ "kept": 2, "removed": 1 }),
        "{evidence}"
    );
    let removed = evidence["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["outcome"] == "removed")
        .unwrap();
    assert_eq!(
        removed["entitlement"], "zed-a",
        "the first row, removed with n: {evidence}"
    );
    assert_eq!(removed["reviewed_by"], "person:rae");
    assert_eq!(removed["reason"], "project ended");
    let granted = call_api(
        &broker,
        Some(&org.ana_token),
        "GET",
        &format!("/api/v1/requests/{ana_request}"),
        None,
    );
    assert_eq!(
        granted["status"], "granted",
        "the approval in the browser took effect: {granted}"
    );
    drop(broker.procs);
}
