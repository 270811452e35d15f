//! The `daypass-broker` command line: serve, demo, admin, audit, grant, report.

mod admin;
mod baseline;
mod demo;
mod emergency;
mod records;
mod review;
mod scim;

use crate::config::{self, FileConfig, StorageSettings};
use crate::server::{open_broker_now, spawn_background, spawn_siem_feeds, RunningServer};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use daypass_broker_core::{syslog_line, Broker, VerifyOutcome};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "daypass-broker",
    version,
    about = "Daypass access broker: just-in-time access for contractors"
)]
pub struct Cli {
    /// TOML config file (flags and DAYPASS_* variables override it).
    #[arg(long, env = "DAYPASS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the broker keeps its database, keys and certificate.
    #[arg(long, env = "DAYPASS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default: DATA_DIR/broker.db) or postgres://USER:PASS@HOST/DB.
    /// With a password, prefer --database-file or the environment: every local user can read a
    /// command line.
    #[arg(
        long,
        env = "DAYPASS_DATABASE",
        global = true,
        hide_env_values = true,
        conflicts_with = "database_file"
    )]
    pub database: Option<String>,
    /// File holding the database URL (readable by the broker's user only).
    #[arg(long, env = "DAYPASS_DATABASE_FILE", global = true)]
    pub database_file: Option<PathBuf>,
    /// Ed25519 grant-signing key file (default: DATA_DIR/broker-signing.key). Brokers sharing a database share it.
    #[arg(long, env = "DAYPASS_SIGNING_KEY", global = true)]
    pub signing_key: Option<PathBuf>,
    /// Print results as JSON, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Seed demo people, resources and tickets (once), then serve on loopback and print what to try.
    Demo(ServeArgs),
    /// Manage people, devices, resources, entitlements, policies, tickets, gateways and tokens.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Verify or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Inspect or end grants.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// The posture baseline (what "patched" and "supported" mean): show, import, sign.
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
    /// The emergency stop: end every live contractor grant and refuse requests until lifted.
    #[command(subcommand)]
    Emergency(emergency::EmergencyCommand),
    /// Access reviews: open a campaign, follow it, close it, export and verify its signed evidence.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// The weekly access figures.
    Report {
        /// Window length in days, ending now.
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DAYPASS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain; without it a self-signed certificate is made in DATA_DIR.
    #[arg(long, env = "DAYPASS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "DAYPASS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (loopback only, behind a TLS-terminating proxy).
    #[arg(long)]
    pub plain_http: bool,
    /// Where to serve Prometheus metrics (`GET /metrics`, plain HTTP), e.g. 127.0.0.1:9464.
    #[arg(long, env = "DAYPASS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain; exits 1 naming the first bad entry.
    Verify {
        /// A witness file of checkpoints (`audit_witness_file`, or a copy of it): the log must still
        /// contain everything each one covers.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write every entry for a SIEM.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Sign the current chain head now.
    Checkpoint,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Syslog,
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// One grant's whole story: request, ticket state, approvals, grant, revocation or expiry.
    Evidence { id: Uuid },
    /// End a live grant now.
    Revoke {
        id: Uuid,
        #[arg(long)]
        reason: String,
    },
}

/// A duration argument (`30d`, `8h`) in seconds.
fn duration_arg(s: &str) -> Result<i64, String> {
    daypass_proto::duration::parse_duration(s)
}

/// Who the local CLI acts as in the audit log.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "root".into())
    )
}

/// `2027-03-31` means through the end of that day (UTC); a full RFC 3339 time is taken as is.
pub fn until_arg(s: &str) -> Result<time::OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format)
        .ok()
        .and_then(|d| d.next_day())
        .map(|d| d.midnight().assume_utc())
        .ok_or_else(|| {
            format!("bad date {s:?}: write YYYY-MM-DD (through the end of that day, UTC) or an RFC 3339 time")
        })
}

/// Prints `value` as JSON with --json, else the human text.
pub fn emit<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", human())?;
    }
    Ok(())
}

/// Whether a database URL carries a password (`scheme://user:password@host/…`).
pub fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(user_info, _)| user_info.contains(':'))
}

/// The database URL kept in `file` (one line).
fn database_url_in(file: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the database URL {}", file.display()))?;
    let url = text.trim();
    anyhow::ensure!(
        !url.is_empty(),
        "{} is empty: put the database URL (postgres://USER:PASS@HOST/DB) in it",
        file.display()
    );
    Ok(url.to_string())
}

