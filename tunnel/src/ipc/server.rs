//! The service's side of the IPC: a Unix socket (0660, owned by root and the allowed group), each
//! caller checked by its peer credentials before anything is read, commands handed to the
//! controller one at a time, and events pushed on a connection that asked to watch.

use super::callers::Callers;
use crate::messages::Command;
use daypass_client::ipc::{read, write, IpcError};
use daypass_proto::ipc::{Answer, Event, FromService, Refusal, ToService};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Binds the socket (replacing one a previous run left) with its owner, group and mode.
pub fn bind(path: &Path, callers: &Callers) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    let mode = match callers.group_id() {
        Some(gid) => {
            nix::unistd::chown(path, None, Some(gid)).map_err(std::io::Error::from)?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// Accepts callers for ever.
pub async fn serve(
    listener: UnixListener,
    callers: Callers,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let (callers, commands, events) = (callers.clone(), commands.clone(), events.clone());
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, &callers, commands, events).await {
                        tracing::debug!(error = %e, "an IPC connection ended with an error");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "could not accept an IPC connection"),
        }
    }
}

fn refused(code: &str, message: String) -> FromService {
    FromService::Reply {
        result: Err(Refusal {
            code: code.into(),
            message,
        }),
    }
}

async fn connection(
    mut stream: UnixStream,
    callers: &Callers,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
) -> Result<(), IpcError> {
    let cred = stream.peer_cred()?;
    if let Err(why) = callers.check(cred.uid(), cred.gid()) {
        tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "refused an IPC caller");
        return write(&mut stream, &refused("not-allowed", why)).await;
    }
    loop {
        let command: ToService = match read(&mut stream).await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err(IpcError::Frame(e)) => {
                return write(
                    &mut stream,
                    &refused(
                        "bad-request",
                        format!("{e}: this client and service do not match; update both"),
                    ),
                )
                .await;
            }
            Err(e) => return Err(e),
        };
        if command == ToService::Watch {
            return watch(stream, events.subscribe()).await;
        }
        let (tx, rx) = oneshot::channel();
        if commands.send((command, tx)).await.is_err() {
            return write(
                &mut stream,
                &refused("busy", "the tunnel service is stopping".into()),
            )
            .await;
        }
        let result = rx.await.unwrap_or_else(|_| {
            Err(Refusal {
                code: "busy".into(),
                message: "the tunnel service is stopping".into(),
            })
        });
        write(&mut stream, &FromService::Reply { result }).await?;
    }
}

/// Pushes every event until the caller goes away; a caller too slow to keep up skips to the latest.
async fn watch(mut stream: UnixStream, mut events: broadcast::Receiver<Event>) -> Result<(), IpcError> {
    write(
        &mut stream,
        &FromService::Reply {
            result: Ok(Answer::Watching),
        },
    )
    .await?;
    loop {
        match events.recv().await {
            Ok(e) => write(&mut stream, &FromService::Event(e)).await?,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}
