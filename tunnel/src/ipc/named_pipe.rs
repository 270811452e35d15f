//! The service's IPC on Windows: the named pipe (see `daypass_client::ipc::address`) with the
//! protected DACL of `pipe_access`, its first instance created with `first_pipe_instance` so the
//! service fails to start rather than share a name someone else holds; remote clients rejected;
//! each caller's logon session checked before anything is read.

use super::connection::{self, refused};
use super::pipe_access::{check_session, PipeUsers};
use crate::messages::Command;
use daypass_client::ipc::write;
use daypass_proto::ipc::Event;
use tokio::net::windows::named_pipe::{NamedPipeServer, PipeMode, ServerOptions};
use tokio::sync::{broadcast, mpsc};

#[derive(Debug)]
pub struct PipeListener {
    name: String,
    sddl: String,
    next: NamedPipeServer,
}

fn options(first: bool) -> ServerOptions {
    let mut options = ServerOptions::new();
    options
        .first_pipe_instance(first)
        .reject_remote_clients(true)
        .pipe_mode(PipeMode::Byte);
    options
}

impl PipeListener {
    /// Creates the pipe's first instance.
    pub fn bind(name: &str, users: &PipeUsers) -> std::io::Result<PipeListener> {
        let sddl = users.sddl();
        let next = daypass_winffi::create_pipe_server(&options(true), name, &sddl).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("{e} (is another daypass-tunneld running, or is the pipe name taken?)"),
            )
        })?;
        Ok(PipeListener {
            name: name.to_string(),
            sddl,
            next,
        })
    }

    /// Waits for a caller; a fresh instance waits for the next one at once (also after a failed
    /// connection, whose instance is dropped).
    async fn accept(&mut self) -> std::io::Result<NamedPipeServer> {
        let connected = self.next.connect().await;
        let fresh = daypass_winffi::create_pipe_server(&options(false), &self.name, &self.sddl)?;
        let pipe = std::mem::replace(&mut self.next, fresh);
        connected.map(|()| pipe)
    }
}

/// Accepts callers for ever.
pub async fn serve(
    mut listener: PipeListener,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
) {
    loop {
        match listener.accept().await {
            Ok(mut pipe) => {
                let (commands, events) = (commands.clone(), events.clone());
                tokio::spawn(async move {
                    let pid = daypass_winffi::pipe_client_process(&pipe).ok();
                    let allowed = daypass_winffi::pipe_client_session(&pipe)
                        .map_err(|e| format!("the caller's session cannot be told: {e}"))
                        .and_then(|s| check_session(s, daypass_winffi::console_session()));
                    let result = match allowed {
                        Ok(()) => connection::serve(pipe, commands, events).await,
                        Err(why) => {
                            tracing::warn!(pid = ?pid, "refused an IPC caller");
                            write(&mut pipe, &refused("not-allowed", why)).await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "an IPC connection ended with an error");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not accept an IPC connection");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}
