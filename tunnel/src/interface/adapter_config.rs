//! The Windows adapter's configuration for a `TunnelPlan`, as pure data (tested on every OS): the
//! device key, the gateway as the one peer allowed exactly the granted routes, the tunnel address,
//! and a GUID that stays the same for the same interface name (so Windows keeps one network
//! profile for it rather than a new "Network 7" at each grant).

use super::InterfaceError;
use crate::split::TunnelPlan;
use base64::Engine as _;
use ipnet::IpNet;
use sha2::{Digest as _, Sha256};
use std::net::SocketAddr;
use zeroize::Zeroizing;

pub struct AdapterConfig {
    pub private_key: Zeroizing<[u8; 32]>,
    pub gateway_key: [u8; 32],
    pub endpoint: SocketAddr,
    /// The gateway peer's allowed IPs, and a route for each: exactly the planned routes.
    pub allowed_ips: Vec<IpNet>,
    /// The device's tunnel address.
    pub addresses: Vec<IpNet>,
}

/// Shows everything but the private key.
impl std::fmt::Debug for AdapterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterConfig")
            .field("endpoint", &self.endpoint)
            .field("allowed_ips", &self.allowed_ips)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

fn key(base64: &str, what: &'static str) -> Result<[u8; 32], InterfaceError> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(base64.trim())
            .map_err(|_| InterfaceError::Key(what))?,
    );
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| InterfaceError::Key(what))
}

impl AdapterConfig {
    pub fn new(private_key: &str, plan: &TunnelPlan) -> Result<AdapterConfig, InterfaceError> {
        Ok(AdapterConfig {
            private_key: Zeroizing::new(key(private_key, "the device's private key")?),
            gateway_key: key(&plan.gateway_key, "the gateway's public key")?,
            endpoint: plan.endpoint,
            allowed_ips: plan.routes.iter().map(|r| IpNet::V4(*r)).collect(),
            addresses: vec![IpNet::V4(plan.address)],
        })
    }
}

/// The adapter GUID for an interface name: the first 16 bytes of SHA-256 over a fixed label and
/// the name.
pub fn adapter_guid(name: &str) -> u128 {
    let digest = Sha256::new()
        .chain_update(b"daypass wireguard-nt adapter\0")
        .chain_update(name.as_bytes())
        .finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// wireguard-nt's limit on adapter names (`MAX_ADAPTER_NAME`, with the terminating NUL).
const MAX_NAME: usize = 128;

/// An adapter name: what `--interface` gives, as Windows shows it in its network connections.
pub fn adapter_name(name: &str) -> Result<&str, InterfaceError> {
    let fine = !name.trim().is_empty()
        && name.encode_utf16().count() < MAX_NAME
        && !name.chars().any(|c| c.is_control() || c == '\\' || c == '/');
    if fine {
        Ok(name)
    } else {
        Err(InterfaceError::Name(
            name.into(),
            "use up to 127 characters, no slashes or control characters".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::Ipv4Net;

    fn plan() -> TunnelPlan {
        TunnelPlan {
            address: "100.64.0.7/32".parse().unwrap(),
            gateway_key: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            endpoint: "192.0.2.1:51820".parse().unwrap(),
            routes: vec![
                "10.1.0.5/32".parse::<Ipv4Net>().unwrap(),
                "10.2.0.0/24".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn the_plan_becomes_one_peer_allowed_exactly_the_granted_routes() {
        let device = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let config = AdapterConfig::new(&device, &plan()).unwrap();
        assert_eq!(*config.private_key, [9u8; 32]);
        assert_eq!(config.gateway_key, [7u8; 32]);
        assert_eq!(config.endpoint, "192.0.2.1:51820".parse().unwrap());
        let allowed: Vec<String> = config.allowed_ips.iter().map(|n| n.to_string()).collect();
        assert_eq!(allowed, ["10.1.0.5/32", "10.2.0.0/24"]);
        assert_eq!(config.addresses, vec!["100.64.0.7/32".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn keys_that_are_not_32_bytes_of_base64_are_refused_without_echoing_them() {
        let short = base64::engine::general_purpose::STANDARD.encode([9u8; 31]);
        for bad in [short.as_str(), "not base64!"] {
            let e = AdapterConfig::new(bad, &plan()).unwrap_err().to_string();
            assert!(e.contains("device's private key") && !e.contains(bad), "{e}");
        }
        let mut wrong_gateway = plan();
        wrong_gateway.gateway_key = "AAAA".into();
        let device = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        assert!(matches!(
            AdapterConfig::new(&device, &wrong_gateway),
            Err(InterfaceError::Key("the gateway's public key"))
        ));
    }

    #[test]
    fn the_private_key_is_not_in_its_debug_form() {
        let device = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let shown = format!("{:?}", AdapterConfig::new(&device, &plan()).unwrap());
        assert!(
            !shown.contains("private_key") && !shown.contains("9, 9"),
            "{shown}"
        );
        assert!(shown.contains("10.2.0.0/24"), "{shown}");
    }

    #[test]
    fn the_guid_is_stable_per_name_and_differs_between_names() {
        assert_eq!(adapter_guid("Daypass"), adapter_guid("Daypass"));
        assert_ne!(adapter_guid("Daypass"), adapter_guid("Daypass 2"));
    }

    #[test]
    fn adapter_names_are_checked() {
        assert_eq!(adapter_name("Daypass").unwrap(), "Daypass");
        for bad in ["", "  ", "a\\b", "tab\there", &"x".repeat(128)] {
            assert!(adapter_name(bad).is_err(), "{bad:?}");
        }
    }
}
