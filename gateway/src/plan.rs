//! The pure core: from accepted grants and `now`, what the gateway should enforce (WireGuard peers,
//! allow entries with the moment each ends), and the changes that take what is applied there.
//! Allow entries for the same device, destination and protocol are cut into disjoint port ranges,
//! each ending with the latest grant that covers it, because the kernel set refuses overlaps.

use daypass_proto::{Grant, PortRange, Protocol};
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use time::{Duration, OffsetDateTime};

/// One allowed flow: a device's tunnel address may reach a destination on a protocol (and ports,
/// except for ICMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Allow {
    pub client: Ipv4Addr,
    pub destination: Ipv4Net,
    pub protocol: Protocol,
    pub ports: Option<PortRange>,
}

/// A device's WireGuard peer: its key, and the one tunnel address it may use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peer {
    pub public_key: String,
    pub tunnel_address: Ipv4Net,
}

/// What to enforce at one moment: each peer and allow entry with the moment it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub peers: BTreeMap<Peer, OffsetDateTime>,
    pub allows: BTreeMap<Allow, OffsetDateTime>,
}

/// A grant (or part of one) the gateway cannot enforce, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub grant: uuid::Uuid,
    pub reason: String,
}

/// What the grants in force at `now` ask for. Grants not yet started or already over are left out.
pub fn desired<'a>(
    grants: impl IntoIterator<Item = &'a Grant>,
    now: OffsetDateTime,
) -> (Desired, Vec<Skipped>) {
    let mut out = Desired::default();
    let mut skipped = Vec::new();
    // (client, destination, protocol) → the port ranges asked for, each with when it ends.
    let mut ranges: BTreeMap<(Ipv4Addr, Ipv4Net, Protocol), Vec<(PortRange, OffsetDateTime)>> =
        BTreeMap::new();
    for g in grants
        .into_iter()
        .filter(|g| g.not_before <= now && now < g.not_after)
    {
        let tunnel = match g.device.tunnel_address.parse::<Ipv4Net>() {
            Ok(net) if net.prefix_len() == 32 => net,
            _ => {
                skipped.push(Skipped {
                    grant: g.id,
                    reason: format!(
                        "tunnel address {:?} is not one IPv4 address",
                        g.device.tunnel_address
                    ),
                });
                continue;
            }
        };
        let until = out
            .peers
            .entry(Peer {
                public_key: g.device.wireguard_public_key.clone(),
                tunnel_address: tunnel,
            })
            .or_insert(g.not_after);
        *until = (*until).max(g.not_after);
        for r in &g.resources {
            let Some(destination) = ipv4_net(&r.address) else {
                skipped.push(Skipped {
                    grant: g.id,
                    reason: format!(
                        "resource {} address {:?} is not IPv4; tunnels carry IPv4 only",
                        r.name, r.address
                    ),
                });
                continue;
            };
            let entry = ranges
                .entry((tunnel.addr(), destination, r.protocol))
                .or_default();
            if r.protocol == Protocol::Icmp {
                entry.push((PortRange { first: 0, last: 0 }, g.not_after));
            } else {
                entry.extend(r.ports.iter().map(|p| (*p, g.not_after)));
            }
        }
    }
    for ((client, destination, protocol), asked) in ranges {
        for (ports, until) in disjoint(&asked) {
            let ports = (protocol != Protocol::Icmp).then_some(ports);
            out.allows.insert(
                Allow {
                    client,
                    destination,
                    protocol,
                    ports,
                },
                until,
            );
        }
    }
    (out, skipped)
}

/// The tunnel address a grant's device uses, which every peer and allow entry of the grant is
/// keyed by: a change to a grant touches only what its client's grants ask for.
pub fn client_of(grant: &Grant) -> Option<Ipv4Addr> {
    grant
        .device
        .tunnel_address
        .parse::<Ipv4Net>()
        .ok()
        .filter(|n| n.prefix_len() == 32)
        .map(|n| n.addr())
}

impl Desired {
    /// The peers and allow entries of these clients only.
    pub fn part(&self, clients: &BTreeSet<Ipv4Addr>) -> Desired {
        Desired {
            peers: self
                .peers
                .iter()
                .filter(|(p, _)| clients.contains(&p.tunnel_address.addr()))
                .map(|(p, t)| (p.clone(), *t))
                .collect(),
            allows: clients
                .iter()
                .flat_map(|c| {
                    self.allows
                        .range(Allow::first_of(*c)..)
                        .take_while(move |(a, _)| a.client == *c)
                })
                .map(|(a, t)| (*a, *t))
                .collect(),
        }
    }

