//! Where the tunnel service keeps its secrets (the device's WireGuard and report-signing keys, the
//! broker token). macOS: the System keychain (a root daemon has no login keychain, keyring's
//! default). Windows: the Credential Manager of the account the service runs as, LocalSystem,
//! whose vault DPAPI seals with SYSTEM's key, so no user can read it. Linux: a
//! root-only directory (0700, files 0600, written whole or not at all), because the kernel keyring
//! does not survive a reboot and the Secret Service needs a user's desktop session, and a system
//! service has neither. Values are wiped from memory on drop and never logged.

use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret store refused {name} ({detail})")]
    Store { name: String, detail: String },
}

#[derive(Debug, Clone)]
pub enum SecretStore {
    /// One file per secret in a directory only its owner can read.
    Directory(PathBuf),
    /// The OS keyring, under service `daypass-tunneld`.
    Keyring,
}

const KEYRING_SERVICE: &str = "daypass-tunneld";

impl SecretStore {
    /// The store a tunnel service uses on this OS, with `state_dir` for the Linux directory.
    pub fn for_this_os(state_dir: &std::path::Path) -> SecretStore {
        if cfg!(target_os = "linux") {
            SecretStore::Directory(state_dir.join("secrets"))
        } else {
            SecretStore::Keyring
        }
    }

    fn refused(name: &str, detail: impl ToString) -> SecretError {
        SecretError::Store {
            name: name.into(),
            detail: detail.to_string(),
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError> {
        match self {
            SecretStore::Directory(dir) => match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Self::refused(name, e)),
            },
            SecretStore::Keyring => match keyring_entry(name)?.get_secret() {
                Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(Self::refused(name, e)),
            },
        }
    }

    pub fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretError> {
        match self {
            SecretStore::Directory(dir) => {
                daypass_private_file::write(dir, name, value).map_err(|e| Self::refused(name, e))
            }
            SecretStore::Keyring => keyring_entry(name)?
                .set_secret(value)
                .map_err(|e| Self::refused(name, e)),
        }
    }

    pub fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Directory(dir) => match std::fs::remove_file(dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Self::refused(name, e)),
                _ => Ok(()),
            },
            SecretStore::Keyring => match keyring_entry(name)?.delete_credential() {
                Err(e) if !matches!(e, keyring::Error::NoEntry) => Err(Self::refused(name, e)),
                _ => Ok(()),
            },
        }
    }

    /// The secret called `name`, made by `create` and stored first if there is none yet.
    pub fn get_or_create(
        &self,
        name: &str,
        create: impl FnOnce() -> Zeroizing<Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        if let Some(v) = self.get(name)? {
            return Ok(v);
        }
        let value = create();
        self.put(name, &value)?;
        Ok(value)
    }
}

fn keyring_entry(name: &str) -> Result<keyring::Entry, SecretError> {
    #[cfg(target_os = "macos")]
    let entry = keyring::Entry::new_with_target("System", KEYRING_SERVICE, name);
    #[cfg(not(target_os = "macos"))]
    let entry = keyring::Entry::new(KEYRING_SERVICE, name);
    entry.map_err(|e| SecretStore::refused(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_secrets_are_owner_only_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::Directory(dir.path().join("secrets"));
        assert!(store.get("token").unwrap().is_none());
        let made = store
            .get_or_create("token", || Zeroizing::new(b"one".to_vec()))
            .unwrap();
        assert_eq!(made.as_slice(), b"one");
        let again = store
            .get_or_create("token", || Zeroizing::new(b"two".to_vec()))
            .unwrap();
        assert_eq!(again.as_slice(), b"one", "an existing secret is kept");
        store.put("token", b"three").unwrap();
        assert_eq!(store.get("token").unwrap().unwrap().as_slice(), b"three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(dir.path().join("secrets")), 0o700);
            assert_eq!(mode(dir.path().join("secrets/token")), 0o600);
        }
        store.delete("token").unwrap();
        store.delete("token").unwrap();
        assert!(store.get("token").unwrap().is_none());
    }
}
