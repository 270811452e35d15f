//! Built-in tickets: kept in the broker's own database and managed with `daypass-broker admin ticket`.

use super::{TicketConnector, TicketSystemError};
use crate::domain::ticket::Ticket;
use crate::store::{self, Store};

pub struct BuiltinTickets {
    store: Store,
}

impl BuiltinTickets {
    pub fn new(store: Store) -> Self {
        BuiltinTickets { store }
    }
}

#[async_trait::async_trait]
impl TicketConnector for BuiltinTickets {
    async fn fetch(&self, key: &str) -> Result<Option<Ticket>, TicketSystemError> {
        let mut conn = self.store.read().await?;
        Ok(store::builtin_ticket(&mut conn, key).await?)
    }

    fn name(&self) -> &'static str {
        "builtin"
    }

    fn kept_in_store(&self) -> bool {
        true
    }
}
