//! The device's report-signing key (Ed25519), kept in the OS keyring: Keychain on macOS, Credential
//! Manager on Windows, the kernel keyring (keyutils) on Linux. It never leaves the keyring except
//! into memory that is wiped on drop, and no error or log line carries it.

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// The keyring service every Daypass device key is stored under.
const SERVICE: &str = "daypass";

#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    #[error("the OS keyring refused the device key ({0}); on Linux run inside a session keyring (keyctl session -)")]
    Keyring(String),
    #[error("the device key stored in the OS keyring is damaged (not 32 bytes): remove it and enroll the device again")]
    Damaged,
}

/// The report-signing key of one device, addressed by its device id.
#[derive(Debug)]
pub struct DeviceKeyStore {
    entry: keyring::Entry,
}

impl DeviceKeyStore {
    pub fn for_device(device: &str) -> Result<Self, DeviceKeyError> {
        let entry = keyring::Entry::new(SERVICE, &format!("report-signing-key:{device}"))
            .map_err(|e| DeviceKeyError::Keyring(e.to_string()))?;
        Ok(DeviceKeyStore { entry })
    }

    /// The stored key, if there is one.
    pub fn load(&self) -> Result<Option<SigningKey>, DeviceKeyError> {
        match self.entry.get_secret() {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let seed: Zeroizing<[u8; 32]> =
                    Zeroizing::new(bytes.as_slice().try_into().map_err(|_| DeviceKeyError::Damaged)?);
                Ok(Some(SigningKey::from_bytes(&seed)))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(DeviceKeyError::Keyring(e.to_string())),
        }
    }

    /// The stored key, or a new one stored first (enrollment).
    pub fn load_or_create(&self) -> Result<SigningKey, DeviceKeyError> {
        if let Some(key) = self.load()? {
            return Ok(key);
        }
        let key = SigningKey::generate(&mut OsRng);
        self.entry
            .set_secret(key.as_bytes())
            .map_err(|e| DeviceKeyError::Keyring(e.to_string()))?;
        Ok(key)
    }
}
