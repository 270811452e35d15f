//! FileVault: on for the data volume (`fdesetup status`) and at least one user able to unlock it
//! (`fdesetup list`, which needs root). Apple silicon encrypts every volume in hardware, so
//! "encrypted" alone would not mean FileVault.

use super::output;
use crate::facts::{DiskEncryptionFacts, Observed, Protection, Volume};
use crate::system::{Cmd, System};

const DATA_VOLUME: &str = "/System/Volumes/Data";

/// `FileVault is On.` / `FileVault is Off.`; anything else (encryption in progress, garbage) is not
/// an answer.
pub fn parse_status(text: &str) -> Result<bool, String> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("FileVault is"));
    match first {
        Some("FileVault is On.") => Ok(true),
        Some("FileVault is Off.") => Ok(false),
        _ => Err(format!("fdesetup status printed {:?}", text.trim())),
    }
}

/// `fdesetup list`: one `user,UUID` line per user who can unlock the volume.
pub fn parse_unlock_users(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().split_once(','))
        .filter(|(user, uuid)| !user.is_empty() && uuid.len() == 36)
        .map(|(user, _)| user.to_string())
        .collect()
}

pub fn probe(sys: &dyn System) -> Observed<DiskEncryptionFacts> {
    let status = match output(sys, Cmd::Fdesetup, &["status"]).and_then(|t| parse_status(&t)) {
        Ok(on) => on,
        Err(e) => return Observed::unknown(e),
    };
    let volume = |protection| DiskEncryptionFacts {
        volumes: vec![Volume {
            mount: DATA_VOLUME.into(),
            protection,
            scheme: (protection == Protection::On).then(|| "FileVault".into()),
        }],
    };
    if !status {
        return Observed::seen(
            volume(Protection::Off),
            ["fdesetup status: FileVault is Off.".to_string()],
        );
    }
    let users = match output(sys, Cmd::Fdesetup, &["list"]) {
        Ok(t) => parse_unlock_users(&t),
        Err(e) => {
            return Observed::unknown(format!(
                "FileVault is on, but who can unlock it is unknown ({e}); run the check as root"
            ))
        }
    };
    if users.is_empty() {
        return Observed::seen(
            volume(Protection::Off),
            ["FileVault is on, but no user can unlock the volume (fdesetup list is empty)".to_string()],
        );
    }
    Observed::seen(
        volume(Protection::On),
        [format!(
            "fdesetup status: FileVault is On; {} user(s) can unlock it",
            users.len()
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filevault_status_lines() {
        assert_eq!(parse_status("FileVault is On.\n"), Ok(true));
        assert_eq!(parse_status("FileVault is Off.\n"), Ok(false));
        assert!(parse_status("Encryption in progress: Percent completed = 45\n").is_err());
        assert!(
            parse_status("FileVault est activé.").is_err(),
            "a localized answer is not guessed"
        );
    }

    #[test]
    fn unlock_users_are_name_and_uuid_lines() {
        let users = parse_unlock_users("alice,85A2C9C1-4A8C-4B2E-9F05-2D1E6F2F4B11\nError: nonsense\n");
        assert_eq!(users, vec!["alice".to_string()]);
    }
}