pub async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let database = match (&cli.database, &cli.database_file) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(file)) => Some(database_url_in(file)?),
        (None, None) => None,
    };
    let storage = StorageSettings::resolve(cli.data_dir.clone(), database, cli.signing_key.clone(), &file);
    tracing::debug!(data_dir = %storage.data_dir.display(), database = %daypass_broker_core::redact_url(&storage.database_url), "effective storage settings");
    if let Command::Baseline(cmd) = cli.command {
        return baseline::run(cmd, &file, &storage.data_dir, cli.json);
    }
    let mut settings = config::broker_settings(&file)?;
    let in_force = crate::baseline::in_force(&file, &storage.data_dir)?;
    settings.posture.baseline_origin = in_force.origin.clone();
    settings.posture.baseline = Some((in_force.signed, in_force.key));
    if matches!(cli.command, Command::Demo(_)) && file.posture_auto_approve_requires_report.is_none() {
        // The demo's devices are seeded, with no posture client behind them: say so, and let the
        // low-risk path auto-approve without a report (the next steps print this too).
        settings.posture.auto_approve_requires_report = false;
    }
    if matches!(cli.command, Command::Demo(_)) && file.approvals_require_passkey.is_none() {
        // The demo's approvers have API tokens, not passkeys (printed in the next steps too).
        settings.passkeys.approvals_require_step_up = false;
    }
    let broker = open_broker_now(&storage, settings, &file.tickets).await?;
    let code = match cli.command {
        Command::Serve(args) => serve(broker, &storage, &file, &args, None).await?,
        Command::Demo(args) => {
            let seeded = demo::seed(&broker, &storage).await?;
            serve(broker, &storage, &file, &args, Some(seeded)).await?
        }
        Command::Admin(cmd) => admin::run(&broker, cmd, cli.json).await?,
        Command::Audit(cmd) => audit(&broker, cmd, cli.json).await?,
        Command::Grant(GrantCommand::Evidence { id }) => {
            let bundle = broker.evidence_unchecked(id).await?;
            emit(cli.json, &bundle, || records::evidence_text(&bundle))?;
            std::process::ExitCode::SUCCESS
        }
        Command::Grant(GrantCommand::Revoke { id, reason }) => {
            let view = broker.revoke_as(&cli_actor(), id, &reason).await?;
            emit(cli.json, &view, || format!("grant {id} revoked: {reason}"))?;
            std::process::ExitCode::SUCCESS
        }
        Command::Emergency(cmd) => emergency::run(&broker, cmd, cli.json).await?,
        Command::Review(cmd) => review::run(&broker, cmd, cli.json).await?,
        Command::Report { days } => {
            anyhow::ensure!((1..=366).contains(&days), "--days must be between 1 and 366");
            let report = broker.report(days).await?;
            emit(cli.json, &report, || records::report_text(&report))?;
            std::process::ExitCode::SUCCESS
        }
        Command::Baseline(_) => unreachable!("answered before the broker opened"),
    };
    Ok(code)
}

