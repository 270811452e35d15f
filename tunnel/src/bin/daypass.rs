//! `daypass`: the headless Daypass client for servers, scripts and tests. Every command is one
//! message to `daypass-tunneld`; `--json` prints the service's answer as JSON. Exit status: 0 done,
//! 1 refused (the message says why and what to do), 2 the service could not be reached or the
//! command line is wrong.

use clap::{Parser, Subcommand};
use daypass_client::ipc::client::{ClientError, ServiceClient};
use daypass_proto::ipc::{Answer, ClosedReason, Event, PostureView, Refusal, SessionView, Status, ToService};
use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "daypass",
    version,
    about = "Request and use just-in-time access with Daypass"
)]
struct Cli {
    /// Where the tunnel service listens: its socket, or on Windows its named pipe.
    #[arg(
        long,
        global = true,
        env = "DAYPASS_SOCKET",
        default_value = daypass_client::ipc::address::DEFAULT_ADDRESS
    )]
    socket: PathBuf,
    /// Print the service's answer as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Confirm passkeys in the system browser (platform, synced and phone passkeys): open the
    /// address printed, the answer comes back to this command on a loopback port. Without it, a
    /// security key plugged in over USB answers (on Windows: Windows' own passkey dialog).
    #[arg(long, global = true)]
    browser: bool,
    /// Answer passkey ceremonies with the software token in this file (made if missing; tests and
    /// demos only: its key is not in hardware).
    #[cfg(feature = "soft-authenticator")]
    #[arg(long, global = true, env = "DAYPASS_SOFT_AUTHENTICATOR")]
    soft_authenticator: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Where access stands.
    Status {
        /// Keep printing each change until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// This device's id and public keys, for IT to enroll it.
    Device,
    /// Sign in: with `--person`, with your passkey; without, with an API token IT issued for a
    /// server or script (read from DAYPASS_TOKEN or standard input, never the command line).
    Login {
        #[arg(long)]
        person: Option<String>,
    },
    /// Enroll this device with the invite IT sent (read from DAYPASS_INVITE or standard input):
    /// registers your passkey and binds this device's keys, then signs you in.
    Enroll,
    /// Sign out and disconnect.
    Logout,
    /// Check this device's posture and send the signed report to the broker.
    Posture,
    /// The resources you may request.
    Entitlements,
    /// Whether a ticket can be used for a request now (open, and yours).
    Ticket { key: String },
    /// This device's requests and grants, newest first.
    History,
    /// Ask for access to resources for a ticket.
    Request {
        /// A resource name (repeat for several).
        #[arg(long = "resource", required = true)]
        resources: Vec<String>,
        /// The ticket the work is tracked under, e.g. OPS-142.
        #[arg(long)]
        ticket: String,
        /// How long, e.g. 90m, 4h.
        #[arg(long = "for")]
        duration: String,
        /// Why; approvers and auditors read it.
        #[arg(long)]
        reason: String,
        /// When approvers must decide, wait for their decision.
        #[arg(long)]
        wait: bool,
    },
    /// Bring the tunnel up for a grant issued earlier.
    Up {
        #[arg(long)]
        grant: Uuid,
    },
    /// Disconnect now.
    Down,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli))
}

/// A secret from the environment variable `var`, else standard input; never the command line.
fn secret_from_outside(var: &str, what: &str, command: &str) -> Result<String, String> {
    if let Ok(t) = std::env::var(var) {
        return Ok(t);
    }
    if std::io::stdin().is_terminal() {
        eprint!("{what}: ");
    }
    let mut t = String::new();
    std::io::stdin()
        .read_to_string(&mut t)
        .map_err(|e| format!("reading the {what} from standard input: {e}"))?;
    if t.trim().is_empty() {
        return Err(format!("no {what}: set {var} or pipe it into daypass {command}"));
    }
    Ok(t)
}

