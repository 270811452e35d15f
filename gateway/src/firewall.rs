//! nftables in the gateway's network namespace: one `inet daypass` table whose sets hold the allowed
//! (device, destination, protocol, ports) tuples with kernel timeouts, so an entry disappears at its
//! grant's end even if the agent has died. One host and one port (most grants) go to `allow`, a hash
//! set whose deletes need no read-back; networks and port ranges to the interval set `allow_ranges`. Replies are accepted only for established flows that
//! still match a live entry, so an open connection is cut at expiry too (no blanket
//! "established → accept"). Everything else to or from the tunnel interface is dropped.

use crate::plan::{Allow, Changes};
use daypass_proto::Protocol;
use std::io::Write as _;
use std::process::{Command, Stdio};
use time::Duration;

pub const TABLE: &str = "daypass";

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("nft could not be run: {0} (install nftables)")]
    Spawn(std::io::Error),
    #[error("nft refused the change: {0}")]
    Refused(String),
}

/// The table, sets and rules for the tunnel interface. Idempotent: existing set elements (live
/// grants) survive a restart of the agent; the chains' rules are rewritten.
pub fn setup_script(interface: &str) -> String {
    format!(
        r#"add table inet {TABLE}
add set inet {TABLE} allow {{ type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags timeout; }}
add set inet {TABLE} allow_ranges {{ type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags interval, timeout; }}
add set inet {TABLE} allow_icmp {{ type ipv4_addr . ipv4_addr; flags interval, timeout; }}
add chain inet {TABLE} forward {{ type filter hook forward priority 0; policy accept; }}
add chain inet {TABLE} input {{ type filter hook input priority 0; policy accept; }}
flush chain inet {TABLE} forward
flush chain inet {TABLE} input
add rule inet {TABLE} forward iifname "{interface}" ip saddr . ip daddr . meta l4proto . th dport @allow accept
add rule inet {TABLE} forward iifname "{interface}" ip saddr . ip daddr . meta l4proto . th dport @allow_ranges accept
add rule inet {TABLE} forward iifname "{interface}" meta l4proto icmp ip saddr . ip daddr @allow_icmp accept
add rule inet {TABLE} forward oifname "{interface}" ct state established ip daddr . ip saddr . meta l4proto . th sport @allow accept
add rule inet {TABLE} forward oifname "{interface}" ct state established ip daddr . ip saddr . meta l4proto . th sport @allow_ranges accept
add rule inet {TABLE} forward oifname "{interface}" ct state established meta l4proto icmp ip daddr . ip saddr @allow_icmp accept
add rule inet {TABLE} forward iifname "{interface}" drop
add rule inet {TABLE} forward oifname "{interface}" drop
add rule inet {TABLE} input iifname "{interface}" drop
"#
    )
}

/// The setup, with every set emptied: what a starting agent applies before it enforces the grants
/// it holds again, so nothing stale (or already expired) survives a restart.
pub fn startup_script(interface: &str, masquerade: bool) -> String {
    setup_script(interface)
        + &masquerade_script(interface, masquerade)
        + &format!(
            "flush set inet {TABLE} allow\nflush set inet {TABLE} allow_ranges\nflush set inet {TABLE} allow_icmp\n"
        )
}

/// Source NAT for traffic from the tunnel, for sites whose resources have no route back to the
/// tunnel network: they then see the gateway's address (the gateway's own records still say which
/// device it was). Off, the chain stays empty.
pub fn masquerade_script(interface: &str, on: bool) -> String {
    let mut s = format!(
        "add chain inet {TABLE} postrouting {{ type nat hook postrouting priority 100; policy accept; }}\nflush chain inet {TABLE} postrouting\n"
    );
    if on {
        s += &format!("add rule inet {TABLE} postrouting iifname \"{interface}\" oifname != \"{interface}\" masquerade\n");
    }
    s
}

