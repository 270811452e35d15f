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
    pub fn save(&self, state: &GatewayState) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("tmp");
        let err = |e| StoreError::Write(self.path.clone(), e);
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let text = serde_json::to_vec_pretty(state).map_err(|e| err(std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)
    }
}
