//! The baseline: a signed data file saying which OS releases are supported and the minimum
//! acceptable version of each, with a grace period and a `valid_until`.

use crate::facts::OsFamily;
use crate::version::Version;
use base64::Engine as _;
use daypass_proto::signed::{SignatureError, Signed};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// One OS release: until when it is supported, and the lowest version that counts as patched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseBaseline {
    pub family: OsFamily,
    /// Linux os-release `ID`, or `windows` / `macos`.
    pub name: String,
    /// Linux `VERSION_ID`; Windows `10.0.BUILD`; macOS major version (`14`).
    pub release: String,
    /// End of security support; `None` while no date is announced.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub supported_until: Option<OffsetDateTime>,
    /// Lowest acceptable version (Windows `10.0.26100.2314`, macOS `14.6.1 (a)`); `None` on Linux,
    /// where pending security updates are checked instead.
    pub minimum: Option<String>,
    /// When `minimum` was raised to its current value; the grace period runs from here.
    #[serde(with = "time::serde::rfc3339")]
    pub minimum_since: OffsetDateTime,
    /// Where the dates and the minimum come from, for IT to check and to update them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The public source of one baseline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    /// When the source published what the entry says (`YYYY-MM-DD`).
    pub published: String,
    /// What the entry rests on, in a sentence (the update's KB number, the support policy).
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// After this the baseline is stale and patch checks are `unknown`.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    /// Days a device may stay below a newly raised minimum.
    pub grace_days: u32,
    pub releases: Vec<ReleaseBaseline>,
}

impl Baseline {
    /// The entry for a release: Windows matches on the build (`10.0.26100` of `10.0.26100.2314`),
    /// macOS on the major version, Linux on `ID` and `VERSION_ID` exactly, else on the major
    /// version alone where the entry is one (`rhel` `9` for `9.6`).
    pub fn release_for(&self, family: OsFamily, name: &str, version: &str) -> Option<&ReleaseBaseline> {
        let find = |wanted: &str| {
            self.releases
                .iter()
                .find(|r| r.family == family && r.name.eq_ignore_ascii_case(name) && r.release == wanted)
        };
        match family {
            OsFamily::Windows => find(&version.parse::<Version>().ok()?.prefix(3).to_string()),
            OsFamily::Macos => find(&version.parse::<Version>().ok()?.prefix(1).to_string()),
            OsFamily::Linux => {
                let version = version.trim();
                find(version).or_else(|| find(version.split('.').next()?))
            }
        }
    }
}

/// A baseline whose signature was checked, with the digest reports record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBaseline {
    pub baseline: Baseline,
    /// Hex SHA-256 of the signed bytes.
    pub digest: String,
}

