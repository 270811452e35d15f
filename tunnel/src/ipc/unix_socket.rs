//! The service's IPC on Linux and macOS: a Unix socket (0660, owned by root and the allowed group,
//! in a directory of the same owners), each caller checked by the peer credentials the kernel
//! gives before anything is read.

use super::callers::Callers;
use super::connection::{self, refused};
use crate::messages::Command;
use daypass_client::ipc::write;
use daypass_proto::ipc::Event;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use tokio::net::UnixListener;
use tokio::sync::{broadcast, mpsc};

/// Binds the socket (replacing one a previous run left) with its owner, group and mode. A
/// directory this creates for it is root's and the group's, 0750 (0700 without a group).
pub fn bind(path: &Path, callers: &Callers) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.exists()) {
        std::fs::create_dir_all(dir)?;
        restrict(dir, callers, 0o750)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    restrict(path, callers, 0o660)?;
    Ok(listener)
}

/// Gives `path` to the allowed group with `mode`, or keeps it the owner's alone without a group.
fn restrict(path: &Path, callers: &Callers, mode: u32) -> std::io::Result<()> {
    let mode = match callers.group_id() {
        Some(gid) => {
            nix::unistd::chown(path, None, Some(gid)).map_err(std::io::Error::from)?;
            mode
        }
        None => mode & 0o700,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
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
            Ok((mut stream, _)) => {
                let (callers, commands, events) = (callers.clone(), commands.clone(), events.clone());
                tokio::spawn(async move {
                    let result = match stream.peer_cred() {
                        Ok(cred) => match callers.check(cred.uid(), cred.gid()) {
                            Ok(()) => connection::serve(stream, commands, events).await,
                            Err(why) => {
                                tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "refused an IPC caller");
                                write(&mut stream, &refused("not-allowed", why)).await
                            }
                        },
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "an IPC connection ended with an error");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "could not accept an IPC connection"),
        }
    }
}