    /// Replaces `old` (what `part` taken from here returned) with `new`.
    pub fn replace_part(&mut self, old: &Desired, new: Desired) {
        for p in old.peers.keys() {
            self.peers.remove(p);
        }
        for a in old.allows.keys() {
            self.allows.remove(a);
        }
        self.peers.extend(new.peers);
        self.allows.extend(new.allows);
    }
}

impl Allow {
    /// The least entry of a client, whatever it allows (entries sort by client first).
    fn first_of(client: Ipv4Addr) -> Allow {
        Allow {
            client,
            destination: Ipv4Net::default(),
            protocol: Protocol::Tcp,
            ports: None,
        }
    }
}

fn ipv4_net(address: &str) -> Option<Ipv4Net> {
    address
        .parse::<Ipv4Net>()
        .ok()
        .or_else(|| address.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
        .map(|n| n.trunc())
}

/// Cuts overlapping port ranges into disjoint ones, each ending at the latest end among the ranges
/// covering it; neighbours ending together are joined again.
fn disjoint(asked: &[(PortRange, OffsetDateTime)]) -> Vec<(PortRange, OffsetDateTime)> {
    let mut cuts: Vec<u32> = asked
        .iter()
        .flat_map(|(r, _)| [u32::from(r.first), u32::from(r.last) + 1])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<(PortRange, OffsetDateTime)> = Vec::new();
    for w in cuts.windows(2) {
        let (first, last) = (w[0], w[1] - 1);
        let until = asked
            .iter()
            .filter(|(r, _)| u32::from(r.first) <= first && last <= u32::from(r.last))
            .map(|(_, u)| *u)
            .max();
        let Some(until) = until else { continue };
        let (first, last) = (first as u16, last as u16);
        match out.last_mut() {
            Some((prev, prev_until))
                if *prev_until == until && u32::from(prev.last) + 1 == u32::from(first) =>
            {
                prev.last = last;
            }
            _ => out.push((PortRange { first, last }, until)),
        }
    }
    out
}

/// The changes that take the applied state to the desired one at `now`. Allow entries carry how
/// long they have left, which becomes their kernel timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub add_peers: Vec<Peer>,
    pub remove_peers: Vec<Peer>,
    pub add_allows: Vec<(Allow, Duration)>,
    pub remove_allows: Vec<Allow>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.add_peers.is_empty()
            && self.remove_peers.is_empty()
            && self.add_allows.is_empty()
            && self.remove_allows.is_empty()
    }
}

