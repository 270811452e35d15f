//! Signed envelopes: the exact signed bytes travel with the signature, so no canonical form is needed.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::marker::PhantomData;
use utoipa::ToSchema;

/// A value signed with Ed25519: `payload` is the base64 of the JSON bytes that were signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signed<T> {
    /// Base64 (standard) of the signed JSON bytes.
    pub payload: String,
    /// Base64 of the 64-byte Ed25519 signature over the payload bytes.
    pub signature: String,
    /// Identifies the signing key: hex of the first 8 bytes of SHA-256 over the public key.
    pub key_id: String,
    #[serde(skip)]
    #[schema(ignore)]
    marker: PhantomData<T>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signed by key {found}, but only key {expected} is trusted")]
    UnknownKey { expected: String, found: String },
    #[error("the envelope is not valid base64")]
    Encoding,
    #[error("the signature does not verify: the payload was altered or signed by another key")]
    BadSignature,
    #[error("the signed payload is not the expected JSON: {0}")]
    Payload(String),
}

/// Short identifier of a public key, as carried in envelopes and printed for pinning.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// An Ed25519 public key as IT pins it: base64 of its 32 bytes.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, &'static str> {
    let bytes: [u8; 32] = B64
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("not the base64 of a 32-byte Ed25519 public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key")
}

impl<T: Serialize + DeserializeOwned> Signed<T> {
    pub fn sign(value: &T, key: &SigningKey) -> Self {
        let bytes = serde_json::to_vec(value).expect("wire types always serialise");
        let signature = key.sign(&bytes);
        Signed {
            payload: B64.encode(&bytes),
            signature: B64.encode(signature.to_bytes()),
            key_id: key_id(&key.verifying_key()),
            marker: PhantomData,
        }
    }

    /// Checks the signature against the one trusted key, then decodes the payload.
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<T, SignatureError> {
        let expected = key_id(trusted);
        if self.key_id != expected {
            return Err(SignatureError::UnknownKey {
                expected,
                found: self.key_id.clone(),
            });
        }
        let bytes = B64.decode(&self.payload).map_err(|_| SignatureError::Encoding)?;
        let sig_bytes: [u8; 64] = B64
            .decode(&self.signature)
            .map_err(|_| SignatureError::Encoding)?
            .try_into()
            .map_err(|_| SignatureError::Encoding)?;
        trusted
            .verify(&bytes, &Signature::from_bytes(&sig_bytes))
            .map_err(|_| SignatureError::BadSignature)?;
        serde_json::from_slice(&bytes).map_err(|e| SignatureError::Payload(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Note {
        text: String,
    }

    fn note() -> Note {
        Note {
            text: "open port 5432".into(),
        }
    }

    #[test]
    fn signed_value_verifies_with_its_key() {
        let key = SigningKey::generate(&mut OsRng);
        let signed = Signed::sign(&note(), &key);
        assert_eq!(signed.verify(&key.verifying_key()).unwrap(), note());
    }

    #[test]
    fn altered_payload_is_rejected() {
        let key = SigningKey::generate(&mut OsRng);
        let mut signed = Signed::sign(&note(), &key);
        signed.payload = B64.encode(br#"{"text":"open every port"}"#);
        assert_eq!(
            signed.verify(&key.verifying_key()),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn another_key_is_rejected_even_with_a_forged_key_id() {
        let trusted = SigningKey::generate(&mut OsRng);
        let attacker = SigningKey::generate(&mut OsRng);
        let mut signed = Signed::sign(&note(), &attacker);
        assert!(matches!(
            signed.verify(&trusted.verifying_key()),
            Err(SignatureError::UnknownKey { .. })
        ));
        signed.key_id = key_id(&trusted.verifying_key());
        assert_eq!(
            signed.verify(&trusted.verifying_key()),
            Err(SignatureError::BadSignature)
        );
    }
}
