//! The address a request came from, when the server knows it: the broker serves with connect info;
//! a router driven directly (tests) may carry none.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy)]
pub struct PeerAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let connected = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(PeerAddress(connected.map(|c| c.0.ip())))
    }
}

impl PeerAddress {
    /// Counts an anonymous passkey ceremony against this address's limit.
    pub fn admit_ceremony(self, broker: &daypass_broker_core::Broker) -> Result<(), crate::ApiError> {
        match self.0 {
            Some(address) => Ok(broker.admit_ceremony_from(address)?),
            None => Ok(()),
        }
    }
}
