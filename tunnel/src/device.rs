//! The device's two keys, made once and kept in the secret store: its WireGuard key (X25519), whose
//! public half the broker enrolls and the gateway adds as a peer, and its report-signing key
//! (Ed25519) for posture reports. Only their public halves leave the service.

use crate::secrets::{SecretError, SecretStore};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use rand::RngCore as _;
use zeroize::Zeroizing;

const WIREGUARD: &str = "wireguard-private-key";
const REPORT: &str = "report-signing-key";

#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    #[error(transparent)]
    Store(#[from] SecretError),
    #[error("the stored {0} is damaged (not 32 bytes): remove it and enroll this device again")]
    Damaged(&'static str),
}

pub struct DeviceKeys {
    wireguard: Zeroizing<[u8; 32]>,
    report: SigningKey,
}

impl std::fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKeys")
            .field("wireguard_public_key", &self.wireguard_public())
            .finish_non_exhaustive()
    }
}

fn random_32() -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn exactly_32(bytes: &[u8], what: &'static str) -> Result<Zeroizing<[u8; 32]>, DeviceKeyError> {
    bytes
        .try_into()
        .map(Zeroizing::new)
        .map_err(|_| DeviceKeyError::Damaged(what))
}

impl DeviceKeys {
    pub fn load_or_create(store: &SecretStore) -> Result<DeviceKeys, DeviceKeyError> {
        let wireguard = store.get_or_create(WIREGUARD, || {
            // Clamped as WireGuard's own `wg genkey` does.
            let mut k = random_32();
            k[0] &= 248;
            k[31] = (k[31] & 127) | 64;
            k
        })?;
        let report = store.get_or_create(REPORT, random_32)?;
        Ok(DeviceKeys {
            wireguard: exactly_32(&wireguard, "WireGuard key")?,
            report: SigningKey::from_bytes(&*exactly_32(&report, "report-signing key")?),
        })
    }

    pub fn wireguard_private(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.wireguard.as_slice()))
    }

    pub fn wireguard_public(&self) -> String {
        let secret = x25519_dalek::StaticSecret::from(*self.wireguard);
        B64.encode(x25519_dalek::PublicKey::from(&secret).as_bytes())
    }

    pub fn report_key(&self) -> &SigningKey {
        &self.report
    }

    pub fn report_public(&self) -> String {
        B64.encode(self.report.verifying_key().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_once_and_the_same_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::Directory(dir.path().to_path_buf());
        let first = DeviceKeys::load_or_create(&store).unwrap();
        let again = DeviceKeys::load_or_create(&store).unwrap();
        assert_eq!(first.wireguard_public(), again.wireguard_public());
        assert_eq!(first.report_public(), again.report_public());
        assert_ne!(first.wireguard_public(), first.report_public());
        assert!(!format!("{first:?}").contains(first.wireguard_private().as_str()));
    }

    #[test]
    fn a_damaged_key_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::Directory(dir.path().to_path_buf());
        store.put(WIREGUARD, b"short").unwrap();
        assert!(matches!(
            DeviceKeys::load_or_create(&store),
            Err(DeviceKeyError::Damaged(_))
        ));
    }
}
