//! What passes between the tunnel service's tasks: the controller, its errands (commands that run
//! beside it), the poller that watches the broker, and the IPC server.

use daypass_proto::api::{AccessRequestView, GrantView};
use daypass_proto::ipc::{Answer, Refusal, ToService};
use secrecy::SecretString;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::oneshot;
use uuid::Uuid;

/// What the poller should ask the broker about, with the token to ask with.
#[derive(Debug, Clone, Default)]
pub enum Watched {
    #[default]
    Nothing,
    Request(SecretString, Uuid),
    Grant(SecretString, Uuid),
}

/// What the broker said about the watched request or grant, or what an errand changed.
#[derive(Debug, Clone)]
pub enum News {
    Request(Box<AccessRequestView>),
    Grant(Box<GrantView>),
    SignedIn { person: String },
}

pub type Reply = Result<Answer, Refusal>;

/// A command on its way to the controller, with where its reply goes.
pub type Command = (ToService, oneshot::Sender<Reply>);

/// A command that runs beside the controller (see `errands`).
pub type Errand = Pin<Box<dyn Future<Output = Reply> + Send>>;
