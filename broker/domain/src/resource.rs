//! Resources: a named address, protocol and ports behind one gateway, with tags entitlements select on.

use crate::invalid::InvalidValue;
use daypass_proto::{GrantedResource, PortRange, Protocol};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub address: IpNet,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub tags: BTreeSet<String>,
    pub gateway: String,
    #[serde(default)]
    pub description: String,
}

impl Resource {
    pub fn to_granted(&self) -> GrantedResource {
        GrantedResource {
            name: self.name.clone(),
            address: self.address.to_string(),
            protocol: self.protocol,
            ports: self.ports.clone(),
        }
    }
}

/// Parses `10.0.0.5` (a host) or `10.0.0.0/24`.
pub fn parse_address(text: &str) -> Result<IpNet, InvalidValue> {
    let t = text.trim();
    t.parse::<IpNet>()
        .or_else(|_| t.parse::<std::net::IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| InvalidValue::Address(text.to_string()))
}

/// A tag is `key:value` or a bare word, e.g. `env:prod`, `db:staging`, `sensitive`.
pub fn validate_tag(tag: &str) -> Result<(), InvalidValue> {
    let ok = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::Tag(tag.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_become_single_host_networks() {
        assert_eq!(parse_address("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(parse_address("10.0.0.7/24").unwrap().to_string(), "10.0.0.0/24");
        assert!(parse_address("db.internal").is_err());
    }

    #[test]
    fn tags_are_key_value_words() {
        assert!(validate_tag("env:prod").is_ok());
        assert!(validate_tag("env prod").is_err());
    }
}
