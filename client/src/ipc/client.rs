//! The caller's side of the IPC (the `daypass` CLI; the desktop app uses the same frames).

use super::{read, write, IpcError};
use daypass_proto::ipc::{Answer, Event, FromService, Refusal, ToService};
use std::path::Path;
use tokio::net::UnixStream;

#[derive(Debug)]
pub struct ServiceClient {
    stream: UnixStream,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Daypass tunnel service at {path}: {why}")]
    Connect { path: String, why: String },
    #[error(transparent)]
    Ipc(#[from] IpcError),
    #[error("the tunnel service closed the connection")]
    Closed,
    #[error("{}", .0.message)]
    Refused(Refusal),
}

impl ServiceClient {
    pub async fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| ClientError::Connect {
                path: path.display().to_string(),
                why: match e.kind() {
                    std::io::ErrorKind::PermissionDenied => {
                        "permission denied: ask IT to add you to the group the service allows".into()
                    }
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                        "it is not running (start daypass-tunneld)".into()
                    }
                    _ => e.to_string(),
                },
            })?;
        Ok(ServiceClient { stream })
    }

    /// Sends one command and waits for its reply.
    pub async fn ask(&mut self, command: &ToService) -> Result<Answer, ClientError> {
        write(&mut self.stream, command).await?;
        loop {
            match read::<FromService>(&mut self.stream).await? {
                Some(FromService::Reply { result }) => return result.map_err(ClientError::Refused),
                Some(FromService::Event(_)) => continue,
                None => return Err(ClientError::Closed),
            }
        }
    }

    /// After `ask(&ToService::Watch)`: the next pushed event.
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        loop {
            match read::<FromService>(&mut self.stream).await? {
                Some(FromService::Event(e)) => return Ok(e),
                Some(FromService::Reply { .. }) => continue,
                None => return Err(ClientError::Closed),
            }
        }
    }
}
