//! The grant: what the broker signs, the gateway enforces and the client brings up.

use crate::resource::{PortRange, Protocol};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// One resource opened by a grant: exactly these (address, protocol, ports) tuples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantedResource {
    pub name: String,
    /// IPv4/IPv6 address or CIDR, e.g. `10.20.0.5/32`.
    pub address: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
}

impl GrantedResource {
    /// A resource reached over TCP on single ports.
    pub fn tcp(name: &str, address: &str, ports: &[u16]) -> Self {
        GrantedResource {
            name: name.into(),
            address: address.into(),
            protocol: Protocol::Tcp,
            ports: ports.iter().map(|p| PortRange::single(*p)).collect(),
        }
    }
}

/// The device a grant is bound to, as the gateway needs it to add a WireGuard peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantDevice {
    pub id: String,
    /// WireGuard public key, base64.
    pub wireguard_public_key: String,
    /// The device's address inside the tunnel, e.g. `100.96.0.2/32`.
    pub tunnel_address: String,
}

/// A time-boxed permission for one person's device to reach named resources, bound to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    pub id: Uuid,
    pub request_id: Uuid,
    pub person: String,
    pub device: GrantDevice,
    pub gateway: String,
    pub resources: Vec<GrantedResource>,
    pub ticket: String,
    /// Approver ids; empty when the policy auto-approved.
    pub approvals: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}
