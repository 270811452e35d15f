//! The desktop app for real: the built `daypass-desktop` in a window on a private Xvfb display,
//! driven through WebKitGTK's WebDriver, against the real broker, gateway and `daypass-tunneld` in
//! network namespaces. A contractor enrolls from an invite, checks posture, exports the report,
//! asks for access with a ticket checked as typed, gets a real tunnel, and loses it at expiry;
//! a service set up for another broker than IT's configuration names is refused. Screenshots in
//! `target/debug/test-artifacts/desktop/`.

use daypass_e2e::bins::artifacts;
use daypass_e2e::desktop::{Contractor, Display};
use daypass_e2e::net::echo;
use daypass_e2e::world::{api, daypass, health, invite_code, wait_for, World, BROKER, REFUSED};
use std::time::Duration;

#[test]
fn a_contractor_requests_access_in_the_app_and_loses_it_at_expiry() {
    let mut w = World::for_tunneld();
    wait_for(
        "the gateway agent reaching the broker",
        Duration::from_secs(20),
        || health(&w.net)["broker"] == "connected",
    );
    let t = w.launch_tunneld("ana-app");
    let invite = invite_code(&w.dir.path().join("broker"), "ana");
    // IT's managed configuration names this broker and its key: the service was set up with both.
    let contractor = Contractor::new(&w, &t);
    let home = contractor.home.clone();
    let shots = artifacts("desktop");
    let display = Display::start();
    let app = contractor.launch(&display, "app.log");

    // First run: the invite enrolls a passkey (the test token) and binds this device's keys.
    app.wait_for_text("main h1", "Welcome to Daypass", Duration::from_secs(20));
    assert!(
        app.text("header").contains("managed by IT"),
        "{}",
        app.text("header")
    );
    app.screenshot(&shots.join("1-first-run.png"));
    app.enroll(&invite);
    assert!(app.text("header").contains("ana on ana-app"));
    app.screenshot(&shots.join("2-signed-in.png"));

    // Posture: every check shown, the report exported for the helpdesk.
    app.click("button[data-view=posture]");
    app.wait_for_text("[data-posture]", "disk encryption", Duration::from_secs(60));
    app.screenshot(&shots.join("3-posture.png"));
    app.click("[data-screen=posture] .actions button:nth-child(2)");
    app.wait_for_text("[data-exported]", "Saved", Duration::from_secs(20));
    let exported: Vec<_> = std::fs::read_dir(home.join("Downloads")).unwrap().collect();
    assert_eq!(exported.len(), 1, "one HTML report in Downloads");

    // Request: the ticket is checked as typed; then a one-minute grant.
    app.click("button[data-view=request]");
    app.type_into("#ticket", "NOPE-404");
    app.wait_for_text("#ticket-status", "does not exist", Duration::from_secs(10));
    app.fill_request("db", "OPS-1", "1m", "migration, from the app");
    app.screenshot(&shots.join("4-request.png"));
    app.submit_request();
    app.screenshot(&shots.join("5-active.png"));
    assert!(app.text("main table").contains("10.20.0.10"));
    let not_after = app.not_after();
    assert!(w.client_interface_exists(), "the tunnel is up");
    let mut open = w
        .net
        .connect("10.20.0.10:5432", Duration::from_secs(3))
        .expect("the granted resource through the tunnel");
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");

    // Expiry: the window says so within a couple of seconds, and the tunnel is gone.
    let shown = app.wait_for_expiry(&not_after);
    eprintln!("the window showed the expiry {shown:?} after not_after");
    assert!(app.text("main").contains("expired"), "{}", app.text("main"));
    // The service's warning before expiry (5 s here, 10 minutes by default) and the expiry itself
    // reached the app as notifications (no notification daemon here: the window's copy is read).
    app.wait_for_text("#notices", "Access ends soon", Duration::from_secs(2));
    app.wait_for_text(
        "#notices",
        "Access ended: Your access expired",
        Duration::from_secs(2),
    );
    assert!(!w.client_interface_exists(), "no interface after expiry");
    assert!(w.net.connect("10.20.0.10:5432", REFUSED).is_err());
    app.screenshot(&shots.join("6-expired.png"));

    app.click("button[data-view=history]");
    app.wait_for_text("main table", "OPS-1", Duration::from_secs(10));
    assert!(app.text("tr[data-status=granted]").contains("db"));
    app.screenshot(&shots.join("7-history.png"));

    // Signing out ends the session; the same passkey signs in again.
    app.click("header button.link");
    app.wait_for_text("main h1", "Welcome to Daypass", Duration::from_secs(10));
    app.type_into("#person", "ana");
    app.click("form[data-form=sign-in] button[type=submit]");
    app.wait_for_text("header", "ana on ana-app", Duration::from_secs(20));
    app.wait_for_text("main h1", "Access ended", Duration::from_secs(5));

    // A resource an approver decides on: the window waits, and changes by itself on the decision.
    let decide = |verdict: &str, body: &str| {
        let request = daypass(&t, &["--json", "status"], &[]).json()["session"]["request"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/requests/{request}/{verdict}");
        api(&w.net, &w.cert, &w.org.abe_token, "POST", &path, Some(body));
    };
    app.fill_request("db2", "OPS-1", "15m", "needs abe");
    app.submit_request_until("Waiting for approval");
    app.screenshot(&shots.join("8-pending.png"));
    decide("deny", r#"{"reason":"not this week"}"#);
    app.wait_for_text("main h1", "Request denied", Duration::from_secs(5));
    assert_eq!(app.text("[data-detail]"), "not this week");
    app.screenshot(&shots.join("9-denied.png"));
    app.fill_request("db2", "OPS-1", "15m", "needs abe, again");
    app.submit_request_until("Waiting for approval");
    decide("approve", "{}");
    app.wait_for_text("main h1", "Access active", Duration::from_secs(5));
    let mut open = w
        .net
        .connect("10.20.0.11:5432", Duration::from_secs(3))
        .expect("the approved resource through the tunnel");
    assert_eq!(echo(&mut open, "ping", Duration::from_secs(3)).unwrap(), "ping");
    app.click("button.danger");
    app.wait_for_text(
        "[data-state=closed-disconnected]",
        "You disconnected",
        Duration::from_secs(5),
    );
    assert!(!w.client_interface_exists(), "disconnected: no interface");
    drop(app);

    // IT's configuration naming another broker key: the app refuses the service.
    contractor.manage(BROKER, &daypass_e2e::world::made_up_key(9));
    let refused = contractor.launch(&display, "app-2.log");
    refused.wait_for_text("main h1", "cannot work", Duration::from_secs(20));
    assert_eq!(
        refused.attribute("[data-screen=problem]", "data-code"),
        "wrong-broker"
    );
    refused.screenshot(&shots.join("10-wrong-broker.png"));
}
