//! A software token kept in a file (built only with the `soft-authenticator` feature, for tests and
//! demos: its key is not in hardware).

use std::path::{Path, PathBuf};
use webauthn_authenticator_rs::softtoken::SoftToken;

pub struct SoftAuthenticator {
    file: PathBuf,
    token: SoftToken,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl SoftAuthenticator {
    /// The token in `file`, or a new one (claiming user verification, as a PIN-protected key does).
    pub fn open(file: &Path) -> Result<Self, String> {
        let token = match std::fs::read(file) {
            Ok(bytes) => SoftToken::from_cbor(&bytes)
                .map_err(|e| format!("{} is not a software token: {e:?}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                SoftToken::new(true)
                    .map_err(|e| format!("creating a software token: {e:?}"))?
                    .0
            }
            Err(e) => return Err(format!("reading {}: {e}", file.display())),
        };
        Ok(SoftAuthenticator {
            file: file.to_path_buf(),
            token,
        })
    }

    /// Answers a registration or an authentication challenge, then keeps the token (its new
    /// credential or counter) in its file.
    pub fn answer(&mut self, options: serde_json::Value, origin: &str) -> Result<serde_json::Value, String> {
        let answer = super::answer_with(&mut self.token, options, origin)?;
        self.save()?;
        Ok(answer)
    }

    fn save(&self) -> Result<(), String> {
        let bytes = self.token.to_cbor().map_err(|e| format!("{e:?}"))?;
        daypass_private_file::write(
            self.file.parent().unwrap_or(Path::new(".")),
            &self
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            &bytes,
        )
        .map_err(|e| format!("keeping the software token in {}: {e}", self.file.display()))
    }
}
