//! Asks the broker, once a second, about what the controller watches (the request waiting for
//! approvers, or the grant in force) and hands the answers on as news. A broker that cannot be
//! reached changes nothing: the tunnel still ends at `not_after` by the controller's own clock.

use crate::broker::Broker;
use crate::messages::{News, Watched};
use secrecy::ExposeSecret as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub const EVERY: Duration = Duration::from_secs(1);

pub async fn run<B: Broker>(
    broker: Arc<B>,
    mut watching: watch::Receiver<Watched>,
    news: mpsc::Sender<News>,
) {
    loop {
        let what = watching.borrow_and_update().clone();
        let heard = match what {
            Watched::Nothing => None,
            Watched::Request(token, id) => broker
                .request(token.expose_secret(), id)
                .await
                .map(|v| News::Request(Box::new(v)))
                .map_err(|e| tracing::debug!(request = %id, error = %e, "could not ask about the request"))
                .ok(),
            Watched::Grant(token, id) => broker
                .grant(token.expose_secret(), id)
                .await
                .map(|v| News::Grant(Box::new(v)))
                .map_err(|e| tracing::debug!(grant = %id, error = %e, "could not ask about the grant"))
                .ok(),
        };
        if let Some(n) = heard {
            if news.send(n).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            changed = watching.changed() => if changed.is_err() { return },
        }
    }
}
