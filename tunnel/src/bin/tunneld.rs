//! `daypass-tunneld`: the privileged tunnel service on the contractor's machine. It owns the device's
//! keys, serves the app and the `daypass` CLI on a local socket, and brings the split tunnel up for
//! a broker-signed grant and down at its `not_after` (or at revocation, or when asked).

use anyhow::{Context, Result};
use clap::Parser;
use daypass_https::BrokerArgs;
use daypass_posture::policy::Policy;
use daypass_proto::duration::parse_duration;
use daypass_tunnel::broker_http::HttpBroker;
use daypass_tunnel::controller::{Controller, Settings};
use daypass_tunnel::device::DeviceKeys;
use daypass_tunnel::interface::ClientInterface;
use daypass_tunnel::ipc::callers::Callers;
use daypass_tunnel::ipc::server;
use daypass_tunnel::posture_check::PostureSource;
use daypass_tunnel::secrets::SecretStore;
use daypass_tunnel::{clock, poller, service};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Debug, Parser)]
#[command(
    name = "daypass-tunneld",
    version,
    about = "The Daypass tunnel service: brings granted access up and takes it down at expiry"
)]
struct Cli {
    #[command(flatten)]
    broker: BrokerArgs,
    /// This machine's device id at the broker.
    #[arg(long, env = "DAYPASS_DEVICE")]
    device: String,
    /// The WireGuard interface the service owns (on macOS: the name of its utun's record).
    #[arg(long, env = "DAYPASS_INTERFACE", default_value = "daypass0")]
    interface: String,
    /// The local socket the app and the CLI talk to.
    #[arg(long, env = "DAYPASS_SOCKET", default_value = "/run/daypass/tunneld.sock")]
    socket: PathBuf,
    /// Besides root, members of this group may use the service (e.g. `daypass`).
    #[arg(long, env = "DAYPASS_GROUP")]
    group: Option<String>,
    /// Where the session and (on Linux) the device's secrets are kept, readable by root only.
    #[arg(long, env = "DAYPASS_STATE_DIR", default_value = "/var/lib/daypass")]
    state_dir: PathBuf,
    /// How long before expiry the contractor is warned.
    #[arg(long, env = "DAYPASS_WARNING", default_value = "10m")]
    warning: String,
    /// The posture policy (JSON) this device judges itself by when the broker's verdict is not at hand.
    #[arg(long, env = "DAYPASS_POSTURE_POLICY")]
    posture_policy: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DAYPASS_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn settings(cli: &Cli) -> Result<Settings> {
    let broker_key = cli.broker.pinned_key()?;
    let warning = parse_duration(&cli.warning).map_err(|e| anyhow::anyhow!("--warning: {e}"))?;
    let posture_policy = match &cli.posture_policy {
        Some(path) => serde_json::from_slice::<Policy>(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a posture policy", path.display()))?,
        None => Policy::default(),
    };
    anyhow::ensure!(
        !cli.device.trim().is_empty(),
        "--device is empty: give the device id the broker knows this machine by"
    );
    Ok(Settings {
        device: cli.device.clone(),
        interface: cli.interface.clone(),
        broker_url: cli.broker.url.clone(),
        broker_key,
        state_dir: cli.state_dir.clone(),
        warning: time::Duration::seconds(warning),
        posture_policy,
    })
}

async fn run(cli: Cli) -> Result<()> {
    let settings = settings(&cli)?;
    let callers = Callers::root_and_group(cli.group.as_deref()).map_err(anyhow::Error::msg)?;
    let secrets = SecretStore::for_this_os(&cli.state_dir);
    let keys = DeviceKeys::load_or_create(&secrets).context("the device keys")?;
    let broker = Arc::new(HttpBroker::new(
        cli.broker.client()?,
        &cli.broker.url,
        keys.report_key().clone(),
    ));
    let tunnel = ClientInterface::new(&cli.interface, keys.wireguard_private())?;
    let posture = Arc::new(PostureSource::this_machine(
        cli.state_dir.join("posture-commands.json"),
    ));
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
    let listener = server::bind(&cli.socket, &callers)
        .with_context(|| format!("listening on {}", cli.socket.display()))?;
    let (commands_tx, commands_rx) = mpsc::channel(16);
    tokio::spawn(server::serve(listener, callers, commands_tx, controller.events()));
    tokio::spawn(poller::run(broker, watching, news_tx));
    tracing::info!(device = %cli.device, socket = %cli.socket.display(), "daypass-tunneld ready");
    service::run(controller, commands_rx, news_rx, stopped()).await;
    let _ = std::fs::remove_file(&cli.socket);
    tracing::info!("daypass-tunneld stopped");
    Ok(())
}

/// Completes at SIGTERM or SIGINT.
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
