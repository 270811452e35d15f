//! The grants the gateway last received, kept on disk so a restarted agent enforces them again
//! (each until its own end) before the broker answers. They are kept signed and verified again on
//! load, so the file cannot grant anything the broker did not.

use daypass_proto::api::GatewayState;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("writing {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("{0} is damaged ({1}); it is ignored until the broker sends a fresh state")]
    Damaged(PathBuf, String),
}

#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn in_dir(dir: &Path) -> Self {
        StateFile {
            path: dir.join("gateway-state.json"),
        }
    }

    /// The last state received, if any.
    pub fn load(&self) -> Result<Option<GatewayState>, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Damaged(self.path.clone(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Damaged(self.path.clone(), e.to_string())),
        }
    }

    /// Replaces the file atomically (write, then rename), so a crash leaves the old or the new.
    /// It lists every live grant: readable by the gateway's user only, in a directory only it enters.
    pub fn save(&self, state: &GatewayState) -> Result<(), StoreError> {
        let err = |e| StoreError::Write(self.path.clone(), e);
        let text = serde_json::to_vec_pretty(state).map_err(|e| err(std::io::Error::other(e)))?;
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Err(err(std::io::Error::other("the state file has no directory")));
        };
        daypass_private_file::write(dir, &name.to_string_lossy(), &text).map_err(err)
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_live_grants_are_readable_by_the_gateway_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = StateFile::in_dir(&dir);
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let state = GatewayState {
            gateway: "gw1".into(),
            revision: 7,
            generated_at: at,
            grants: vec![],
            seal: daypass_proto::api::StateSeal::sign("gw1", (0, 7), at, [], &key),
        };
        file.save(&state).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("gateway-state.json")), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(file.load().unwrap().unwrap().revision, 7);
    }
}
