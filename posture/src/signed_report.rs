//! Device-signed posture reports: the facts bound to the broker's single-use nonce, the device and the
//! baseline digest, so a report can be neither altered, replayed, nor moved to another device.

use crate::facts::Facts;
use daypass_proto::signed::{SignatureError, Signed};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// How the signing key is held: `software` (OS keyring) today; hardware-bound keys come later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attestation {
    Software,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportClaims {
    pub device: String,
    /// The nonce the broker handed out for this report.
    pub nonce: String,
    pub facts: Facts,
    /// The digest of the baseline the device evaluated against, if it had one.
    pub baseline_digest: Option<String>,
    pub attestation: Attestation,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportRejected {
    #[error("the report's signature does not hold ({0}): its facts were changed or another key signed it")]
    Signature(SignatureError),
    #[error("the report is for device {found}, not {expected}")]
    WrongDevice { expected: String, found: String },
    #[error("the report answers another nonce: ask the broker for a fresh one and check again")]
    WrongNonce,
}

pub fn sign(claims: &ReportClaims, device_key: &SigningKey) -> Signed<ReportClaims> {
    Signed::sign(claims, device_key)
}

/// Checks the signature against the device's enrolled key and that the report is this device's. The
/// broker then looks the nonce up itself (single use, unexpired).
pub fn open(
    report: &Signed<ReportClaims>,
    device_key: &VerifyingKey,
    device: &str,
) -> Result<ReportClaims, ReportRejected> {
    let claims = report.verify(device_key).map_err(ReportRejected::Signature)?;
    if claims.device != device {
        return Err(ReportRejected::WrongDevice {
            expected: device.into(),
            found: claims.device,
        });
    }
    Ok(claims)
}

/// `open`, plus the nonce the verifier expects (for a client checking its own report).
pub fn verify(
    report: &Signed<ReportClaims>,
    device_key: &VerifyingKey,
    device: &str,
    issued_nonce: &str,
) -> Result<ReportClaims, ReportRejected> {
    let claims = open(report, device_key, device)?;
    if !constant_time_eq(claims.nonce.as_bytes(), issued_nonce.as_bytes()) {
        return Err(ReportRejected::WrongNonce);
    }
    Ok(claims)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FirewallFacts, Observed, FACTS_SCHEMA};
    use base64::Engine as _;
    use time::macros::datetime;

    fn claims() -> ReportClaims {
        ReportClaims {
            device: "ana-laptop".into(),
            nonce: "n-8c1f".into(),
            facts: Facts {
                schema: FACTS_SCHEMA,
                collected_at: datetime!(2026-11-20 12:00 UTC),
                os: Observed::unknown("not collected in this test"),
                disk_encryption: Observed::unknown("not collected in this test"),
                edr: Observed::unknown("not collected in this test"),
                updates: Observed::unknown("not collected in this test"),
                firewall: Observed::seen(FirewallFacts { enabled: false }, []),
                screen_lock: Observed::unknown("not collected in this test"),
            },
            baseline_digest: Some("ab".repeat(32)),
            attestation: Attestation::Software,
        }
    }

    fn device_key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    #[test]
    fn a_signed_report_verifies_for_its_device_and_nonce() {
        let signed = sign(&claims(), &device_key());
        assert_eq!(
            verify(&signed, &device_key().verifying_key(), "ana-laptop", "n-8c1f"),
            Ok(claims())
        );
    }

    #[test]
    fn a_changed_fact_is_rejected() {
        let mut signed = sign(&claims(), &device_key());
        let mut tampered = claims();
        tampered.facts.firewall = Observed::seen(FirewallFacts { enabled: true }, []);
        signed.payload =
            base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&tampered).unwrap());
        assert!(matches!(
            verify(&signed, &device_key().verifying_key(), "ana-laptop", "n-8c1f"),
            Err(ReportRejected::Signature(SignatureError::BadSignature))
        ));
    }

    #[test]
    fn wrong_key_other_device_and_other_nonce_are_rejected() {
        let signed = sign(&claims(), &device_key());
        let stranger = SigningKey::from_bytes(&[4u8; 32]).verifying_key();
        assert!(matches!(
            verify(&signed, &stranger, "ana-laptop", "n-8c1f"),
            Err(ReportRejected::Signature(_))
        ));
        assert!(matches!(
            verify(&signed, &device_key().verifying_key(), "bo-laptop", "n-8c1f"),
            Err(ReportRejected::WrongDevice { .. })
        ));
        assert_eq!(
            verify(&signed, &device_key().verifying_key(), "ana-laptop", "n-0000"),
            Err(ReportRejected::WrongNonce)
        );
    }
}