/// The element of a set an allow entry is, without its timeout.
fn element(a: &Allow) -> (&'static str, String) {
    match (a.protocol, a.ports) {
        (Protocol::Icmp, _) | (_, None) => ("allow_icmp", format!("{} . {}", a.client, a.destination)),
        (p, Some(ports)) if a.destination.prefix_len() == 32 && ports.first == ports.last => (
            "allow",
            format!("{} . {} . {p} . {}", a.client, a.destination.addr(), ports.first),
        ),
        (p, Some(ports)) => (
            "allow_ranges",
            format!("{} . {} . {p} . {ports}", a.client, a.destination),
        ),
    }
}

/// Kernel timeouts are whole milliseconds, rounded down so an entry never outlives its grant.
fn timeout_ms(left: Duration) -> i64 {
    left.whole_milliseconds().clamp(1, i64::MAX as i128) as i64
}

/// One nft command per change, removals first (a replaced entry is removed, then added again).
pub fn change_commands(c: &Changes) -> Vec<String> {
    let removes = c.remove_allows.iter().map(|a| {
        let (set, e) = element(a);
        format!("delete element inet {TABLE} {set} {{ {e} }}")
    });
    let adds = c
        .add_allows
        .iter()
        .filter(|(_, left)| left.is_positive())
        .map(|(a, left)| {
            let (set, e) = element(a);
            format!(
                "add element inet {TABLE} {set} {{ {e} timeout {}ms }}",
                timeout_ms(*left)
            )
        });
    removes.chain(adds).collect()
}

/// Where nft scripts go: the real `nft`, or a recorder in unit tests.
pub trait Firewall: Send + Sync {
    /// Applies a script atomically: all of it or none.
    fn apply(&self, script: &str) -> Result<(), FirewallError>;
}

/// The `nft` binary, run directly or through a prefix such as `ip netns exec NS`.
#[derive(Debug, Clone, Default)]
pub struct Nft {
    prefix: Vec<String>,
}

impl Nft {
    /// `nft` in this process's network namespace (the gateway's own).
    pub fn here() -> Self {
        Nft::default()
    }

    /// `nft` inside the named network namespace.
    pub fn in_namespace(name: &str) -> Self {
        Nft {
            prefix: ["ip", "netns", "exec", name].map(String::from).to_vec(),
        }
    }
}