impl VerifiedBaseline {
    /// This baseline if it is still valid at `now`.
    pub fn at(self, now: OffsetDateTime) -> Result<VerifiedBaseline, BaselineProblem> {
        if now >= self.baseline.valid_until {
            return Err(BaselineProblem::Expired(self.baseline.valid_until));
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineProblem {
    #[error("no baseline was given, so patch level and support cannot be judged")]
    Missing,
    #[error("the baseline's signature does not verify ({0}): get a fresh baseline from IT")]
    BadSignature(SignatureError),
    #[error("the baseline expired at {0}: the device cannot be judged patched until it gets a fresh one")]
    Expired(OffsetDateTime),
}

/// How long before `valid_until` IT is warned to bring a fresh baseline.
pub const WARN_BEFORE: time::Duration = time::Duration::days(14);

/// The warning for IT while a baseline has less than `WARN_BEFORE` left, with what to do.
pub fn expiry_warning(baseline: &Baseline, now: OffsetDateTime) -> Option<String> {
    let left = baseline.valid_until - now;
    (left < WARN_BEFORE && left > time::Duration::ZERO).then(|| {
        format!(
            "the posture baseline expires {} ({} days left): import a fresh one (daypass-broker baseline import) before then, or patch checks become unknown",
            baseline.valid_until.date(),
            left.whole_days()
        )
    })
}

/// Checks the signature with the pinned key, then that the baseline is still valid at `now`.
pub fn verify(
    signed: &Signed<Baseline>,
    key: &VerifyingKey,
    now: OffsetDateTime,
) -> Result<VerifiedBaseline, BaselineProblem> {
    verify_signature(signed, key)?.at(now)
}

/// Checks the signature alone, once, for a holder that judges many times
/// ([`VerifiedBaseline::at`] then checks the expiry each time).
pub fn verify_signature(
    signed: &Signed<Baseline>,
    key: &VerifyingKey,
) -> Result<VerifiedBaseline, BaselineProblem> {
    let baseline = signed.verify(key).map_err(BaselineProblem::BadSignature)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&signed.payload)
        .map_err(|_| BaselineProblem::BadSignature(SignatureError::Encoding))?;
    Ok(VerifiedBaseline {
        baseline,
        digest: hex::encode(Sha256::digest(&bytes)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use time::macros::datetime;

    pub fn sample() -> Baseline {
        Baseline {
            issued_at: datetime!(2026-11-01 00:00 UTC),
            valid_until: datetime!(2026-12-31 00:00 UTC),
            grace_days: 14,
            releases: vec![
                ReleaseBaseline {
                    family: OsFamily::Windows,
                    name: "windows".into(),
                    release: "10.0.26100".into(),
                    supported_until: Some(datetime!(2027-10-12 00:00 UTC)),
                    minimum: Some("10.0.26100.2314".into()),
                    minimum_since: datetime!(2026-11-12 00:00 UTC),
                    source: None,
                },
                ReleaseBaseline {
                    family: OsFamily::Macos,
                    name: "macos".into(),
                    release: "14".into(),
                    supported_until: None,
                    minimum: Some("14.6.1 (a)".into()),
                    minimum_since: datetime!(2026-10-01 00:00 UTC),
                    source: None,
                },
                ReleaseBaseline {
                    family: OsFamily::Linux,
                    name: "ubuntu".into(),
                    release: "24.04".into(),
                    supported_until: Some(datetime!(2029-05-31 00:00 UTC)),
                    minimum: None,
                    minimum_since: datetime!(2026-11-01 00:00 UTC),
                    source: None,
                },
                ReleaseBaseline {
                    family: OsFamily::Linux,
                    name: "debian".into(),
                    release: "10".into(),
                    supported_until: Some(datetime!(2024-06-30 00:00 UTC)),
                    minimum: None,
                    minimum_since: datetime!(2026-11-01 00:00 UTC),
                    source: None,
                },
            ],
        }
    }

    pub fn key() -> SigningKey {
        SigningKey::from_bytes(&[9u8; 32])
    }

    #[test]
    fn signed_baseline_verifies_and_has_a_stable_digest() {
        let signed = Signed::sign(&sample(), &key());
        let a = verify(&signed, &key().verifying_key(), datetime!(2026-11-20 00:00 UTC)).unwrap();
        let b = verify(&signed, &key().verifying_key(), datetime!(2026-11-21 00:00 UTC)).unwrap();
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.digest.len(), 64);
    }

    #[test]
    fn expired_or_forged_baselines_are_refused() {
        let signed = Signed::sign(&sample(), &key());
        let late = verify(&signed, &key().verifying_key(), datetime!(2026-12-31 00:00 UTC));
        assert!(matches!(late, Err(BaselineProblem::Expired(_))));
        let other = SigningKey::from_bytes(&[1u8; 32]);
        let forged = verify(
            &Signed::sign(&sample(), &other),
            &key().verifying_key(),
            datetime!(2026-11-20 00:00 UTC),
        );
        assert!(matches!(forged, Err(BaselineProblem::BadSignature(_))));
    }

    #[test]
    fn releases_match_by_build_major_or_exact_id() {
        let b = sample();
        assert!(b
            .release_for(OsFamily::Windows, "windows", "10.0.26100.1000")
            .is_some());
        assert!(b
            .release_for(OsFamily::Windows, "windows", "10.0.22631.1000")
            .is_none());
        assert!(b.release_for(OsFamily::Macos, "macos", "14.2").is_some());
        assert!(b.release_for(OsFamily::Linux, "Ubuntu", "24.04").is_some());
        assert!(b.release_for(OsFamily::Linux, "ubuntu", "24.10").is_none());
        assert_eq!(
            b.release_for(OsFamily::Linux, "debian", "10.13")
                .map(|r| r.release.as_str()),
            Some("10"),
            "a point release falls back to its major version's entry"
        );
    }
}
