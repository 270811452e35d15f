//! Who may use the service's named pipe on Windows, as pure rules (tested on every OS): the pipe's
//! security descriptor, and the logon-session check made on each caller the descriptor let in.

/// The users, besides SYSTEM and Administrators, who may open the pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeUsers {
    /// Everyone logged on interactively (at the screen or by remote desktop).
    Interactive,
    /// Members of one group (the "Daypass Users" group the installer creates), by its SID.
    Group(String),
}

impl PipeUsers {
    /// `--group` on Windows: a group SID such as `S-1-5-21-…-1013`, or nothing for interactive users.
    pub fn from_option(group: Option<&str>) -> Result<PipeUsers, String> {
        match group {
            None => Ok(PipeUsers::Interactive),
            Some(sid) if is_sid(sid) => Ok(PipeUsers::Group(sid.to_string())),
            Some(other) => Err(format!(
                "--group {other:?} is not a group SID (S-1-5-21-…): on Windows give the SID of the \
                 Daypass Users group (Get-LocalGroup 'Daypass Users' | Select SID), or leave it out \
                 to allow every interactive user"
            )),
        }
    }

    /// The pipe's security descriptor in SDDL: owned by SYSTEM; a protected DACL (nothing
    /// inherited) giving SYSTEM and Administrators full control and the users read and write.
    pub fn sddl(&self) -> String {
        let users = match self {
            PipeUsers::Interactive => "IU",
            PipeUsers::Group(sid) => sid,
        };
        format!("O:SYG:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;{users})")
    }
}

/// Whether `text` is a SID's string form: `S-1-`, an authority, then sub-authorities, all decimal.
fn is_sid(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("S-1-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    (2..=16).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a caller in logon session `caller` may use the service while `console` is the session
/// at the machine's screen: only the person at the screen may, not another user's session nor a
/// remote-desktop session beside it (the tunnel is the whole machine's).
pub fn check_session(caller: u32, console: Option<u32>) -> Result<(), String> {
    match console {
        Some(console) if console == caller => Ok(()),
        Some(console) => Err(format!(
            "Daypass serves the person at this computer's screen (session {console}); this program \
             runs in session {caller} (another user's or a remote desktop session): use Daypass from \
             the screen's session"
        )),
        None => {
            Err("nobody is signed in at this computer's screen right now: sign in there and try again".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_is_protected_and_gives_users_read_write_only() {
        assert_eq!(
            PipeUsers::Interactive.sddl(),
            "O:SYG:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;IU)"
        );
        let group = PipeUsers::from_option(Some("S-1-5-21-1004336348-1177238915-682003330-1013")).unwrap();
        assert_eq!(
            group.sddl(),
            "O:SYG:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;S-1-5-21-1004336348-1177238915-682003330-1013)"
        );
    }

    #[test]
    fn only_a_sid_is_taken_as_the_group() {
        assert_eq!(PipeUsers::from_option(None).unwrap(), PipeUsers::Interactive);
        for bad in [
            "daypass",
            "S-1-",
            "S-1-5",
            "S-1-5-21-x",
            "S-1-5--21",
            "S-1-5-21-1)(A;;GA;;;WD",
            "s-1-5-21-1",
        ] {
            let e = PipeUsers::from_option(Some(bad)).unwrap_err();
            assert!(e.contains("not a group SID"), "{bad}: {e}");
        }
        assert!(PipeUsers::from_option(Some("S-1-5-32-545")).is_ok());
    }

    #[test]
    fn only_the_screens_session_is_served() {
        assert!(check_session(1, Some(1)).is_ok());
        let other = check_session(2, Some(1)).unwrap_err();
        assert!(
            other.contains("session 1") && other.contains("session 2"),
            "{other}"
        );
        assert!(check_session(1, None).is_err());
    }
}