impl Firewall for Nft {
    fn apply(&self, script: &str) -> Result<(), FirewallError> {
        let (program, args) = match self.prefix.split_first() {
            Some((p, rest)) => (
                p.as_str(),
                [rest, &["nft".to_string(), "-f".into(), "-".into()]].concat(),
            ),
            None => ("nft", vec!["-f".to_string(), "-".into()]),
        };
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(FirewallError::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).map_err(FirewallError::Spawn)?;
        }
        let out = child.wait_with_output().map_err(FirewallError::Spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(FirewallError::Refused(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }
}

/// Applies the changes in one atomic batch. If the kernel refuses the batch (an entry it was told
/// to remove expired on its own a moment before), each command is applied alone and removals of
/// entries already gone are not errors; any other refusal is.
pub fn apply_changes(fw: &dyn Firewall, c: &Changes) -> Result<(), FirewallError> {
    let commands = change_commands(c);
    if commands.is_empty() || fw.apply(&(commands.join("\n") + "\n")).is_ok() {
        return Ok(());
    }
    for cmd in commands {
        match fw.apply(&(cmd.clone() + "\n")) {
            Ok(()) => {}
            Err(FirewallError::Refused(e)) if cmd.starts_with("delete") && e.contains("No such file") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_proto::PortRange;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        scripts: Mutex<Vec<String>>,
        /// Refuse any script containing this text, as the kernel would.
        refuse: Option<&'static str>,
    }

    impl Firewall for Recorder {
        fn apply(&self, script: &str) -> Result<(), FirewallError> {
            self.scripts.lock().unwrap().push(script.to_string());
            match self.refuse {
                Some(bad) if script.contains(bad) => Err(FirewallError::Refused(
                    "Error: Could not process rule: No such file or directory".into(),
                )),
                _ => Ok(()),
            }
        }
    }

    fn allow(port: u16) -> Allow {
        Allow {
            client: "100.96.0.2".parse().unwrap(),
            destination: "10.20.0.10/32".parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: Some(PortRange::single(port)),
        }
    }

    #[test]
    fn entries_carry_their_remaining_lifetime_rounded_down() {
        let c = Changes {
            add_allows: vec![(
                allow(5432),
                Duration::milliseconds(90_500) + Duration::microseconds(999),
            )],
            remove_allows: vec![allow(22)],
            ..Default::default()
        };
        assert_eq!(
            change_commands(&c),
            vec![
                "delete element inet daypass allow { 100.96.0.2 . 10.20.0.10 . tcp . 22 }".to_string(),
                "add element inet daypass allow { 100.96.0.2 . 10.20.0.10 . tcp . 5432 timeout 90500ms }"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn networks_and_port_ranges_go_to_the_interval_set() {
        let wide = Allow {
            destination: "10.30.0.0/24".parse().unwrap(),
            ..allow(22)
        };
        let range = Allow {
            ports: Some(PortRange {
                first: 8000,
                last: 8080,
            }),
            ..allow(0)
        };
        let c = Changes {
            add_allows: vec![(wide, Duration::seconds(5)), (range, Duration::seconds(5))],
            ..Default::default()
        };
        assert_eq!(
            change_commands(&c),
            vec![
                "add element inet daypass allow_ranges { 100.96.0.2 . 10.30.0.0/24 . tcp . 22 timeout 5000ms }",
                "add element inet daypass allow_ranges { 100.96.0.2 . 10.20.0.10/32 . tcp . 8000-8080 timeout 5000ms }",
            ]
        );
    }

    #[test]
    fn icmp_goes_to_its_own_set_and_an_ended_entry_is_never_added() {
        let ping = Allow {
            protocol: Protocol::Icmp,
            ports: None,
            ..allow(0)
        };
        let c = Changes {
            add_allows: vec![(ping, Duration::seconds(5)), (allow(5432), Duration::ZERO)],
            ..Default::default()
        };
        assert_eq!(
            change_commands(&c),
            vec![
                "add element inet daypass allow_icmp { 100.96.0.2 . 10.20.0.10/32 timeout 5000ms }"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_removal_the_kernel_already_did_does_not_fail_the_rest() {
        let fw = Recorder {
            refuse: Some("delete"),
            ..Default::default()
        };
        let c = Changes {
            add_allows: vec![(allow(5432), Duration::seconds(60))],
            remove_allows: vec![allow(22)],
            ..Default::default()
        };
        apply_changes(&fw, &c).unwrap();
        let scripts = fw.scripts.lock().unwrap();
        assert_eq!(
            scripts.len(),
            3,
            "the batch, then each command alone: {scripts:?}"
        );
        assert!(scripts[2].starts_with("add element"));
    }

    #[test]
    fn any_other_refusal_is_an_error() {
        let fw = Recorder {
            refuse: Some("add element"),
            ..Default::default()
        };
        let c = Changes {
            add_allows: vec![(allow(5432), Duration::seconds(60))],
            ..Default::default()
        };
        assert!(matches!(apply_changes(&fw, &c), Err(FirewallError::Refused(_))));
    }

    #[test]
    fn masquerading_is_a_rule_only_when_asked_for() {
        assert!(startup_script("wg-gw", true)
            .contains(r#"postrouting iifname "wg-gw" oifname != "wg-gw" masquerade"#));
        let off = startup_script("wg-gw", false);
        assert!(
            off.contains("flush chain inet daypass postrouting"),
            "a restart without it removes an old rule"
        );
        assert!(!off.contains("masquerade"));
    }

    #[test]
    fn the_setup_drops_everything_else_on_the_tunnel_interface() {
        let s = setup_script("wg-gw");
        assert!(s.contains(r#"forward iifname "wg-gw" drop"#));
        assert!(s.contains(r#"input iifname "wg-gw" drop"#));
        assert!(
            !s.contains("ct state established accept"),
            "no blanket established accept"
        );
    }
}
