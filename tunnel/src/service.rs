//! The tunnel service's loop: commands from the IPC server, news from the poller and a tick five
//! times a second, each handed to the controller with the wall clock read at that moment (so a
//! machine waking from sleep past `not_after` closes on its first tick). Errands run beside it.

use crate::broker::Broker;
use crate::controller::{Command, Controller, News};
use crate::interface::Tunnel;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

pub const TICK: Duration = Duration::from_millis(200);

/// Runs until `shutdown` completes, then takes the interface down.
pub async fn run<B: Broker, T: Tunnel>(
    mut controller: Controller<B, T>,
    mut commands: mpsc::Receiver<Command>,
    mut news: mpsc::Receiver<News>,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            Some((command, reply)) = commands.recv() => match controller.errand(command) {
                Ok(errand) => {
                    tokio::spawn(async move { let _ = reply.send(errand.await); });
                }
                Err(command) => {
                    let answer = controller.command(command, crate::clock::now()).await;
                    let _ = reply.send(answer);
                }
            },
            Some(n) = news.recv() => controller.news(n, crate::clock::now()).await,
            _ = ticker.tick() => controller.tick(crate::clock::now()),
            _ = &mut shutdown => {
                controller.shut_down();
                return;
            }
        }
    }
}
