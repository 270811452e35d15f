//! Firewall on Linux: an nftables chain on the input hook whose policy drops (what ufw, firewalld and
//! hand-written rulesets all produce); firewalld's own state where nft cannot be read.

use crate::facts::{FirewallFacts, Observed};
use crate::system::{Cmd, System};

/// Whether `nft -j list ruleset` output has an input-hook chain with policy drop.
pub fn input_policy_drops(json: &str) -> Result<bool, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("nft printed something that is not its JSON: {e}"))?;
    let items = v
        .get("nftables")
        .and_then(|n| n.as_array())
        .ok_or("nft JSON has no `nftables` list")?;
    Ok(items.iter().filter_map(|i| i.get("chain")).any(|c| {
        c.get("hook").and_then(|h| h.as_str()) == Some("input")
            && c.get("policy").and_then(|p| p.as_str()) == Some("drop")
    }))
}

pub fn probe(sys: &dyn System) -> Observed<FirewallFacts> {
    let nft_problem = match sys.run(Cmd::Nft, &["-j", "list", "ruleset"]) {
        Ok(out) if out.status == 0 => {
            return match input_policy_drops(&out.stdout) {
                Ok(enabled) => {
                    let line = if enabled {
                        "nft: an input chain drops by default"
                    } else {
                        "nft: no input chain drops by default"
                    };
                    Observed::seen(FirewallFacts { enabled }, [line.to_string()])
                }
                Err(e) => Observed::unknown(e),
            };
        }
        Ok(out) => format!("nft exited {}: {}", out.status, out.stderr.trim()),
        Err(e) => e.to_string(),
    };
    match sys.run(Cmd::FirewallCmd, &["--state"]) {
        Ok(out) => {
            let running = out.stdout.trim() == "running";
            Observed::seen(
                FirewallFacts { enabled: running },
                [format!("firewall-cmd --state: {}", out.stdout.trim())],
            )
        }
        Err(_) => Observed::unknown(format!(
            "cannot read the firewall rules ({nft_problem}); the check needs nft and root"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_chain_with_drop_policy_is_a_firewall() {
        let on = r#"{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"inet","name":"filter","handle":1}},
            {"chain":{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}}]}"#;
        assert_eq!(input_policy_drops(on), Ok(true));
        let off = r#"{"nftables":[{"chain":{"family":"inet","table":"filter","name":"input","hook":"input","policy":"accept"}},
            {"chain":{"family":"inet","table":"filter","name":"forward","hook":"forward","policy":"drop"}}]}"#;
        assert_eq!(input_policy_drops(off), Ok(false));
        assert_eq!(input_policy_drops(r#"{"nftables":[]}"#), Ok(false));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(input_policy_drops("Error: Operation not permitted").is_err());
        assert!(input_policy_drops(r#"{"tables":[]}"#).is_err());
    }
}
