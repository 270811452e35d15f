//! Benchmark: the desktop app as a contractor meets it. Cold start to interactive: from asking
//! WebKitGTK's WebDriver for a session (which starts `daypass-desktop`) to the window showing where
//! access stands (its heading filled in from the tunnel service's answer), with the binary in the
//! page cache (what a second start of the day costs, not a first read from disk). Idle memory:
//! proportional set size (PSS, from /proc/PID/smaps_rollup) of the app's process and of the
//! WebKit processes it starts, and of `daypass-tunneld`, each after 10 s idle with a person signed
//! in. Size: the release binaries on disk. Run as root after building the binaries with the same
//! profile: `cargo build --release --workspace --bins && cargo bench -p daypass-e2e --bench desktop`

// A benchmark: a failed step is a failed run.
#![allow(clippy::unwrap_used)]

use daypass_e2e::bins::bin;
use daypass_e2e::desktop::{App, Display};
use daypass_e2e::measure::summary;
use daypass_e2e::net::pause;
use daypass_e2e::world::{health, wait_for, World};
use std::time::{Duration, Instant};

const STARTS: usize = 10;

/// Kibibytes of proportional set size of process `pid`.
fn pss_kib(pid: u32) -> u64 {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The processes whose command line starts with one of `names`, with their PSS.
fn processes(names: &[&str]) -> Vec<(String, u32, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let exe = String::from_utf8_lossy(first)
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if names.contains(&exe.as_str()) {
            found.push((exe, pid, pss_kib(pid)));
        }
    }
    found
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let mut w = World::for_tunneld();
    wait_for("the agent reaching the broker", Duration::from_secs(20), || {
        health(&w.net)["broker"] == "connected"
    });
    let t = w.start_tunneld("bench-laptop");
    let display = Display::start();
    let env = [("DAYPASS_SOCKET", t.socket.to_str().unwrap())];
    let app_bin = bin("daypass-desktop");
    let log = w.dir.path().join("app.log");

    // One start to fill the page cache, then the measured ones.
    drop(App::launch(&display, &app_bin, &env, &log));
    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let asked = Instant::now();
        let app = App::launch(&display, &app_bin, &env, &log);
        app.wait_for_text("main h1", "No access right now", Duration::from_secs(30));
        starts.push(asked.elapsed());
    }
    summary("cold start to interactive (binary in page cache)", starts);

    let app = App::launch(&display, &app_bin, &env, &log);
    app.wait_for_text("main h1", "No access right now", Duration::from_secs(30));
    pause(Duration::from_secs(10));
    let mut app_total = 0;
    for (name, pid, kib) in processes(&["daypass-desktop", "WebKitWebProcess", "WebKitNetworkProcess"]) {
        println!("idle PSS {name} (pid {pid}): {:.1} MiB", mib(kib));
        app_total += kib;
    }
    println!(
        "idle PSS of the app with its WebKit processes: {:.1} MiB",
        mib(app_total)
    );
    println!(
        "idle PSS daypass-tunneld (signed in, no access): {:.1} MiB",
        mib(pss_kib(t.pid))
    );
    drop(app);

    for name in ["daypass-desktop", "daypass-tunneld", "daypass"] {
        let size = std::fs::metadata(bin(name)).unwrap().len();
        println!("binary {name}: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
    }
}
