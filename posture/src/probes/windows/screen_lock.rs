//! Screen lock on Windows: the machine inactivity limit (`InactivityTimeoutSecs`) or a secure screen
//! saver, policy values before the user's own. The user's values are those of the account the check
//! runs as, so run it in the contractor's session.

use super::{reg, reg_number};
use crate::facts::{Observed, ScreenLockFacts};
use crate::system::System;

const MACHINE_POLICY: &str = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System";
const USER_POLICY: &str = r"HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop";
const USER: &str = r"HKCU\Control Panel\Desktop";

pub fn probe(sys: &dyn System) -> Observed<ScreenLockFacts> {
    let mut evidence = Vec::new();
    let machine = reg_number(sys, MACHINE_POLICY, "InactivityTimeoutSecs")
        .ok()
        .filter(|s| *s > 0);
    if let Some(s) = machine {
        evidence.push(format!("machine policy locks after {s} s of inactivity"));
    }
    // A user value: the policy one if set, else the user's own.
    let user = |value: &str| {
        reg(sys, USER_POLICY, value)
            .or_else(|_| reg(sys, USER, value))
            .ok()
            .and_then(|v| v.number())
    };
    let (active, secure, timeout) = (
        user("ScreenSaveActive"),
        user("ScreenSaverIsSecure"),
        user("ScreenSaveTimeOut"),
    );
    let saver_locks = active == Some(1) && secure == Some(1);
    evidence.push(format!(
        "screen saver {}, password on resume {}, after {}",
        if active == Some(1) { "on" } else { "off" },
        if secure == Some(1) { "on" } else { "off" },
        timeout.map_or("no timeout".into(), |t| format!("{t} s"))
    ));
    if machine.is_none() && active.is_none() && secure.is_none() {
        return Observed::unknown(
            "neither the machine inactivity limit nor the screen saver settings could be read",
        );
    }
    let saver = if saver_locks {
        timeout.filter(|t| *t > 0)
    } else {
        None
    };
    let idle = [machine, saver].into_iter().flatten().min();
    Observed::seen(
        ScreenLockFacts {
            lock_enabled: machine.is_some() || saver_locks,
            idle_timeout_seconds: idle.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        },
        evidence,
    )
}
