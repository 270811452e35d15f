//! `daypass-tunneld`: the privileged tunnel service on the contractor's machine. It owns the device's
//! keys, serves the app and the `daypass` CLI on a local socket (a named pipe on Windows), and brings
//! the split tunnel up for a broker-signed grant and down at its `not_after` (or at revocation, or
//! when asked). Linux and macOS run it under systemd or launchd; on Windows it registers and runs
//! itself as a service (`service install|uninstall|run`, in `windows`).

#[cfg(windows)]
mod windows;

use anyhow::{Context, Result};
use clap::Parser;
use daypass_https::BrokerArgs;
use daypass_posture::policy::Policy;
use daypass_proto::duration::parse_duration;
use daypass_tunnel::broker_http::HttpBroker;
use daypass_tunnel::controller::{Controller, Settings};
use daypass_tunnel::device::DeviceKeys;
use daypass_tunnel::interface::ClientInterface;
use daypass_tunnel::posture_check::PostureSource;
use daypass_tunnel::secrets::SecretStore;
use daypass_tunnel::{clock, poller, service};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;

#[cfg(target_os = "linux")]
const DEFAULT_STATE_DIR: &str = "/var/lib/daypass";
#[cfg(target_os = "macos")]
const DEFAULT_STATE_DIR: &str = "/Library/Application Support/Daypass";
#[cfg(windows)]
const DEFAULT_STATE_DIR: &str = r"C:\ProgramData\Daypass";
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
const DEFAULT_STATE_DIR: &str = "/var/lib/daypass";

#[derive(Debug, Parser)]
#[command(
    name = "daypass-tunneld",
    version,
    about = "The Daypass tunnel service: brings granted access up and takes it down at expiry",
    after_help = if cfg!(windows) {
        "On Windows: daypass-tunneld service install [OPTIONS] registers it as the Daypass Tunnel service; service uninstall removes it."
    } else {
        ""
    }
)]
pub struct Options {
    #[command(flatten)]
    broker: BrokerArgs,
    /// This machine's device id at the broker.
    #[arg(long, env = "DAYPASS_DEVICE")]
    device: String,
    /// The WireGuard interface the service owns (on macOS: the name of its utun's record; on
    /// Windows: the adapter's name).
    #[arg(long, env = "DAYPASS_INTERFACE", default_value = "daypass0")]
    interface: String,
    /// Where the app and the CLI reach the service: a Unix socket, or on Windows a named pipe.
    #[arg(long, env = "DAYPASS_SOCKET", default_value = daypass_client::ipc::address::DEFAULT_ADDRESS)]
    socket: PathBuf,
    /// Besides root, members of this group may use the service (e.g. `daypass`). On Windows: the
    /// SID of the group allowed besides SYSTEM and Administrators (without it, interactive users).
    #[arg(long, env = "DAYPASS_GROUP")]
    group: Option<String>,
    /// Where the session and (on Linux) the device's secrets are kept, readable by root only.
    #[arg(long, env = "DAYPASS_STATE_DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// The wireguard-go to run (Linux, macOS): an absolute path where the service's PATH may not
    /// have it (launchd's does not have Homebrew's).
    #[cfg(unix)]
    #[arg(long, env = "DAYPASS_WIREGUARD_GO", default_value = "wireguard-go")]
    wireguard_go: PathBuf,
    /// How long before expiry the contractor is warned.
    #[arg(long, env = "DAYPASS_WARNING", default_value = "10m")]
    warning: String,
    /// The posture policy (JSON) this device judges itself by when the broker's verdict is not at hand.
    #[arg(long, env = "DAYPASS_POSTURE_POLICY")]
    posture_policy: Option<PathBuf>,
    /// Report the facts of a machine captured with `daypass-posture capture` instead of this one's
    /// (tests and demos; the broker judges whatever a device reports, so this grants nothing).
    #[arg(long, env = "DAYPASS_POSTURE_FIXTURE")]
    posture_fixture: Option<PathBuf>,
    /// Check these options (broker key, durations, policy file) and exit, starting nothing:
    /// for installers before they load the service.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    daypass_logging::init("info");
    #[cfg(windows)]
    if std::env::args_os().nth(1).is_some_and(|a| a == "service") {
        return windows::main();
    }
    let options = Options::parse();
    if options.check {
        return exit(settings(&options).map(|_| println!("the options are usable")));
    }
    exit(run_until(options, stopped()))
}

/// The process's exit status for the service's result (errors printed with their causes).
fn exit(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the service on a runtime of its own until `shutdown` completes.
fn run_until(options: Options, shutdown: impl Future<Output = ()>) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(run(options, shutdown))
}