async fn serve(
    broker: Broker,
    storage: &StorageSettings,
    file: &FileConfig,
    args: &ServeArgs,
    demo: Option<demo::Seeded>,
) -> Result<std::process::ExitCode> {
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| config::DEFAULT_LISTEN.parse().expect("constant"));
    let tls = if args.plain_http {
        None
    } else {
        let cert = args.tls_cert.clone().or(file.tls_cert.clone());
        let key = args.tls_key.clone().or(file.tls_key.clone());
        let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        names.extend(file.tls_names.iter().cloned());
        if !listen.ip().is_unspecified() && !names.contains(&listen.ip().to_string()) {
            names.push(listen.ip().to_string());
        }
        let configured = cert.as_deref().zip(key.as_deref());
        Some(crate::tls::identity(configured, &storage.data_dir, &names)?)
    };
    broker
        .listen_for_other_brokers()
        .await
        .context("listening for other brokers' changes")?;
    let sinks = config::siem_sinks(file)?;
    let background = spawn_background(broker.clone(), config::ticket_poll_interval(file)?);
    let feeds = spawn_siem_feeds(&broker, &sinks);
    let metrics = match args.metrics_listen.or(file.metrics_listen) {
        Some(at) => {
            let (addr, task) = crate::server::serve_metrics(broker.clone(), at).await?;
            println!("metrics on http://{addr}/metrics");
            Some(task)
        }
        None => None,
    };
    let server =
        RunningServer::start(broker, listen, tls.as_ref(), file.ticket_webhook_secret.clone()).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", server.addr);
    println!("daypass-broker listening on {url}");
    if let Some(id) = &tls {
        println!(
            "TLS certificate {} ({})",
            id.cert.display(),
            if id.generated {
                "self-signed, made now"
            } else {
                "as configured"
            }
        );
        println!("  pin this fingerprint in clients: {}", id.fingerprint);
    }
    if let Some(seeded) = demo {
        println!("{}", demo::next_steps(&seeded, &url, tls.as_ref()));
    }
    server.run_until_signal().await?;
    background.abort();
    feeds.iter().for_each(tokio::task::JoinHandle::abort);
    if let Some(task) = metrics {
        task.abort();
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Verifies the chain, against a witness file when given; warns when nothing outside the database
/// would notice the log's tail cut together with its checkpoints.
async fn verify_audit(
    broker: &Broker,
    witness_file: Option<&std::path::Path>,
) -> Result<(VerifyOutcome, Option<String>)> {
    let Some(file) = witness_file else {
        let warning = (broker.audit_witness_places() == 0).then(|| {
            "no checkpoint is kept outside the database (audit_witness_file, audit_witness_log, \
             audit_witness_url): with write access to the database, the log's tail and its checkpoints \
             could be removed together unnoticed"
                .to_string()
        });
        return Ok((broker.verify_audit().await?, warning));
    };
    let witnessed = daypass_broker_core::read_checkpoints(file).map_err(anyhow::Error::msg)?;
    Ok((broker.verify_audit_against(witnessed).await?, None))
}

async fn audit(broker: &Broker, cmd: AuditCommand, json: bool) -> Result<std::process::ExitCode> {
    match cmd {
        AuditCommand::Verify { checkpoints } => match verify_audit(broker, checkpoints.as_deref()).await? {
            (VerifyOutcome::Intact(s), warning) => {
                let value = serde_json::json!({ "intact": true, "summary": s, "warning": warning });
                emit(json, &value, || {
                    let intact = format!(
                        "audit log intact: {} entries, signed checkpoints verified: {}, head {}",
                        s.entries, s.checkpoints_verified, s.last_hash
                    );
                    match &warning {
                        Some(w) => format!("{intact}\nwarning: {w}"),
                        None => intact,
                    }
                })?;
                Ok(std::process::ExitCode::SUCCESS)
            }
            (VerifyOutcome::Broken(b), _) => {
                emit(
                    json,
                    &serde_json::json!({ "intact": false, "problem": b.to_string() }),
                    || format!("audit log BROKEN: {b}"),
                )?;
                Ok(std::process::ExitCode::from(1))
            }
        },
        AuditCommand::Export { format, output } => {
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "-".into());
            broker
                .export_audit(|e| match format {
                    ExportFormat::Jsonl => writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default()),
                    ExportFormat::Syslog => writeln!(out, "{}", syslog_line(e, &host)),
                })
                .await?;
            out.flush()?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            let signed = broker.checkpoint_audit().await?;
            emit(json, &serde_json::json!({ "signed": signed }), || {
                if signed {
                    "signed a checkpoint at the current head".into()
                } else {
                    "the head is already signed".into()
                }
            })?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_date_runs_through_that_day() {
        use time::macros::datetime;
        assert_eq!(until_arg("2027-03-31").unwrap(), datetime!(2027-04-01 00:00 UTC));
        assert_eq!(
            until_arg("2027-03-31T12:00:00Z").unwrap(),
            datetime!(2027-03-31 12:00 UTC)
        );
        assert!(until_arg("31/03/2027").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn port_lists_parse_as_one_value() {
        let cli = Cli::try_parse_from([
            "daypass-broker",
            "admin",
            "resource",
            "add",
            "db",
            "--address",
            "10.0.0.1",
            "--ports",
            "22,8000-8080",
            "--gateway",
            "g",
        ])
        .unwrap();
        let Command::Admin(admin::AdminCommand::Resource(admin::ResourceCommand::Add { ports, .. })) =
            cli.command
        else {
            panic!("parsed the wrong command")
        };
        assert_eq!(ports.len(), 2);
    }

    #[test]
    fn a_password_in_a_database_url_is_noticed() {
        assert!(super::has_password(
            "postgres://daypass:s3cret@db.internal/daypass"
        ));
        assert!(super::has_password("postgres://u:p@h"));
        assert!(!super::has_password("postgres://daypass@db.internal/daypass"));
        assert!(!super::has_password(
            "sqlite:///var/lib/daypass/broker.db?mode=rwc"
        ));
        assert!(
            !super::has_password("postgres://h/db?user=a@b:c"),
            "the query is not the authority"
        );
    }

    #[test]
    fn the_database_url_can_come_from_a_file_never_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db-url");
        std::fs::write(&file, "postgres://u:p@h/db\n").unwrap();
        assert_eq!(super::database_url_in(&file).unwrap(), "postgres://u:p@h/db");
        std::fs::write(&file, "  \n").unwrap();
        assert!(super::database_url_in(&file)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        let both = Cli::try_parse_from([
            "daypass-broker",
            "--database",
            "sqlite://x",
            "--database-file",
            "f",
            "serve",
        ]);
        assert!(both.is_err());
    }
}
