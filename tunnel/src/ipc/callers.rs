//! Who may talk to the tunnel service: root, and members of the configured group (its primary or
//! supplementary members), told apart by the peer credentials the kernel gives for the socket.

use nix::unistd::{Gid, Group, Uid, User};

#[derive(Debug, Clone)]
pub struct Callers {
    group: Option<Group>,
}

impl Callers {
    /// Root plus the members of `group`; an unknown group is an error (IT must create it).
    pub fn root_and_group(group: Option<&str>) -> Result<Callers, String> {
        let group = match group {
            None => None,
            Some(name) => Some(
                Group::from_name(name)
                    .map_err(|e| format!("looking up group {name}: {e}"))?
                    .ok_or_else(|| format!("group {name:?} does not exist: create it (groupadd {name}) or choose another with --group"))?,
            ),
        };
        Ok(Callers { group })
    }

    pub fn group_id(&self) -> Option<Gid> {
        self.group.as_ref().map(|g| g.gid)
    }

    /// Whether the process with these credentials may use the service; the refusal says why.
    pub fn check(&self, uid: u32, gid: u32) -> Result<(), String> {
        let uid = Uid::from_raw(uid);
        if uid.is_root() {
            return Ok(());
        }
        let Some(group) = &self.group else {
            return Err("only root may use this tunnel service (it was started without --group)".into());
        };
        let user = User::from_uid(uid).ok().flatten();
        let member = Gid::from_raw(gid) == group.gid
            || user
                .as_ref()
                .is_some_and(|u| u.gid == group.gid || group.mem.contains(&u.name));
        if member {
            Ok(())
        } else {
            let who = user.map(|u| u.name).unwrap_or_else(|| format!("uid {uid}"));
            Err(format!(
                "{who} may not use the Daypass tunnel service: ask IT to add {who} to group {}",
                group.name
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_always_members_only_and_nobody_without_a_group() {
        // Debian's `nogroup` (gid 65534) is `nobody`'s primary group; `daemon` (uid 1) is not in it.
        let callers = Callers::root_and_group(Some("nogroup")).unwrap();
        assert!(callers.check(0, 0).is_ok());
        assert!(callers.check(65534, 65534).is_ok(), "nobody is in nogroup");
        let refused = callers.check(1, 1).unwrap_err();
        assert!(
            refused.contains("daemon") && refused.contains("nogroup"),
            "{refused}"
        );
        let root_only = Callers::root_and_group(None).unwrap();
        assert!(root_only.check(65534, 65534).is_err());
        assert!(Callers::root_and_group(Some("no-such-group-daypass")).is_err());
    }
}
