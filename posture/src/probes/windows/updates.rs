//! Pending restarts after Windows updates (the patch level itself is the build and UBR, judged
//! against the baseline). Windows does not count pending security updates without a slow online
//! Windows Update search, so that count stays unknown here.

use super::reg_key_exists;
use crate::facts::{Observed, UpdateFacts};
use crate::system::System;

const REBOOT_KEYS: [&str; 2] = [
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
];

pub fn probe(sys: &dyn System) -> Observed<UpdateFacts> {
    let pending: Vec<&str> = REBOOT_KEYS
        .into_iter()
        .filter(|k| reg_key_exists(sys, k))
        .collect();
    let evidence = if pending.is_empty() {
        vec!["no restart pending for updates".to_string()]
    } else {
        pending
            .iter()
            .map(|k| format!("{k} exists: a restart is pending"))
            .collect()
    };
    Observed::seen(
        UpdateFacts {
            pending_security_updates: None,
            reboot_required: Some(!pending.is_empty()),
        },
        evidence,
    )
}
