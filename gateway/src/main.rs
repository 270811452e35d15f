//! `daypass-gateway`: the agent on a gateway host. It brings up the WireGuard interface and the
//! firewall table, enforces the grants it last held (from disk) at once, then follows the broker's
//! stream of signed states, and removes each peer at its grant's end on its own.

use anyhow::{Context, Result};
use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use daypass_gateway::agent::{Agent, EnforceError, Outcome, Pending};
use daypass_gateway::clock;
use daypass_gateway::connects::{self, ConnectWatch};
use daypass_gateway::firewall::{startup_script, Firewall, Nft};
use daypass_gateway::health::{self, Health};
use daypass_gateway::keeper::{Keeper, Taken};
use daypass_gateway::link::{self, LinkStatus, StreamEvent};
use daypass_gateway::metrics::GatewayMetrics;
use daypass_gateway::nft_session::NftSession;
use daypass_gateway::store::StateFile;
use daypass_gateway::wireguard::{default_backend, WireGuard};
use daypass_https::BrokerArgs;
use daypass_proto::api::GatewayConnect;
use secrecy::{ExposeSecret as _, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

/// How often the interface's handshakes are read for connects.
const CONNECT_LOOK: Duration = Duration::from_secs(2);

#[derive(Debug, Parser)]
#[command(
    name = "daypass-gateway",
    version,
    about = "Enforce broker-signed Daypass grants on this gateway"
)]
struct Cli {
    #[command(flatten)]
    broker: BrokerArgs,
    /// This gateway's name at the broker.
    #[arg(long, env = "DAYPASS_GATEWAY_NAME")]
    name: String,
    /// The credential `daypass-broker admin gateway add` printed. Prefer --token-file or the
    /// environment: every local user can read a command line.
    #[arg(
        long,
        env = "DAYPASS_GATEWAY_TOKEN",
        hide_env_values = true,
        required_unless_present = "token_file",
        conflicts_with = "token_file"
    )]
    token: Option<SecretString>,
    /// File holding that credential (readable by the gateway's user only).
    #[arg(long, env = "DAYPASS_GATEWAY_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The WireGuard interface this agent owns.
    #[arg(long, env = "DAYPASS_WG_INTERFACE", default_value = "daypass0")]
    interface: String,
    /// File holding the gateway's WireGuard private key (base64).
    #[arg(long, env = "DAYPASS_WG_PRIVATE_KEY_FILE")]
    private_key_file: PathBuf,
    #[arg(long, env = "DAYPASS_WG_PORT", default_value_t = 51820)]
    listen_port: u16,
    /// The gateway's address in the tunnel network, e.g. 100.96.0.1/16.
    #[arg(long, env = "DAYPASS_TUNNEL_ADDRESS")]
    tunnel_address: ipnet::Ipv4Net,
    /// Source-NAT tunnel traffic to the gateway's address, for resources with no route back to the
    /// tunnel network.
    #[arg(long, env = "DAYPASS_MASQUERADE")]
    masquerade: bool,
    #[arg(long, env = "DAYPASS_STATE_DIR", default_value = "/var/lib/daypass-gateway")]
    state_dir: PathBuf,
    #[arg(long, env = "DAYPASS_HEALTH_LISTEN", default_value = "127.0.0.1:9108")]
    health_listen: SocketAddr,
}