async fn run(cli: Cli) -> ExitCode {
    let message = match &cli.command {
        Command::Status { watch: true } => ToService::Watch,
        Command::Status { watch: false } => ToService::Status,
        Command::Device => ToService::Device,
        Command::Login { person: Some(person) } => ToService::SignIn {
            person: person.clone(),
        },
        Command::Login { person: None } => {
            match secret_from_outside("DAYPASS_TOKEN", "API token (from IT)", "login") {
                Ok(token) => ToService::Login { token },
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        Command::Enroll => match secret_from_outside("DAYPASS_INVITE", "invite code", "enroll") {
            Ok(invite) => ToService::Enroll { invite },
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        Command::Logout => ToService::Logout,
        Command::Posture => ToService::Posture,
        Command::Entitlements => ToService::Entitlements,
        Command::Ticket { key } => ToService::CheckTicket { ticket: key.clone() },
        Command::History => ToService::History,
        Command::Request {
            resources,
            ticket,
            duration,
            reason,
            ..
        } => ToService::Request {
            resources: resources.clone(),
            ticket: ticket.clone(),
            duration: duration.clone(),
            reason: reason.clone(),
        },
        Command::Up { grant } => ToService::Up { grant: *grant },
        Command::Down => ToService::Down,
    };
    let wait = matches!(cli.command, Command::Request { wait: true, .. });
    match converse(&cli, &message, wait).await {
        Ok(code) => code,
        Err(ClientError::Refused(r)) => {
            if cli.json {
                println!("{}", serde_json::json!({ "refused": r }));
            } else {
                eprintln!("refused: {}", r.message);
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn converse(cli: &Cli, message: &ToService, wait: bool) -> Result<ExitCode, ClientError> {
    let mut client = ServiceClient::connect(&cli.socket).await?;
    let mut answer = client.ask(message).await?;
    if let Answer::Ceremony {
        ceremony,
        options,
        origin,
    } = answer
    {
        let credential = if cli.browser {
            in_browser(ceremony, &origin).await?
        } else {
            answer_ceremony(cli, options, &origin)?
        };
        answer = client.ask(&ToService::FinishCeremony { credential }).await?;
    }
    if let Answer::Watching = answer {
        loop {
            if let Event::Session { status } = client.next_event().await? {
                show(cli.json, &Answer::Status(status));
            }
        }
    }
    let pending =
        matches!(&answer, Answer::Status(s) if matches!(s.session, SessionView::PendingApproval { .. }));
    show(cli.json, &answer);
    if !matches!(message, ToService::Request { .. }) {
        return Ok(ExitCode::SUCCESS);
    }
    if !(wait && pending) {
        return Ok(outcome(&answer));
    }
    // Wait for the approvers: watch, then look once more (the decision may have come meanwhile).
    let mut watcher = ServiceClient::connect(&cli.socket).await?;
    watcher.ask(&ToService::Watch).await?;
    let mut latest = client.ask(&ToService::Status).await?;
    loop {
        if let Answer::Status(s) = &latest {
            if !matches!(
                s.session,
                SessionView::PendingApproval { .. } | SessionView::Requesting
            ) {
                show(cli.json, &latest);
                return Ok(outcome(&latest));
            }
        }
        if let Event::Session { status } = watcher.next_event().await? {
            latest = Answer::Status(status);
        }
    }
}

fn authenticator_refused(message: String) -> ClientError {
    ClientError::Refused(Refusal {
        code: "authenticator".into(),
        message,
    })
}

/// The ceremony in the system browser: the broker's page, answered back to a loopback port.
async fn in_browser(ceremony: uuid::Uuid, origin: &str) -> Result<serde_json::Value, ClientError> {
    daypass_client::browser_flow::confirm(origin, ceremony, |page| {
        eprintln!("Open this address in your browser to confirm with your passkey:\n  {page}");
    })
    .await
    .map_err(authenticator_refused)
}

/// The authenticator's answer to a passkey ceremony: the software token when one is given (tests),
/// else the native authenticator (a USB security key; Windows' own dialog on Windows).
#[cfg_attr(not(feature = "soft-authenticator"), allow(unused_variables))]
fn answer_ceremony(
    cli: &Cli,
    options: serde_json::Value,
    origin: &str,
) -> Result<serde_json::Value, ClientError> {
    #[cfg(feature = "soft-authenticator")]
    if let Some(file) = cli.soft_authenticator.as_deref() {
        return daypass_client::authenticator::SoftAuthenticator::open(file)
            .and_then(|mut a| a.answer(options, origin))
            .map_err(authenticator_refused);
    }
    native_answer(options, origin)
}

#[cfg(feature = "security-key")]
fn native_answer(options: serde_json::Value, origin: &str) -> Result<serde_json::Value, ClientError> {
    // It blocks on the device (PIN prompt, touch) and runs its own runtime: on a thread of its own
    // (this command has nothing else to do meanwhile).
    let origin = origin.to_string();
    std::thread::spawn(move || daypass_client::authenticator::native(options, &origin))
        .join()
        .unwrap_or_else(|_| Err("the authenticator stopped unexpectedly".into()))
        .map_err(authenticator_refused)
}

#[cfg(not(feature = "security-key"))]
fn native_answer(_options: serde_json::Value, _origin: &str) -> Result<serde_json::Value, ClientError> {
    Err(authenticator_refused(
        "this build of daypass has no native authenticator (feature security-key): confirm in the browser with --browser".into(),
    ))
}

/// For a request: 1 when the session ended refused (denied, failed), else 0.
fn outcome(answer: &Answer) -> ExitCode {
    match answer {
        Answer::Status(Status {
            session:
                SessionView::Closed {
                    why: ClosedReason::Denied { .. } | ClosedReason::Failed { .. },
                },
            ..
        }) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

fn show(json: bool, answer: &Answer) {
    if json {
        println!("{}", serde_json::to_string(answer).unwrap_or_default());
        return;
    }
    match answer {
        Answer::Status(s) => println!("{}", describe(s)),
        Answer::SignedIn { person } => println!("Signed in as {person}."),
        Answer::Device(d) => println!(
            "Device {}\n  WireGuard public key:      {}\n  report-signing public key: {}\nIT enrolls it with: daypass-broker admin device add {} --person PERSON --wireguard-key {} --report-key {}",
            d.device, d.wireguard_public_key, d.report_public_key, d.device, d.wireguard_public_key, d.report_public_key
        ),
        Answer::Posture(p) => print!("{}", posture(p)),
        Answer::Entitlements { resources } => {
            if resources.is_empty() {
                println!("You may not request anything yet: ask your Daypass administrator.");
            }
            for r in resources {
                let ports: Vec<String> = r.ports.iter().map(|p| p.to_string()).collect();
                println!(
                    "{:<20} {} {}/{}  up to {}  tags: {}  ({})",
                    r.resource,
                    r.address,
                    r.protocol,
                    ports.join(","),
                    human(r.max_duration_seconds),
                    r.tags.join(" "),
                    r.policy
                );
            }
        }
        Answer::Ticket(t) => println!("{}", t.message),
        Answer::History { requests } => {
            if requests.is_empty() {
                println!("No requests from this device yet.");
            }
            for r in requests {
                println!(
                    "{}  {:<9} {:<24} {:<10} {}  {}",
                    r.created_at.date(),
                    format!("{:?}", r.status).to_lowercase(),
                    r.resources.join(","),
                    r.ticket,
                    human(r.duration_seconds),
                    r.denial_reason.as_deref().unwrap_or("")
                );
            }
        }
        Answer::Watching | Answer::Ceremony { .. } => {}
    }
}

fn human(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

fn describe(s: &Status) -> String {
    let who = match &s.signed_in {
        Some(p) => format!("Signed in as {p} on device {}.", s.device),
        None => format!("Not signed in (device {}): run daypass login.", s.device),
    };
    let what = match &s.session {
        SessionView::Idle => "No access requested.".to_string(),
        SessionView::Requesting => "Requesting access…".to_string(),
        SessionView::PendingApproval { request } => {
            format!("Request {request} is waiting for approval.")
        }
        SessionView::Active {
            grant,
            seconds_left,
            suspended: Some(held),
        }
        | SessionView::Expiring {
            grant,
            seconds_left,
            suspended: Some(held),
        } => format!(
            "Access SUSPENDED since {} ({} left, until {}; grant {}): {}. {}",
            held.since,
            human(*seconds_left),
            grant.not_after,
            grant.id,
            held.detail,
            held.fix
        ),
        SessionView::Active {
            grant, seconds_left, ..
        }
        | SessionView::Expiring {
            grant, seconds_left, ..
        } => {
            let resources: Vec<String> = grant
                .resources
                .iter()
                .map(|r| {
                    let ports: Vec<String> = r.ports.iter().map(|p| p.to_string()).collect();
                    format!("{} ({} {}/{})", r.name, r.address, r.protocol, ports.join(","))
                })
                .collect();
            format!(
                "Access active on {}: {} for {}; {} left (until {}). Grant {}.",
                s.interface,
                resources.join(", "),
                grant.ticket,
                human(*seconds_left),
                grant.not_after,
                grant.id
            )
        }
        SessionView::Closed { why } => match why {
            ClosedReason::Expired => "Access ended: the grant expired.".to_string(),
            ClosedReason::Revoked { detail } => format!("Access ended: revoked ({detail})."),
            ClosedReason::Denied { detail } => format!("Request denied: {detail}"),
            ClosedReason::Disconnected => "Disconnected.".to_string(),
            ClosedReason::Failed { detail } => format!("Request failed: {detail}"),
        },
    };
    format!("{who}\n{what}")
}

fn posture(p: &PostureView) -> String {
    let mut out = format!(
        "Posture: {}\n",
        if p.compliant { "COMPLIANT" } else { "NOT COMPLIANT" }
    );
    for c in &p.checks {
        let required = if c.required { "" } else { " (not required)" };
        out.push_str(&format!(
            "  {:<14} {}{required}\n",
            c.outcome.to_uppercase(),
            c.check
        ));
        for e in &c.evidence {
            out.push_str(&format!("                 {e}\n"));
        }
        if let Some(fix) = &c.remediation {
            out.push_str(&format!("                 → {fix}\n"));
        }
    }
    match &p.sent_to_broker {
        Ok(()) => out.push_str("The signed report was sent to the broker (its verdict is shown).\n"),
        Err(why) => out.push_str(&format!(
            "Not sent to the broker ({why}); this device's own reading is shown.\n"
        )),
    }
    out
}
