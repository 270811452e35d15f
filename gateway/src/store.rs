//! The grants the gateway last received, kept on disk so a restarted agent enforces them again
//! (each until its own end) before the broker answers. They are kept signed and verified again on
//! load, so the file cannot grant anything the broker did not. A whole state is written whole; each
//! delta after it is appended to a journal beside it (a line, not the 10 MB a state of 10,000 grants
//! takes), which the next whole state empties.

use daypass_proto::api::{GatewayDelta, GatewayState};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("writing {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("{0} is damaged ({1}); it is ignored until the broker sends a fresh state")]
    Damaged(PathBuf, String),
}

/// What the files hold: the last whole state, and the deltas taken after it, in order.
#[derive(Debug, Clone)]
pub struct Kept {
    pub state: GatewayState,
    pub deltas: Vec<GatewayDelta>,
}

#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    journal: PathBuf,
}

impl StateFile {
    pub fn in_dir(dir: &Path) -> Self {
        StateFile {
            path: dir.join("gateway-state.json"),
            journal: dir.join("gateway-state.journal"),
        }
    }

    /// The last state received, if any, with the deltas taken since. A journal line that does not
    /// parse (the last one, torn by a crash) ends the journal there.
    pub fn load(&self) -> Result<Option<Kept>, StoreError> {
        let state: GatewayState = match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Damaged(self.path.clone(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Damaged(self.path.clone(), e.to_string())),
        };
        let journal = match std::fs::read_to_string(&self.journal) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(StoreError::Damaged(self.journal.clone(), e.to_string())),
        };
        let deltas: Vec<GatewayDelta> = journal
            .lines()
            .map_while(|line| serde_json::from_str(line).ok())
            .collect();
        Ok(Some(Kept { state, deltas }))
    }

    /// Replaces the whole state atomically (write, then rename), so a crash leaves the old or the
    /// new, and empties the journal. It lists every live grant: readable by the gateway's user only,
    /// in a directory only it enters.
    pub fn save(&self, state: &impl serde::Serialize) -> Result<(), StoreError> {
        let err = |e| StoreError::Write(self.path.clone(), e);
        let text = serde_json::to_vec(state).map_err(|e| err(std::io::Error::other(e)))?;
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Err(err(std::io::Error::other("the state file has no directory")));
        };
        daypass_private_file::write(dir, &name.to_string_lossy(), &text).map_err(err)?;
        match std::fs::remove_file(&self.journal) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::Write(self.journal.clone(), e))
            }
            _ => {}
        }
        Ok(())
    }

    /// Appends a delta taken after the state written.
    pub fn append(&self, delta: &GatewayDelta) -> Result<(), StoreError> {
        let err = |e| StoreError::Write(self.journal.clone(), e);
        let mut line = serde_json::to_vec(delta).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.journal).map_err(err)?;
        file.write_all(&line).map_err(err)?;
        file.sync_data().map_err(err)
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[5; 32])
    }

    /// A state of no grants at `revision`.
    fn empty_state(revision: i64) -> GatewayState {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        GatewayState {
            gateway: "gw1".into(),
            revision,
            generated_at: at,
            grants: vec![],
            seal: daypass_proto::api::StateSeal::sign("gw1", (0, revision), at, [], &key()),
        }
    }

    #[test]
    fn the_live_grants_are_readable_by_the_gateway_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = StateFile::in_dir(&dir);
        let state = empty_state(7);
        file.save(&state).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("gateway-state.json")), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(file.load().unwrap().unwrap().state.revision, 7);
    }

    #[test]
    fn deltas_go_to_a_journal_that_a_whole_state_empties() {
        let root = tempfile::tempdir().unwrap();
        let file = StateFile::in_dir(root.path());
        let state = empty_state(7);
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let delta = |revision| GatewayDelta {
            gateway: "gw1".into(),
            base_revision: revision - 1,
            revision,
            generated_at: at,
            added: vec![],
            ended: vec![],
            seal: daypass_proto::api::StateSeal::sign_digest(
                "gw1",
                (0, revision),
                at,
                &Default::default(),
                &key(),
            ),
        };
        file.save(&state).unwrap();
        file.append(&delta(8)).unwrap();
        file.append(&delta(9)).unwrap();
        let journal = root.path().join("gateway-state.journal");
        assert_eq!(
            std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A crash in the middle of the next line: the journal ends before it.
        let mut torn = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
        torn.write_all(br#"{"gateway":"gw1","base_rev"#).unwrap();
        let kept = StateFile::in_dir(root.path()).load().unwrap().unwrap();
        assert_eq!(kept.state.revision, 7);
        assert_eq!(kept.deltas.iter().map(|d| d.revision).collect::<Vec<_>>(), [8, 9]);

        file.save(&state).unwrap();
        assert!(!journal.exists(), "a whole state starts the journal again");
    }
}