pub fn changes(applied: &Desired, desired: &Desired, now: OffsetDateTime) -> Changes {
    let mut c = Changes::default();
    for (peer, _) in desired
        .peers
        .iter()
        .filter(|(p, _)| !applied.peers.contains_key(p))
    {
        c.add_peers.push(peer.clone());
    }
    for (peer, _) in applied
        .peers
        .iter()
        .filter(|(p, _)| !desired.peers.contains_key(p))
    {
        c.remove_peers.push(peer.clone());
    }
    for (allow, until) in &desired.allows {
        match applied.allows.get(allow) {
            Some(was) if was == until => {}
            Some(was) => {
                // Ended already means the kernel removed it; only a live entry needs removing.
                if *was > now {
                    c.remove_allows.push(*allow);
                }
                c.add_allows.push((*allow, *until - now));
            }
            None => c.add_allows.push((*allow, *until - now)),
        }
    }
    for (allow, was) in &applied.allows {
        if !desired.allows.contains_key(allow) && *was > now {
            c.remove_allows.push(*allow);
        }
    }
    c
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use daypass_proto::{GrantDevice, GrantedResource};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    /// A grant for device `device` (tunnel 100.96.0.2) to reach db 10.20.0.10 tcp/5432.
    pub(crate) fn grant(id: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Grant {
        Grant {
            id: uuid::Uuid::from_u128(id.bytes().fold(0u128, |n, b| n * 256 + u128::from(b))),
            request_id: uuid::Uuid::nil(),
            person: "ana".into(),
            device: GrantDevice {
                id: "ana-laptop".into(),
                wireguard_public_key: "CLIENTKEY".into(),
                tunnel_address: "100.96.0.2/32".into(),
            },
            gateway: "gw-eu".into(),
            resources: vec![GrantedResource::tcp("db", "10.20.0.10", &[5432])],
            ticket: "OPS-1".into(),
            approvals: vec![],
            not_before,
            not_after,
        }
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    #[test]
    fn a_live_grant_becomes_one_peer_and_one_allow_entry() {
        let (d, skipped) = desired(&[grant("a", NOW, NOW + hours(1))], NOW);
        assert!(skipped.is_empty());
        assert_eq!(d.peers.len(), 1);
        let (allow, until) = d.allows.iter().next().unwrap();
        assert_eq!(allow.client, Ipv4Addr::new(100, 96, 0, 2));
        assert_eq!(allow.destination.to_string(), "10.20.0.10/32");
        assert_eq!(allow.ports, Some(PortRange::single(5432)));
        assert_eq!(*until, NOW + hours(1));
    }

    #[test]
    fn grants_not_started_or_over_ask_for_nothing() {
        let (d, _) = desired(
            &[
                grant("later", NOW + hours(1), NOW + hours(2)),
                grant("over", NOW - hours(2), NOW),
            ],
            NOW,
        );
        assert_eq!(d, Desired::default());
    }

    #[test]
    fn overlapping_port_ranges_become_disjoint_entries_ending_with_their_latest_grant() {
        let mut wide = grant("wide", NOW, NOW + hours(1));
        wide.resources[0].ports = vec![PortRange {
            first: 5430,
            last: 5440,
        }];
        let long = grant("long", NOW, NOW + hours(3));
        let (d, _) = desired(&[wide, long], NOW);
        let entries: Vec<(PortRange, i64)> = d
            .allows
            .iter()
            .map(|(a, u)| (a.ports.unwrap(), (*u - NOW).whole_hours()))
            .collect();
        assert_eq!(
            entries,
            vec![
                (
                    PortRange {
                        first: 5430,
                        last: 5431
                    },
                    1
                ),
                (PortRange::single(5432), 3),
                (
                    PortRange {
                        first: 5433,
                        last: 5440
                    },
                    1
                ),
            ]
        );
    }

    #[test]
    fn ipv6_resources_and_bad_tunnel_addresses_are_skipped_with_a_reason() {
        let mut v6 = grant("v6", NOW, NOW + hours(1));
        v6.resources[0].address = "2001:db8::10".into();
        let mut bad = grant("bad", NOW, NOW + hours(1));
        bad.device.tunnel_address = "100.96.0.0/16".into();
        let (d, skipped) = desired(&[v6, bad], NOW);
        assert!(d.allows.is_empty());
        assert_eq!(skipped.len(), 2);
        assert!(skipped[0].reason.contains("not IPv4"), "{skipped:?}");
        assert!(skipped[1].reason.contains("not one IPv4 address"), "{skipped:?}");
    }

    #[test]
    fn changes_touch_only_what_differs_and_never_delete_what_the_kernel_already_expired() {
        let g = grant("a", NOW, NOW + hours(1));
        let (applied, _) = desired(std::slice::from_ref(&g), NOW);
        assert!(
            changes(&applied, &applied, NOW).is_empty(),
            "nothing changed, nothing touched"
        );

        // Revoked: its peer and entry go.
        let c = changes(&applied, &Desired::default(), NOW + Duration::minutes(5));
        assert_eq!((c.remove_peers.len(), c.remove_allows.len()), (1, 1));

        // Over: the peer goes, the kernel already dropped the entry.
        let c = changes(&applied, &Desired::default(), NOW + hours(1));
        assert_eq!((c.remove_peers.len(), c.remove_allows.len()), (1, 0));

        // A later grant for the same flow: the entry is replaced with the longer timeout.
        let (longer, _) = desired(&[g, grant("b", NOW, NOW + hours(2))], NOW);
        let c = changes(&applied, &longer, NOW + Duration::minutes(10));
        assert_eq!(c.remove_allows.len(), 1);
        assert_eq!(c.add_allows[0].1, hours(2) - Duration::minutes(10));
        assert!(c.add_peers.is_empty() && c.remove_peers.is_empty());
    }

    proptest::proptest! {
        /// Against the obvious model, port by port: every port asked for is covered by exactly one
        /// entry, ending with the latest grant that asked for it, and no other port is covered.
        #[test]
        fn disjoint_entries_match_the_port_by_port_model(
            asked in proptest::collection::vec((0u16..40, 0u16..10, 1i64..5), 1..6)
        ) {
            let asked: Vec<(PortRange, OffsetDateTime)> = asked
                .into_iter()
                .map(|(first, len, h)| (PortRange { first, last: first + len }, NOW + hours(h)))
                .collect();
            let out = disjoint(&asked);
            for port in 0u16..60 {
                let model = asked.iter().filter(|(r, _)| r.first <= port && port <= r.last).map(|(_, u)| *u).max();
                let covering: Vec<_> = out.iter().filter(|(r, _)| r.first <= port && port <= r.last).collect();
                proptest::prop_assert!(covering.len() <= 1, "port {} covered twice: {:?}", port, out);
                proptest::prop_assert_eq!(covering.first().map(|(_, u)| *u), model, "port {}", port);
            }
        }
    }
}