fn settings(options: &Options) -> Result<Settings> {
    let broker_key = options.broker.pinned_key()?;
    let warning = parse_duration(&options.warning).map_err(|e| anyhow::anyhow!("--warning: {e}"))?;
    let posture_policy = match &options.posture_policy {
        Some(path) => serde_json::from_slice::<Policy>(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a posture policy", path.display()))?,
        None => Policy::default(),
    };
    anyhow::ensure!(
        !options.device.trim().is_empty(),
        "--device is empty: give the device id the broker knows this machine by"
    );
    Ok(Settings {
        device: options.device.clone(),
        interface: options.interface.clone(),
        broker_url: options.broker.url.clone(),
        broker_key,
        state_dir: options.state_dir.clone(),
        warning: time::Duration::seconds(warning),
        posture_policy,
    })
}

async fn run(options: Options, shutdown: impl Future<Output = ()>) -> Result<()> {
    let settings = settings(&options)?;
    let posture_cache = options.state_dir.join("posture-commands.json");
    #[cfg(windows)]
    daypass_tunnel::state_dir::lock(&options.state_dir, &posture_cache)?;
    let listener = Listener::bind(&options)?;
    let secrets = SecretStore::for_this_os(&options.state_dir);
    let keys = DeviceKeys::load_or_create(&secrets).context("the device keys")?;
    let broker = Arc::new(HttpBroker::new(
        options.broker.client()?,
        options.broker.brokers()?,
        keys.report_key().clone(),
    ));
    let tunnel = ClientInterface::new(&options.interface, keys.wireguard_private())?;
    #[cfg(unix)]
    let tunnel = tunnel.with_wireguard_go(options.wireguard_go.clone());
    let posture = Arc::new(match &options.posture_fixture {
        Some(dir) => {
            tracing::warn!(fixture = %dir.display(), "posture reports the captured machine's facts, not this one's");
            PostureSource::fixture(dir).map_err(anyhow::Error::msg)?
        }
        None => PostureSource::this_machine(posture_cache),
    });
    let (news_tx, news_rx) = mpsc::channel(16);
    let (controller, watching) = Controller::start(
        settings,
        broker.clone(),
        tunnel,
        secrets,
        keys,
        posture,
        news_tx.clone(),
        clock::now(),
    );
    let (commands_tx, commands_rx) = mpsc::channel(16);
    tokio::spawn(listener.serve(commands_tx, controller.events()));
    tokio::spawn(poller::run(broker, watching, news_tx));
    tokio::spawn(controller.rechecker());
    tracing::info!(device = %options.device, socket = %options.socket.display(), "daypass-tunneld ready");
    service::run(controller, commands_rx, news_rx, shutdown).await;
    #[cfg(unix)]
    let _ = std::fs::remove_file(&options.socket);
    tracing::info!("daypass-tunneld stopped");
    Ok(())
}

/// The IPC endpoint: a Unix socket with its allowed callers, or a Windows named pipe.
enum Listener {
    #[cfg(unix)]
    Socket(tokio::net::UnixListener, daypass_tunnel::ipc::callers::Callers),
    #[cfg(windows)]
    Pipe(daypass_tunnel::ipc::named_pipe::PipeListener),
}

impl Listener {
    #[cfg(unix)]
    fn bind(options: &Options) -> Result<Listener> {
        use daypass_tunnel::ipc::{callers::Callers, unix_socket};
        let callers = Callers::root_and_group(options.group.as_deref()).map_err(anyhow::Error::msg)?;
        let socket = unix_socket::bind(&options.socket, &callers)
            .with_context(|| format!("listening on {}", options.socket.display()))?;
        Ok(Listener::Socket(socket, callers))
    }

    #[cfg(windows)]
    fn bind(options: &Options) -> Result<Listener> {
        use daypass_tunnel::ipc::{named_pipe::PipeListener, pipe_access::PipeUsers};
        let users = PipeUsers::from_option(options.group.as_deref()).map_err(anyhow::Error::msg)?;
        let name = options.socket.to_string_lossy();
        let pipe = PipeListener::bind(&name, &users).with_context(|| format!("listening on {name}"))?;
        Ok(Listener::Pipe(pipe))
    }

    /// Accepts callers for ever.
    async fn serve(
        self,
        commands: mpsc::Sender<daypass_tunnel::messages::Command>,
        events: tokio::sync::broadcast::Sender<daypass_proto::ipc::Event>,
    ) {
        match self {
            #[cfg(unix)]
            Listener::Socket(socket, callers) => {
                daypass_tunnel::ipc::unix_socket::serve(socket, callers, commands, events).await
            }
            #[cfg(windows)]
            Listener::Pipe(pipe) => daypass_tunnel::ipc::named_pipe::serve(pipe, commands, events).await,
        }
    }
}

/// Completes at SIGTERM or SIGINT.
#[cfg(unix)]
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Completes at Ctrl+C (run in a console; the service stops through the service manager).
#[cfg(windows)]
async fn stopped() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
