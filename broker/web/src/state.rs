//! What every handler of the broker's HTTP side shares: the broker service and the web's own settings.

use daypass_broker_core::Broker;
use secrecy::SecretString;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub broker: Broker,
    /// Shared secret a ticket system's webhook must present; without one the webhook is off.
    pub ticket_webhook_secret: Option<Arc<SecretString>>,
}
