//! The caller's side of the IPC (the `daypass` CLI and the desktop app): connect to the service's
//! address (see `address`), send one command at a time, follow pushed events.

use super::{read, write, IpcError};
use daypass_proto::ipc::{Answer, Event, FromService, Refusal, ToService};
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the service: a Unix socket, a named pipe, or (in tests) an in-memory pipe.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct ServiceClient {
    stream: Box<dyn Stream>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceClient")
    }
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
    /// Connects to the service at `address` (a socket path; on Windows a pipe name, whose server
    /// is checked to be the Daypass service before this returns).
    pub async fn connect(address: &Path) -> Result<Self, ClientError> {
        let refused = |why: String| ClientError::Connect {
            path: address.display().to_string(),
            why,
        };
        let stream = open(address).await.map_err(|e| refused(reason(&e)))?;
        Ok(ServiceClient { stream })
    }

    /// A client over an already open stream.
    pub fn over(stream: impl Stream + 'static) -> Self {
        ServiceClient {
            stream: Box::new(stream),
        }
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

/// What to tell the person when the service cannot be reached.
fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied if cfg!(windows) => {
            "permission denied: ask IT to add you to the Daypass Users group".into()
        }
        std::io::ErrorKind::PermissionDenied => {
            "permission denied: ask IT to add you to the group the service allows".into()
        }
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused if cfg!(windows) => {
            "it is not running (start the Daypass Tunnel service, or reinstall Daypass)".into()
        }
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            "it is not running (start daypass-tunneld)".into()
        }
        _ => e.to_string(),
    }
}

#[cfg(unix)]
async fn open(address: &Path) -> std::io::Result<Box<dyn Stream>> {
    Ok(Box::new(tokio::net::UnixStream::connect(address).await?))
}

/// Opens the pipe (waiting a little while every instance is busy), then checks its server.
#[cfg(windows)]
async fn open(address: &Path) -> std::io::Result<Box<dyn Stream>> {
    use tokio::net::windows::named_pipe::ClientOptions;
    const PIPE_BUSY: i32 = 231;
    let mut attempts = 0;
    let pipe = loop {
        match ClientOptions::new().open(address) {
            Ok(pipe) => break pipe,
            Err(e) if e.raw_os_error() == Some(PIPE_BUSY) && attempts < 40 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let server = daypass_winffi::pipe_server_process(&pipe)?;
    super::pipe_server::check(server, service_process()?).map_err(std::io::Error::other)?;
    Ok(Box::new(pipe))
}

/// The process id of the running Daypass service, as the service manager reports it.
#[cfg(windows)]
fn service_process() -> std::io::Result<Option<u32>> {
    use windows_service::service::ServiceAccess;
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(std::io::Error::other)?;
    let service = manager
        .open_service(super::address::WINDOWS_SERVICE, ServiceAccess::QUERY_STATUS)
        .map_err(|e| std::io::Error::other(format!("the Daypass service is not installed ({e})")))?;
    Ok(service.query_status().map_err(std::io::Error::other)?.process_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service's side of one exchange over an in-memory pipe: answers each command with the
    /// given reply, pushing an event before it.
    async fn serve_once(mut end: tokio::io::DuplexStream, event: Event, reply: Answer) {
        let command: ToService = read(&mut end).await.unwrap().unwrap();
        assert_eq!(command, ToService::Status);
        write(&mut end, &FromService::Event(event)).await.unwrap();
        write(&mut end, &FromService::Reply { result: Ok(reply) })
            .await
            .unwrap();
        let refused = FromService::Reply {
            result: Err(Refusal {
                code: "not-allowed".into(),
                message: "no".into(),
            }),
        };
        let _: Option<ToService> = read(&mut end).await.unwrap();
        write(&mut end, &refused).await.unwrap();
    }

    #[tokio::test]
    async fn replies_skip_pushed_events_and_refusals_are_errors() {
        let (ours, theirs) = tokio::io::duplex(4096);
        let status = Answer::SignedIn { person: "ana".into() };
        let warning = Event::Warning { seconds_left: 60 };
        let server = tokio::spawn(serve_once(theirs, warning, status.clone()));
        let mut client = ServiceClient::over(ours);
        assert_eq!(client.ask(&ToService::Status).await.unwrap(), status);
        match client.ask(&ToService::Down).await {
            Err(ClientError::Refused(r)) => assert_eq!(r.code, "not-allowed"),
            other => panic!("a refusal was not an error: {other:?}"),
        }
        server.await.unwrap();
        assert!(matches!(
            client.ask(&ToService::Status).await,
            Err(ClientError::Closed | ClientError::Ipc(_))
        ));
    }

    #[test]
    fn an_unreachable_service_says_what_to_do() {
        let gone = reason(&std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(gone.contains("not running"), "{gone}");
        let denied = reason(&std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(denied.contains("ask IT"), "{denied}");
    }
}
