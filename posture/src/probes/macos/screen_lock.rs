//! Screen lock on macOS: whether a password is asked on wake (`sysadminctl -screenLock status`) and
//! the screen saver's idle time for the user the check runs as (`defaults -currentHost`), so run it
//! in the contractor's session.

use super::output;
use crate::facts::{Observed, ScreenLockFacts};
use crate::system::{Cmd, System};

/// `screenLock delay is immediate` / `screenLock delay is 300 seconds` / `screenLock is off`
/// (sysadminctl prefixes a timestamp and writes to stderr).
pub fn parse_screen_lock(text: &str) -> Result<Option<u32>, String> {
    let line = text
        .lines()
        .find(|l| l.contains("screenLock"))
        .ok_or_else(|| format!("sysadminctl printed {:?}", text.trim()))?;
    if line.contains("screenLock is off") {
        return Ok(None);
    }
    let delay = line
        .split("screenLock delay is ")
        .nth(1)
        .ok_or_else(|| format!("sysadminctl printed {line:?}"))?
        .trim();
    if delay == "immediate" {
        return Ok(Some(0));
    }
    delay
        .trim_end_matches("seconds")
        .trim()
        .parse()
        .map(Some)
        .map_err(|_| format!("sysadminctl printed {line:?}"))
}

pub fn probe(sys: &dyn System) -> Observed<ScreenLockFacts> {
    let delay =
        match output(sys, Cmd::Sysadminctl, &["-screenLock", "status"]).and_then(|t| parse_screen_lock(&t)) {
            Ok(d) => d,
            Err(e) => return Observed::unknown(e),
        };
    let idle = match output(
        sys,
        Cmd::Defaults,
        &["-currentHost", "read", "com.apple.screensaver", "idleTime"],
    ) {
        Ok(t) => match t.trim().parse::<u32>() {
            Ok(0) => None,
            Ok(s) => Some(s),
            Err(_) => {
                return Observed::unknown(format!("the screen saver idle time is not set ({})", t.trim()))
            }
        },
        Err(e) => return Observed::unknown(e),
    };
    let mut evidence = vec![match delay {
        None => "no password is asked after sleep or the screen saver".to_string(),
        Some(0) => "a password is asked immediately".to_string(),
        Some(s) => format!("a password is asked {s} s after sleep or the screen saver"),
    }];
    evidence.push(idle.map_or("the screen saver never starts".into(), |s| {
        format!("the screen saver starts after {s} s")
    }));
    // The screen is locked once the saver has run and the password delay has passed.
    let locks_after = match (delay, idle) {
        (Some(d), Some(i)) => Some(i.saturating_add(d)),
        _ => None,
    };
    Observed::seen(
        ScreenLockFacts {
            lock_enabled: delay.is_some(),
            idle_timeout_seconds: locks_after,
        },
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysadminctl_screen_lock_lines() {
        assert_eq!(
            parse_screen_lock(
                "2026-11-20 12:00:00.000 sysadminctl[812:4410] screenLock delay is immediate\n"
            ),
            Ok(Some(0))
        );
        assert_eq!(
            parse_screen_lock("... screenLock delay is 300 seconds"),
            Ok(Some(300))
        );
        assert_eq!(parse_screen_lock("... screenLock is off"), Ok(None));
        assert!(parse_screen_lock("garbage").is_err());
    }
}
