//! `daypass-demo` (README's run command, through `scripts/demo.sh`): the whole product on this
//! machine. The broker on SQLite with a demo organisation and built-in tickets, a gateway
//! (wireguard-go, nftables) and a demo database in network namespaces, `daypass-tunneld`, and the
//! desktop app: in a window on your display when there is one, else on a private Xvfb. A
//! contractor enrolls from an invite, checks posture, asks for one minute of access against a
//! ticket, reaches the database through the tunnel, and loses access at expiry. Screenshots of
//! each step are written and their paths printed. Everything started is stopped at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use daypass_e2e::desktop::{Contractor, Display};
use daypass_e2e::net::echo;
use daypass_e2e::world::{health, invite_code, wait_for, World, REFUSED};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("error: run the demo as root: it makes network namespaces, WireGuard interfaces and nftables rules");
        return ExitCode::from(2);
    }
    let dir =
        PathBuf::from(std::env::var_os("DAYPASS_DEMO_DIR").unwrap_or_else(|| "/var/tmp/daypass-demo".into()));
    let shots = dir.join("screens");
    if let Err(e) = std::fs::create_dir_all(&shots) {
        eprintln!("error: cannot make {}: {e}", shots.display());
        return ExitCode::from(2);
    }
    run(&shots);
    ExitCode::SUCCESS
}

fn say(started: Instant, what: &str) {
    println!("[{:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

fn run(shots: &Path) {
    let started = Instant::now();
    say(started, "starting the broker (SQLite, demo organisation, built-in tickets), a gateway and a demo database in network namespaces");
    let mut w = World::for_tunneld();
    wait_for("the gateway reaching the broker", Duration::from_secs(20), || {
        health(&w.net)["broker"] == "connected"
    });
    say(
        started,
        "starting daypass-tunneld, the contractor's privileged tunnel service",
    );
    let t = w.launch_tunneld("ana-demo");
    let invite = invite_code(&w.dir.path().join("broker"), "ana");
    let contractor = Contractor::new(&w, &t);

    let display = Display::existing().unwrap_or_else(Display::start);
    say(
        started,
        &if display.is_virtual() {
            format!(
                "starting the desktop app on a virtual display ({}): watch the screenshots",
                display.name
            )
        } else {
            format!("starting the desktop app on your display {}", display.name)
        },
    );
    let app = contractor.launch(&display, "app.log");
    let shot = |name: &str| {
        let path = shots.join(format!("{name}.png"));
        app.screenshot(&path);
        println!("         screenshot: {}", path.display());
    };

    say(
        started,
        "ana enrolls this laptop with the invite IT sent her (a passkey, here a software test token)",
    );
    shot("1-first-run");
    app.enroll(&invite);
    shot("2-signed-in");
    say(started, "she checks the laptop's posture");
    app.click("button[data-view=posture]");
    app.wait_for_text("[data-posture]", "disk encryption", Duration::from_secs(60));
    shot("3-posture");
    say(
        started,
        "she asks for one minute of access to the staging database, against ticket OPS-1",
    );
    app.fill_request("db", "OPS-1", "1m", "run the schema migration");
    shot("4-request");
    app.submit_request();
    say(
        started,
        "granted by policy: the tunnel is up, with a live countdown",
    );
    shot("5-active");
    let mut open = w
        .net
        .connect("10.20.0.10:5432", Duration::from_secs(3))
        .expect("the database through the tunnel");
    let answer = echo(&mut open, "hello", Duration::from_secs(3)).expect("an answer through the tunnel");
    say(
        started,
        &format!("the database at 10.20.0.10:5432 answered {answer:?} through the tunnel"),
    );
    let not_after = app.not_after();
    say(
        started,
        &format!("waiting for the grant to expire at {not_after}"),
    );
    let late = app.wait_for_expiry(&not_after);
    let cut =
        w.net.connect("10.20.0.10:5432", REFUSED).is_err() && echo(&mut open, "again", REFUSED).is_err();
    say(
        started,
        &format!(
            "expired: the window said so {late:.1?} after not_after; the tunnel is {}, the database {}",
            if w.client_interface_exists() {
                "STILL UP"
            } else {
                "gone"
            },
            if cut { "unreachable" } else { "STILL REACHABLE" }
        ),
    );
    shot("6-expired");
    app.click("button[data-view=history]");
    app.wait_for_text("main table", "OPS-1", Duration::from_secs(10));
    shot("7-history");

    if !display.is_virtual() && std::io::stdin().is_terminal() {
        println!("The app stays open on your display: press Enter to stop the demo.");
        let _ = std::io::stdin().read_line(&mut String::new());
    }
    say(started, "stopping everything the demo started");
}
