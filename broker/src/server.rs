//! Running the broker: open its parts, serve the API over TLS, and keep the sweeps going.

use crate::config::StorageSettings;
use crate::tls::TlsIdentity;
use anyhow::{Context, Result};
use daypass_broker_core::clock::{Clock, SystemClock};
use daypass_broker_core::tickets::{connector, TicketSettings};
use daypass_broker_core::{redact_url, Store};
use daypass_broker_core::{Broker, BrokerSettings};
use daypass_broker_web::{metrics_router, router, AppState};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Opens storage, the signing key and the ticket connector.
pub async fn open_broker(
    storage: &StorageSettings,
    settings: BrokerSettings,
    tickets: &TicketSettings,
    clock: Arc<dyn Clock>,
) -> Result<Broker> {
    std::fs::create_dir_all(&storage.data_dir).with_context(|| {
        format!(
            "creating data directory {} (run as root, or pass --data-dir)",
            storage.data_dir.display()
        )
    })?;
    let store = Store::open(&storage.database_url)
        .await
        .with_context(|| format!("opening database {}", redact_url(&storage.database_url)))?;
    let key = crate::keys::load_or_create_signing_key(&storage.signing_key)?;
    let tickets = connector(tickets, &store)?;
    Ok(Broker::new(store, key, clock, tickets, settings))
}

pub async fn open_broker_now(
    storage: &StorageSettings,
    settings: BrokerSettings,
    tickets: &TicketSettings,
) -> Result<Broker> {
    open_broker(storage, settings, tickets, Arc::new(SystemClock)).await
}

/// A listening API server.
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: axum_server::Handle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Serves `broker` on `listen`, over TLS unless `tls` is `None` (loopback only).
    pub async fn start(
        broker: Broker,
        listen: SocketAddr,
        tls: Option<&TlsIdentity>,
        ticket_webhook_secret: Option<SecretString>,
    ) -> Result<RunningServer> {
        let state = AppState {
            broker,
            ticket_webhook_secret: ticket_webhook_secret.map(Arc::new),
        };
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let handle = axum_server::Handle::new();
        let task = match tls {
            Some(id) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&id.cert, &id.key)
                    .await
                    .with_context(|| {
                        format!(
                            "loading TLS certificate {} and key {}",
                            id.cert.display(),
                            id.key.display()
                        )
                    })?;
                tokio::spawn(
                    axum_server::bind_rustls(listen, config)
                        .handle(handle.clone())
                        .serve(app),
                )
            }
            None => {
                anyhow::ensure!(
                    listen.ip().is_loopback(),
                    "plain HTTP sends tokens in clear text, so it is only allowed on a loopback address (behind a TLS proxy); {listen} is not one"
                );
                tokio::spawn(axum_server::bind(listen).handle(handle.clone()).serve(app))
            }
        };
        let addr = match handle.listening().await {
            Some(addr) => addr,
            None => {
                let err = task
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r.map_err(anyhow::Error::from));
                return Err(anyhow::anyhow!(
                    "could not listen on {listen}: {:#}",
                    err.err().unwrap_or_else(|| anyhow::anyhow!("unknown error"))
                ));
            }
        };
        Ok(RunningServer { addr, handle, task })
    }

    pub async fn shutdown(self) -> Result<()> {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        self.task.await??;
        Ok(())
    }

    /// Runs until Ctrl-C or SIGTERM, then drains.
    pub async fn run_until_signal(self) -> Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

/// Sweeps every second; every minute signs an audit checkpoint and forgets spent passkey
/// ceremonies; polls tickets on `ticket_poll`.
pub fn spawn_background(broker: Broker, ticket_poll: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        let mut checkpoint = tokio::time::interval(Duration::from_secs(60));
        let mut poll = tokio::time::interval(ticket_poll);
        loop {
            tokio::select! {
                _ = sweep.tick() => match broker.sweep().await {
                    Ok(out) if !out.is_empty() => tracing::info!(?out, "sweep recorded endings"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed"),
                },
                _ = checkpoint.tick() => {
                    if let Err(e) = broker.checkpoint_audit().await {
                        tracing::warn!(error = %e, "audit checkpoint failed");
                    }
                    if let Err(e) = broker.forget_spent_ceremonies().await {
                        tracing::warn!(error = %e, "forgetting spent passkey ceremonies failed");
                    }
                    if let Err(e) = broker.close_due_reviews().await {
                        tracing::warn!(error = %e, "closing access reviews at their deadline failed");
                    }
                },
                _ = poll.tick() => match broker.poll_tickets().await {
                    Ok(ended) if !ended.is_empty() => tracing::info!(count = ended.len(), "ticket poll ended grants"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "ticket poll failed"),
                },
            }
        }
    })
}

/// Feeds each configured SIEM collector (`[[siem]]`), each in a task of its own, until aborted.
pub fn spawn_siem_feeds(broker: &Broker, sinks: &[daypass_broker_core::SinkConfig]) -> Vec<JoinHandle<()>> {
    sinks
        .iter()
        .map(|sink| {
            let (broker, sink) = (broker.clone(), sink.clone());
            tracing::info!(siem = sink.name(), "feeding the audit log to a SIEM collector");
            tokio::spawn(async move { broker.run_siem_feed(sink).await })
        })
        .collect()
}

/// Serves `GET /metrics` on `listen` (plain HTTP: metrics carry no secrets) until the task is aborted.
pub async fn serve_metrics(broker: Broker, listen: SocketAddr) -> Result<(SocketAddr, JoinHandle<()>)> {
    let handle = axum_server::Handle::new();
    let server = axum_server::bind(listen)
        .handle(handle.clone())
        .serve(metrics_router(broker).into_make_service());
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    match handle.listening().await {
        Some(addr) => Ok((addr, task)),
        None => {
            anyhow::bail!("could not listen for metrics on {listen} (metrics_listen): is the port taken?")
        }
    }
}
