//! The split tunnel a grant asks for, planned without touching the machine: the device's tunnel
//! address, the gateway as the one peer, and routes to exactly the granted resources, never a
//! default route.

use daypass_proto::api::GatewayPeer;
use daypass_proto::Grant;
use ipnet::Ipv4Net;
use std::net::{Ipv4Addr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelPlan {
    pub address: Ipv4Net,
    pub gateway_key: String,
    pub endpoint: SocketAddr,
    /// Sorted, without duplicates; also the peer's allowed IPs.
    pub routes: Vec<Ipv4Net>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the grant is for gateway {grant:?}, but the broker named gateway {peer:?}")]
    WrongGateway { grant: String, peer: String },
    #[error("gateway endpoint {0:?} is not HOST:PORT with an IP address")]
    Endpoint(String),
    #[error("tunnel address {0:?} is not one IPv4 address")]
    Address(String),
    #[error("resource {name} address {address:?} cannot be routed through the tunnel: {why}")]
    Resource {
        name: String,
        address: String,
        why: &'static str,
    },
}

pub fn plan(grant: &Grant, peer: &GatewayPeer) -> Result<TunnelPlan, PlanError> {
    if grant.gateway != peer.name {
        return Err(PlanError::WrongGateway {
            grant: grant.gateway.clone(),
            peer: peer.name.clone(),
        });
    }
    let endpoint = peer
        .endpoint
        .parse()
        .map_err(|_| PlanError::Endpoint(peer.endpoint.clone()))?;
    let address = grant
        .device
        .tunnel_address
        .parse::<Ipv4Net>()
        .ok()
        .filter(|n| n.prefix_len() == 32)
        .ok_or_else(|| PlanError::Address(grant.device.tunnel_address.clone()))?;
    let mut routes = Vec::new();
    for r in &grant.resources {
        let refuse = |why| PlanError::Resource {
            name: r.name.clone(),
            address: r.address.clone(),
            why,
        };
        let net = r
            .address
            .parse::<Ipv4Net>()
            .ok()
            .or_else(|| r.address.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
            .ok_or_else(|| refuse("not an IPv4 address or network"))?
            .trunc();
        // A split tunnel only: a grant never takes over the device's whole traffic.
        if net.prefix_len() < 8 {
            return Err(refuse("wider than a /8 would take over the device's traffic"));
        }
        routes.push(net);
    }
    routes.sort();
    routes.dedup();
    Ok(TunnelPlan {
        address,
        gateway_key: peer.wireguard_public_key.clone(),
        endpoint,
        routes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_proto::{GrantDevice, GrantedResource};
    use time::macros::datetime;

    fn grant(addresses: &[&str]) -> Grant {
        Grant {
            id: uuid::Uuid::nil(),
            request_id: uuid::Uuid::nil(),
            person: "ana".into(),
            device: GrantDevice {
                id: "d".into(),
                wireguard_public_key: "K".into(),
                tunnel_address: "100.96.0.7/32".into(),
            },
            gateway: "gw-eu".into(),
            resources: addresses
                .iter()
                .map(|a| GrantedResource::tcp("r", a, &[22]))
                .collect(),
            ticket: "OPS-1".into(),
            approvals: vec![],
            not_before: datetime!(2026-11-24 12:00 UTC),
            not_after: datetime!(2026-11-24 13:00 UTC),
        }
    }

    fn peer() -> GatewayPeer {
        GatewayPeer {
            name: "gw-eu".into(),
            endpoint: "203.0.113.7:51820".into(),
            wireguard_public_key: "G".into(),
        }
    }

    #[test]
    fn routes_are_exactly_the_granted_resources() {
        let p = plan(&grant(&["10.20.0.10", "10.30.0.0/24", "10.20.0.10/32"]), &peer()).unwrap();
        assert_eq!(p.address.to_string(), "100.96.0.7/32");
        let routes: Vec<String> = p.routes.iter().map(|r| r.to_string()).collect();
        assert_eq!(routes, vec!["10.20.0.10/32", "10.30.0.0/24"]);
    }

    #[test]
    fn never_a_default_route_nor_another_gateway() {
        assert!(matches!(
            plan(&grant(&["0.0.0.0/0"]), &peer()),
            Err(PlanError::Resource { .. })
        ));
        assert!(matches!(
            plan(&grant(&["2001:db8::1"]), &peer()),
            Err(PlanError::Resource { .. })
        ));
        let other = GatewayPeer {
            name: "gw-us".into(),
            ..peer()
        };
        assert!(matches!(
            plan(&grant(&["10.20.0.10"]), &other),
            Err(PlanError::WrongGateway { .. })
        ));
    }
}
