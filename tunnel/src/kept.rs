//! What the tunnel service keeps across restarts in `STATE_DIR/session.json` (root only): who is
//! signed in and the grant being enforced with its gateway peer, both as the broker signed them, so
//! a restart verifies them again before anything comes back up.

use daypass_private_file::write as write_private;
use daypass_proto::api::GatewayPeer;
use daypass_proto::{Grant, Signed};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::path::Path;
use uuid::Uuid;

const FILE: &str = "session.json";

/// The grant being enforced, as the broker signed it, with the gateway to reach it through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Live {
    pub id: Uuid,
    pub grant: Signed<Grant>,
    pub peer: Signed<GatewayPeer>,
}

impl Live {
    /// The kept grant, if it and its peer still verify against the pinned key (a key rotated by IT,
    /// or a file edited on disk, drops it).
    pub fn verify(&self, key: &VerifyingKey) -> Option<Grant> {
        let grant = self.grant.verify(key).ok().filter(|g| g.id == self.id)?;
        self.peer.verify(key).ok()?;
        Some(grant)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Kept {
    pub person: Option<String>,
    pub live: Option<Live>,
}

impl Kept {
    /// What the last run kept; nothing when there is no file or it does not parse (said in the log).
    pub fn load(state_dir: &Path) -> Kept {
        match std::fs::read(state_dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the kept session does not parse; starting without it");
                Kept::default()
            }),
            Err(_) => Kept::default(),
        }
    }

    pub fn save(&self, state_dir: &Path) {
        let written = serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_private(state_dir, FILE, &bytes));
        if let Err(e) = written {
            tracing::error!(error = %e, "could not keep the session on disk; a restart will not resume it");
        }
    }
}
