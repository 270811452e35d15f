//! The gateway's view of the broker: the whole state it must enforce, and the deltas between
//! revisions of it, each sealed by the broker so a gateway can tell a complete, current state from
//! a replayed, partial or tampered one.

use crate::grant::Grant;
use crate::signed::Signed;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// What one gateway must enforce: every live grant for its resources, at a revision, sealed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayState {
    pub gateway: String,
    /// Increases whenever a grant for this gateway is issued, revoked or expires.
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub grants: Vec<Signed<Grant>>,
    /// The broker's signature over the state as a whole: a revocation is a grant *missing* from a
    /// state, which the grants' own signatures cannot vouch for.
    #[schema(value_type = Signed<String>)]
    pub seal: Signed<StateSeal>,
}

/// What the broker signs about a whole gateway state, so a gateway can refuse an older one (a
/// replay, a tampered file, a broker restored from an old backup) and any grant smuggled into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateSeal {
    pub gateway: String,
    /// Raised by IT when a broker is restored from a backup (`gateway_state_epoch`), so that its
    /// revisions count above every revision issued before.
    pub epoch: i64,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// The ids of every grant in the state, sorted (a full state as first sent; empty when
    /// `digest` names them instead).
    pub grants: Vec<Uuid>,
    /// `grants_digest` of the ids of every grant in the state: how a delta's seal names the whole
    /// state it leads to without listing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl StateSeal {
    /// The seal of `grants` for `gateway` at (`epoch`, `revision`), signed with the broker's key.
    pub fn sign(
        gateway: &str,
        (epoch, revision): (i64, i64),
        issued_at: OffsetDateTime,
        grants: impl IntoIterator<Item = Uuid>,
        key: &ed25519_dalek::SigningKey,
    ) -> Signed<StateSeal> {
        let mut ids: Vec<Uuid> = grants.into_iter().collect();
        ids.sort();
        let seal = StateSeal {
            gateway: gateway.to_string(),
            epoch,
            revision,
            issued_at,
            grants: ids,
            digest: None,
        };
        Signed::sign(&seal, key)
    }

    /// The seal of the state of exactly `grants`, naming them by digest (for deltas and for the
    /// state a gateway rebuilt from them).
    pub fn sign_digest(
        gateway: &str,
        (epoch, revision): (i64, i64),
        issued_at: OffsetDateTime,
        grants: &BTreeSet<Uuid>,
        key: &ed25519_dalek::SigningKey,
    ) -> Signed<StateSeal> {
        let seal = StateSeal {
            gateway: gateway.to_string(),
            epoch,
            revision,
            issued_at,
            grants: vec![],
            digest: Some(grants_digest(grants)),
        };
        Signed::sign(&seal, key)
    }

    /// Where this state stands among all states of its gateway.
    pub fn order(&self) -> (i64, i64) {
        (self.epoch, self.revision)
    }
}

/// What changed for one gateway between two revisions: the grants that joined its state (signed)
/// and the ids of those that left it, with the seal of the whole state it leads to. A gateway that
/// holds `base_revision` applies it; any other asks for the full state again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayDelta {
    pub gateway: String,
    /// The revision this delta starts from (in the seal's epoch).
    pub base_revision: i64,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub added: Vec<Signed<Grant>>,
    pub ended: Vec<Uuid>,
    /// Seals the state after the delta, naming its grants by digest.
    #[schema(value_type = Signed<String>)]
    pub seal: Signed<StateSeal>,
}

/// Hex SHA-256 over the 16-byte ids of a state's grants in ascending order.
pub fn grants_digest<'a>(grants: impl IntoIterator<Item = &'a Uuid>) -> String {
    let mut sorted: Vec<&Uuid> = grants.into_iter().collect();
    if !sorted.is_sorted() {
        sorted.sort();
    }
    let mut hash = Sha256::new();
    for id in sorted {
        hash.update(id.as_bytes());
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_names_the_set_whatever_the_order_and_only_that_set() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(grants_digest([&a, &b]), grants_digest([&b, &a]));
        assert_ne!(grants_digest([&a, &b]), grants_digest([&a, &b, &c]));
        assert_ne!(grants_digest([&a]), grants_digest([]));
        let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let set: BTreeSet<Uuid> = [a, c].into();
        let seal = StateSeal::sign_digest("gw", (0, 3), OffsetDateTime::UNIX_EPOCH, &set, &key)
            .verify(&key.verifying_key())
            .unwrap();
        assert_eq!(seal.digest, Some(grants_digest(&set)));
        assert!(seal.grants.is_empty());
    }
}