fn main() -> ExitCode {
    daypass_logging::init("info");
    let matches = Cli::command().get_matches();
    if matches.value_source("token") == Some(clap::parser::ValueSource::CommandLine) {
        tracing::warn!(
            "the gateway token was given on the command line, where every local user can read it: \
             use --token-file or DAYPASS_GATEWAY_TOKEN"
        );
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (install iproute2)")?;
    anyhow::ensure!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// The gateway's credential, from its file or as given.
fn token(cli: &Cli) -> Result<SecretString> {
    match (&cli.token, &cli.token_file) {
        (Some(token), _) => Ok(token.clone()),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the gateway token {}", file.display()))?;
            anyhow::ensure!(
                !text.trim().is_empty(),
                "{} is empty: put the token `daypass-broker admin gateway add` printed in it",
                file.display()
            );
            Ok(SecretString::from(text.trim().to_string()))
        }
        (None, None) => anyhow::bail!("give the gateway token with --token-file or DAYPASS_GATEWAY_TOKEN"),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let token = token(&cli)?;
    let broker_key = cli.broker.pinned_key()?;
    let brokers = cli.broker.brokers()?;
    let private_key = SecretString::from(
        std::fs::read_to_string(&cli.private_key_file)
            .with_context(|| {
                format!(
                    "reading the WireGuard private key {}",
                    cli.private_key_file.display()
                )
            })?
            .trim()
            .to_string(),
    );
    let client = cli.broker.client()?;

    // The interface (the kernel module's, or wireguard-go started by wireguard-control) and its
    // key, keeping its peers; the table with empty sets. Then what the grants held on disk still
    // allow: peers no grant asks for are removed, the others keep their sessions.
    let backend = default_backend();
    let wg = WireGuard::new(&cli.interface, backend)?;
    wg.configure(private_key.expose_secret(), cli.listen_port)
        .context("bringing up the WireGuard interface")?;
    ip(&[
        "addr",
        "replace",
        &cli.tunnel_address.to_string(),
        "dev",
        &cli.interface,
    ])?;
    ip(&["link", "set", &cli.interface, "up"])?;
    Nft::here()
        .apply(&startup_script(&cli.interface, cli.masquerade))
        .context("setting up the firewall table")?;
    // Changes go through one long-lived `nft -i` (no ruleset read-back per change).
    let nft = NftSession::here();
    tracing::info!(interface = %cli.interface, backend = ?backend, "gateway interface and firewall ready");

    let store = StateFile::in_dir(&cli.state_dir);
    let present = wg.peers().context("reading the interface's peers")?;
    let mut agent = Agent::new(&cli.name, broker_key, present);
    let mut peers = wg;
    let health: health::Shared = Arc::new(Mutex::new(Health {
        gateway: cli.name.clone(),
        link: LinkStatus::Connecting,
        revision: None,
        active_grants: 0,
        enforce_error: None,
    }));
    let metrics = Arc::new(GatewayMetrics::default());
    let report = |agent: &Agent, result: Result<Outcome, String>, took: std::time::Duration| {
        metrics.reconciled(took, result.is_ok(), agent.applied(clock::now()));
        let mut h = health.lock().unwrap_or_else(|p| p.into_inner());
        h.revision = agent.revision();
        h.active_grants = agent.active(clock::now());
        match result {
            Ok(o) => {
                h.enforce_error = None;
                for r in &o.refused {
                    tracing::warn!(refused = %r, "grant not enforced");
                }
                if !o.changes.is_empty() {
                    tracing::info!(
                        peers_added = o.changes.add_peers.len(), peers_removed = o.changes.remove_peers.len(),
                        entries_added = o.changes.add_allows.len(), entries_removed = o.changes.remove_allows.len(),
                        revision = ?agent.revision(), "enforced"
                    );
                }
                o.next_change
            }
            Err(e) => {
                tracing::error!(error = %e, "could not enforce the grants; retrying");
                h.enforce_error = Some(e);
                Some(clock::now() + time::Duration::SECOND)
            }
        }
    };
    // Reconciles when a grant starts or ends (or to retry a failure); wakes at least every second
    // to read the wall clock, so a clock jump is noticed, but does no work until something is due.
    let mut next = match store.load() {
        Ok(Some(kept)) => {
            let started = std::time::Instant::now();
            let r = agent
                .restore(&kept, clock::now(), &nft, &mut peers)
                .map_err(|e| e.to_string());
            report(&agent, r, started.elapsed())
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "starting without held grants");
            None
        }
    };

    let mut keeper = Keeper::start(store);

    let listener = tokio::net::TcpListener::bind(cli.health_listen)
        .await
        .with_context(|| format!("listening for health checks on {}", cli.health_listen))?;
    let app = health::router(health.clone(), metrics.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // Connections seen on the interface go to the broker's audit log, beside the enforcing loop.
    let (connect_tx, connect_rx) = mpsc::channel(1024);
    tokio::spawn(connects::report(
        client.clone(),
        brokers.clone(),
        token.clone(),
        connect_rx,
    ));
    let mut watch = ConnectWatch::default();
    let mut look = tokio::time::interval(CONNECT_LOOK);

    let (event_tx, mut event_rx) = mpsc::channel(link::EVENTS_QUEUED);
    let (status_tx, mut status_rx) = watch::channel(LinkStatus::Connecting);
    let resync = Arc::new(Notify::new());
    let path = "/api/v1/gateway/stream?deltas=true".to_string();
    tokio::spawn(link::run(
        client,
        brokers,
        path,
        token,
        event_tx,
        status_tx,
        resync.clone(),
    ));

    loop {
        let now = clock::now();
        let wait = next
            .map(|t| (t - now).clamp(time::Duration::ZERO, time::Duration::SECOND))
            .unwrap_or(time::Duration::SECOND);
        tokio::select! {
            event = event_rx.recv() => {
                let Some(event) = event else { anyhow::bail!("the broker link stopped") };
                // Everything that has arrived is taken in order and enforced once (a burst of
                // revisions costs one kernel update), then kept by the keeper's own thread.
                let started = std::time::Instant::now();
                let (mut taken, mut pending) = (Taken::default(), Pending::default());
                for event in link::arrived(event, &mut event_rx) {
                    match agent.take(&event, clock::now(), &mut pending) {
                        Err(EnforceError::DeltaRefused(why)) => {
                            metrics.state_refused();
                            tracing::warn!(%why, "a delta from the broker did not apply; asking for the whole state");
                            resync.notify_one();
                        }
                        Err(why) => {
                            metrics.state_refused();
                            tracing::warn!(%why, "a state from the broker was refused; enforcing what is held");
                        }
                        Ok(()) => match event {
                            StreamEvent::State(_) => taken.whole(),
                            StreamEvent::Delta(d) => taken.delta(d),
                        },
                    }
                }
                if taken.any() {
                    let r = agent.enforce_pending(pending, clock::now(), &nft, &mut peers);
                    next = report(&agent, r.map_err(|e| e.to_string()), started.elapsed());
                }
                // Kept as it was on a refusal: the files hold the newest state accepted, never an older one.
                keeper.keep(taken, &agent);
            }
            _ = look.tick() => {
                match peers.handshakes() {
                    Ok(handshakes) => {
                        let now = clock::now();
                        for started in watch.observe(&handshakes) {
                            let Some(at) = started.at else { continue };
                            for grant in agent.grants_of_peer(&started.peer, now) {
                                let _ = connect_tx.try_send(GatewayConnect {
                                    grant,
                                    at: time::OffsetDateTime::from(at),
                                    endpoint: started.endpoint.map(|ip| ip.to_string()),
                                });
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read the peers' handshakes"),
                }
            }
            changed = status_rx.changed() => {
                if changed.is_ok() {
                    let s = status_rx.borrow().clone();
                    metrics.link(&s);
                    health.lock().unwrap_or_else(|p| p.into_inner()).link = s;
                }
            }
            () = tokio::time::sleep(Duration::try_from(wait).unwrap_or(Duration::from_secs(1))) => {
                let now = clock::now();
                if next.is_some_and(|due| now >= due) {
                    let started = std::time::Instant::now();
                    let r = agent.tick(now, &nft, &mut peers).map_err(|e| e.to_string());
                    next = report(&agent, r, started.elapsed());
                }
            }
        }
    }
}
