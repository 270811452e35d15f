//! Screen lock on GNOME: `lock-enabled` and the session's `idle-delay` (0 = never), read with
//! `gsettings` as the signed-in user (the check runs in the user's session).

use crate::facts::{Observed, ScreenLockFacts};
use crate::system::{Cmd, System};

/// `gsettings get` prints `true`/`false`, or `uint32 300`.
pub fn parse_idle_delay(text: &str) -> Result<Option<u32>, String> {
    let n: u32 = text
        .trim()
        .trim_start_matches("uint32")
        .trim()
        .parse()
        .map_err(|_| format!("idle-delay is {:?}", text.trim()))?;
    Ok((n > 0).then_some(n))
}

fn get(sys: &dyn System, schema: &str, key: &str) -> Result<String, String> {
    match sys.run(Cmd::Gsettings, &["get", schema, key]) {
        Ok(out) if out.status == 0 => Ok(out.stdout.trim().to_string()),
        Ok(out) => Err(format!("gsettings get {schema} {key}: {}", out.stderr.trim())),
        Err(e) => Err(format!(
            "no GNOME settings to read ({e}); screen lock is checked in the user's desktop session"
        )),
    }
}

pub fn probe(sys: &dyn System) -> Observed<ScreenLockFacts> {
    let lock = match get(sys, "org.gnome.desktop.screensaver", "lock-enabled") {
        Ok(v) => v,
        Err(e) => return Observed::unknown(e),
    };
    let idle = match get(sys, "org.gnome.desktop.session", "idle-delay").and_then(|t| parse_idle_delay(&t)) {
        Ok(v) => v,
        Err(e) => return Observed::unknown(e),
    };
    Observed::seen(
        ScreenLockFacts {
            lock_enabled: lock == "true",
            idle_timeout_seconds: idle,
        },
        [format!(
            "gsettings: lock-enabled={lock}, idle-delay={}",
            idle.map_or("never".into(), |s| format!("{s}s"))
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_delay_zero_means_never() {
        assert_eq!(parse_idle_delay("uint32 300\n"), Ok(Some(300)));
        assert_eq!(parse_idle_delay("uint32 0"), Ok(None));
        assert!(parse_idle_delay("No such schema “org.gnome.desktop.session”").is_err());
    }
}
