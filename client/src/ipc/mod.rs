//! The local IPC between the app (or the `daypass` CLI) and the tunnel service: frames as
//! `daypass_proto::ipc` defines them over any byte stream (read and written here, for both sides),
//! and the caller's side (`client`), which reaches the service at its `address`: a Unix socket on
//! Linux and macOS, a named pipe on Windows whose server must be the Daypass service (`pipe_server`).

pub mod address;
pub mod client;
#[cfg(any(windows, test))]
pub mod pipe_server;

use daypass_proto::ipc::{body_len, decode, encode, FrameError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The next message, or `None` when the other side closed between messages.
pub async fn read<T: DeserializeOwned>(r: &mut (impl AsyncRead + Unpin)) -> Result<Option<T>, IpcError> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let mut body = vec![0u8; body_len(header)?];
    r.read_exact(&mut body).await?;
    Ok(Some(decode(&body)?))
}

pub async fn write<T: Serialize>(w: &mut (impl AsyncWrite + Unpin), message: &T) -> Result<(), IpcError> {
    w.write_all(&encode(message)?).await?;
    w.flush().await?;
    Ok(())
}
