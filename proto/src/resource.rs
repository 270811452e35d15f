//! Protocols and port ranges: the (protocol, port) half of what a grant opens.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Transport protocol a resource is reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        })
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "icmp" => Ok(Protocol::Icmp),
            other => Err(format!("unknown protocol {other:?}: use tcp, udp or icmp")),
        }
    }
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            first: port,
            last: port,
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    /// Parses `443` or `8000-8080`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |p: &str| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n != 0)
                .ok_or_else(|| format!("bad port {p:?}: ports are whole numbers from 1 to 65535"))
        };
        let range = match s.split_once('-') {
            Some((a, b)) => PortRange {
                first: parse(a)?,
                last: parse(b)?,
            },
            None => PortRange::single(parse(s)?),
        };
        if range.first > range.last {
            return Err(format!("bad port range {s:?}: the first port is above the last"));
        }
        Ok(range)
    }
}

/// Parses a comma-separated port list such as `22,8000-8080`.
pub fn parse_port_list(s: &str) -> Result<Vec<PortRange>, String> {
    let mut ports = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(PortRange::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    ports.sort();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_list_parses_singles_and_ranges_sorted() {
        let ports = parse_port_list("8080-8090, 22").unwrap();
        assert_eq!(
            ports,
            vec![
                PortRange::single(22),
                PortRange {
                    first: 8080,
                    last: 8090
                }
            ]
        );
    }

    #[test]
    fn port_zero_and_reversed_ranges_are_refused() {
        assert!(parse_port_list("0").is_err());
        assert!(parse_port_list("90-80").is_err());
        assert!(parse_port_list("http").is_err());
    }

    #[test]
    fn protocol_round_trips_through_text() {
        for p in [Protocol::Tcp, Protocol::Udp, Protocol::Icmp] {
            assert_eq!(p.to_string().parse::<Protocol>().unwrap(), p);
        }
        assert!("sctp".parse::<Protocol>().is_err());
    }
}
