//! The application firewall: `globalstate` in `com.apple.alf` before macOS 15, where that file is
//! gone and `socketfilterfw --getglobalstate` is the source.

use super::{os, output};
use crate::facts::{FirewallFacts, Observed};
use crate::system::{Cmd, System};

/// `Firewall is enabled. (State = 1)` / `Firewall is disabled. (State = 0)`.
pub fn parse_socketfilterfw(text: &str) -> Result<bool, String> {
    let t = text.trim();
    if t.contains("Firewall is enabled") {
        Ok(true)
    } else if t.contains("Firewall is disabled") {
        Ok(false)
    } else {
        Err(format!("socketfilterfw printed {t:?}"))
    }
}

fn by_socketfilterfw(sys: &dyn System) -> Observed<FirewallFacts> {
    match output(sys, Cmd::Socketfilterfw, &["--getglobalstate"])
        .and_then(|t| parse_socketfilterfw(&t).map(|on| (on, t.trim().to_string())))
    {
        Ok((enabled, line)) => Observed::seen(FirewallFacts { enabled }, [format!("socketfilterfw: {line}")]),
        Err(e) => Observed::unknown(e),
    }
}

pub fn probe(sys: &dyn System) -> Observed<FirewallFacts> {
    if os::major(sys).is_some_and(|m| m >= 15) {
        return by_socketfilterfw(sys);
    }
    match output(
        sys,
        Cmd::Defaults,
        &["read", "/Library/Preferences/com.apple.alf", "globalstate"],
    ) {
        // 0 off, 1 on for specific services, 2 essential services only.
        Ok(t) => match t.trim().parse::<u32>() {
            Ok(state) => Observed::seen(
                FirewallFacts { enabled: state >= 1 },
                [format!("com.apple.alf globalstate = {state}")],
            ),
            Err(_) => by_socketfilterfw(sys),
        },
        Err(_) => by_socketfilterfw(sys),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socketfilterfw_states() {
        assert_eq!(
            parse_socketfilterfw("Firewall is enabled. (State = 1)\n"),
            Ok(true)
        );
        assert_eq!(
            parse_socketfilterfw("Firewall is disabled. (State = 0)"),
            Ok(false)
        );
        assert!(parse_socketfilterfw("").is_err());
    }
}
