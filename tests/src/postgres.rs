//! A PostgreSQL server of the test's own, reached over its Unix socket (so from every network
//! namespace), that the test may restart mid-load and that is stopped and removed when dropped.

use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    bin: PathBuf,
    /// Whether commits wait for the disk (off for tests, on for benchmarks).
    durable: bool,
    /// Holds the data directory and the socket; owned by the `postgres` user.
    dir: PathBuf,
}

impl Postgres {
    /// Creates and starts a fresh cluster (Debian's `postgresql` package, as scripts/test.sh
    /// installs) whose commits do not wait for the disk.
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// As `start`, with commits durable (`fsync` on), as PostgreSQL is run for real: for benchmarks.
    pub fn start_durable() -> Postgres {
        Postgres::start_with(true)
    }

    fn start_with(durable: bool) -> Postgres {
        let bin = newest_server().expect(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin: install Debian's postgresql package (scripts/test.sh does)",
        );
        let dir = tempfile::Builder::new()
            .prefix("daypass-e2e-pg.")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        run("chown", &["postgres:postgres", dir.to_str().unwrap()]);
        let pg = Postgres { bin, durable, dir };
        pg.as_postgres("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres"]);
        pg.ctl(&["start", "-l", &pg.log(), "-o", &pg.options()]);
        pg
    }

    /// Where the brokers find it: the socket directory, no TCP.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}",
            self.dir.display()
        )
    }

    /// Restarts the server as an operator would (`pg_ctl restart`, fast mode: open transactions
    /// are rolled back and every connection is closed).
    pub fn restart(&self) {
        self.ctl(&["restart", "-m", "fast", "-l", &self.log(), "-o", &self.options()]);
    }

    /// Runs one SQL query with `psql` and returns its unaligned, tuples-only output.
    pub fn query(&self, sql: &str) -> String {
        let host = format!("--host={}", self.dir.display());
        let args = [host.as_str(), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql];
        self.as_postgres("psql", &args).trim().to_string()
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn log(&self) -> String {
        self.dir.join("log").to_string_lossy().into_owned()
    }

    /// The server's options; `DAYPASS_PG_EXTRA_OPTIONS` adds to them (e.g. ` -c log_statement=all
    /// -c logging_collector=on -c log_directory=/tmp/pglog` to count a benchmark's statements).
    fn options(&self) -> String {
        let extra = std::env::var("DAYPASS_PG_EXTRA_OPTIONS").unwrap_or_default();
        format!(
            "-k {} -c listen_addresses='' -c max_connections=200 -c fsync={} {extra}",
            self.dir.display(),
            if self.durable { "on" } else { "off" }
        )
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut all = vec!["-D", data.as_str(), "-w"];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all);
    }

    /// Runs one of the server's tools as the `postgres` user; its output.
    fn as_postgres(&self, tool: &str, args: &[&str]) -> String {
        let path = self.bin.join(tool);
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", path.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest PostgreSQL server installed.
fn newest_server() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn run(tool: &str, args: &[&str]) {
    let status = Command::new(tool).args(args).status().unwrap();
    assert!(status.success(), "{tool} {args:?} failed");
}
