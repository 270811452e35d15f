//! One caller's connection, whatever carries it (a Unix socket, a named pipe): commands handed to
//! the controller one at a time and answered in order, or, once the caller asks to watch, every
//! event pushed until it goes away. The transport checks the caller before handing it here.

use crate::messages::Command;
use daypass_client::ipc::{read, write, IpcError};
use daypass_proto::ipc::{Answer, Event, FromService, Refusal, ToService};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, mpsc, oneshot};

pub fn refused(code: &str, message: String) -> FromService {
    FromService::Reply {
        result: Err(Refusal {
            code: code.into(),
            message,
        }),
    }
}

/// Serves an allowed caller until it closes the connection.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
) -> Result<(), IpcError> {
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
async fn watch<S: AsyncWrite + Unpin>(
    mut stream: S,
    mut events: broadcast::Receiver<Event>,
) -> Result<(), IpcError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    /// A controller that answers every command with `SignedIn { person: "ana" }`.
    fn controller() -> mpsc::Sender<Command> {
        let (tx, mut rx) = mpsc::channel::<Command>(4);
        tokio::spawn(async move {
            while let Some((_, reply)) = rx.recv().await {
                let _ = reply.send(Ok(Answer::SignedIn { person: "ana".into() }));
            }
        });
        tx
    }

    #[tokio::test]
    async fn commands_are_answered_in_order_and_a_watch_pushes_events() {
        let (mut app, service) = tokio::io::duplex(4096);
        let (events, _) = broadcast::channel(4);
        let served = tokio::spawn(serve(service, controller(), events.clone()));
        write(&mut app, &ToService::Status).await.unwrap();
        let reply: FromService = read(&mut app).await.unwrap().unwrap();
        assert_eq!(
            reply,
            FromService::Reply {
                result: Ok(Answer::SignedIn { person: "ana".into() })
            }
        );
        write(&mut app, &ToService::Watch).await.unwrap();
        let watching: FromService = read(&mut app).await.unwrap().unwrap();
        assert_eq!(
            watching,
            FromService::Reply {
                result: Ok(Answer::Watching)
            }
        );
        events.send(Event::Warning { seconds_left: 30 }).unwrap();
        let pushed: FromService = read(&mut app).await.unwrap().unwrap();
        assert_eq!(pushed, FromService::Event(Event::Warning { seconds_left: 30 }));
        // The watch goes on as long as the service has events to tell.
        served.abort();
    }

    #[tokio::test]
    async fn a_frame_that_is_not_a_command_is_refused_and_ends_the_connection() {
        let (mut app, service) = tokio::io::duplex(4096);
        let (events, _) = broadcast::channel(4);
        let served = tokio::spawn(serve(service, controller(), events));
        app.write_all(&5u32.to_be_bytes()).await.unwrap();
        app.write_all(b"hello").await.unwrap();
        let reply: FromService = read(&mut app).await.unwrap().unwrap();
        match reply {
            FromService::Reply { result: Err(r) } => assert_eq!(r.code, "bad-request"),
            other => panic!("not refused: {other:?}"),
        }
        served.await.unwrap().unwrap();
        assert!(read::<FromService>(&mut app).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_stopping_service_says_so() {
        let (mut app, service) = tokio::io::duplex(4096);
        let (events, _) = broadcast::channel(4);
        let (commands, closed) = mpsc::channel::<Command>(1);
        drop(closed);
        let served = tokio::spawn(serve(service, commands, events));
        write(&mut app, &ToService::Status).await.unwrap();
        match read::<FromService>(&mut app).await.unwrap().unwrap() {
            FromService::Reply { result: Err(r) } => assert_eq!(r.code, "busy"),
            other => panic!("not refused: {other:?}"),
        }
        served.await.unwrap().unwrap();
    }
}
