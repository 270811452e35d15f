//! Which states and grants of the broker the gateway accepts. A state: sealed as a whole by the
//! pinned broker key, for this gateway, not older than the state held, and (from the broker, not
//! from disk) freshly issued. A grant in it: signed by that key, named in the seal, meant for this
//! gateway, and not yet over. Everything else is dropped, with the reason.

use daypass_proto::api::{GatewayState, StateSeal};
use daypass_proto::{Grant, Signed};
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use time::OffsetDateTime;

/// A grant the gateway refused, and why (for its log; the grant's id when it could be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub grant: Option<uuid::Uuid>,
    pub reason: String,
}

/// Checks states against the pinned broker key, remembering the envelopes of the last state it
/// accepted: the broker resends every live grant at each revision, and an envelope seen before
/// (the same signature over the same bytes) need not be verified again.
#[derive(Debug)]
pub struct Verifier {
    broker_key: VerifyingKey,
    /// signature → (payload, grant) of the last state's validly signed envelopes.
    seen: HashMap<String, (String, Grant)>,
}

impl Verifier {
    pub fn new(broker_key: VerifyingKey) -> Self {
        Verifier {
            broker_key,
            seen: HashMap::new(),
        }
    }

    /// The grants of `state` to enforce now, and the ones refused.
    pub fn accepted(
        &mut self,
        state: &GatewayState,
        gateway: &str,
        now: OffsetDateTime,
    ) -> (Vec<Grant>, Vec<Refused>) {
        let mut grants = Vec::new();
        let mut refused = Vec::new();
        for checked in self.verified(&state.grants) {
            let why = match checked {
                Ok(grant) => match problem(&grant, gateway, now) {
                    None => {
                        grants.push(grant);
                        continue;
                    }
                    Some(reason) => Refused {
                        grant: Some(grant.id),
                        reason,
                    },
                },
                Err(refusal) => refusal,
            };
            refused.push(why);
        }
        (grants, refused)
    }

    /// Each envelope's grant if its signature holds (in the envelopes' order), or why not.
    pub fn verified(&mut self, envelopes: &[Signed<Grant>]) -> Vec<Result<Grant, Refused>> {
        let mut seen = HashMap::with_capacity(envelopes.len());
        let checked = envelopes
            .iter()
            .map(|signed| {
                let known = self
                    .seen
                    .remove(&signed.signature)
                    .filter(|(payload, _)| *payload == signed.payload);
                let grant = match known {
                    Some((_, g)) => g,
                    None => signed.verify(&self.broker_key).map_err(|e| Refused {
                        grant: None,
                        reason: format!("signature refused: {e}"),
                    })?,
                };
                seen.insert(signed.signature.clone(), (signed.payload.clone(), grant.clone()));
                Ok(grant)
            })
            .collect();
        self.seen = seen;
        checked
    }
}

/// Where a state comes from: the broker now, or this gateway's own file at start (old by nature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Broker,
    Disk,
}

/// How old a state from the broker may be when it arrives (it is issued as it is sent).
pub const MAX_STATE_AGE: time::Duration = time::Duration::minutes(5);
/// How far ahead of this gateway's clock the broker's may be.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(2);

/// The seal of `state` if the state may replace the one held (whose seal had order `held`).
pub fn sealed(
    (state_gateway, state_revision): (&str, i64),
    seal: &Signed<StateSeal>,
    broker_key: &VerifyingKey,
    gateway: &str,
    held: Option<(i64, i64)>,
    source: Source,
    now: OffsetDateTime,
) -> Result<StateSeal, String> {
    let seal = seal
        .verify(broker_key)
        .map_err(|e| format!("its seal does not hold ({e})"))?;
    if seal.gateway != gateway || state_gateway != gateway {
        return Err(format!(
            "it is sealed for gateway {:?}, not {gateway:?}",
            seal.gateway
        ));
    }
    if seal.revision != state_revision {
        return Err(format!(
            "it says revision {state_revision} but is sealed at {}",
            seal.revision
        ));
    }
    if let Some((epoch, revision)) = held.filter(|h| seal.order() < *h) {
        return Err(format!(
            "it is older (epoch {}, revision {}) than the state held (epoch {epoch}, revision {revision}): \
             a replay, or a broker restored from a backup without raising gateway_state_epoch",
            seal.epoch, seal.revision
        ));
    }
    if source == Source::Broker && (now - seal.issued_at > MAX_STATE_AGE || seal.issued_at - now > CLOCK_SKEW)
    {
        return Err(format!(
            "it was issued at {}, too far from now ({now}): a replay, or clocks out of step",
            seal.issued_at
        ));
    }
    Ok(seal)
}

/// The grants to enforce now, and the ones refused, every signature verified.
pub fn accepted(
    state: &GatewayState,
    broker_key: &VerifyingKey,
    gateway: &str,
    now: OffsetDateTime,
) -> (Vec<Grant>, Vec<Refused>) {
    Verifier::new(*broker_key).accepted(state, gateway, now)
}

/// Why a validly signed grant is not enforced here now, if it is not.
pub fn problem(grant: &Grant, gateway: &str, now: OffsetDateTime) -> Option<String> {
    if grant.gateway != gateway {
        Some(format!("meant for gateway {:?}, not {gateway:?}", grant.gateway))
    } else if grant.not_after <= now {
        Some(format!("ended at {}", grant.not_after))
    } else if grant.not_before >= grant.not_after {
        Some("not_before is not before not_after".to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::grant;
    use daypass_proto::Signed;
    use ed25519_dalek::SigningKey;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    /// A state of these grants; its seal is the agent's to check, not `accepted`'s.
    fn state(grants: Vec<Signed<Grant>>) -> GatewayState {
        let seal_key = SigningKey::from_bytes(&[1; 32]);
        GatewayState {
            gateway: "gw-eu".into(),
            revision: 1,
            generated_at: NOW,
            grants,
            seal: daypass_proto::api::StateSeal::sign("gw-eu", (0, 1), NOW, [], &seal_key),
        }
    }

    #[test]
    fn only_live_grants_signed_by_the_pinned_key_for_this_gateway_are_accepted() {
        let broker = SigningKey::from_bytes(&[1; 32]);
        let stranger = SigningKey::from_bytes(&[2; 32]);
        let live = grant("a", NOW, NOW + time::Duration::hours(1));
        let mut elsewhere = grant("b", NOW, NOW + time::Duration::hours(1));
        elsewhere.gateway = "gw-us".into();
        let over = grant(
            "c",
            NOW - time::Duration::hours(2),
            NOW - time::Duration::hours(1),
        );
        let forged = grant("d", NOW, NOW + time::Duration::hours(1));
        let (ok, refused) = accepted(
            &state(vec![
                Signed::sign(&live, &broker),
                Signed::sign(&elsewhere, &broker),
                Signed::sign(&over, &broker),
                Signed::sign(&forged, &stranger),
            ]),
            &broker.verifying_key(),
            "gw-eu",
            NOW,
        );
        assert_eq!(ok, vec![live]);
        let reasons: Vec<&str> = refused.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("gw-us"), "{reasons:?}");
        assert!(reasons[1].starts_with("ended at"), "{reasons:?}");
        assert!(reasons[2].starts_with("signature refused"), "{reasons:?}");
        assert_eq!(
            refused[2].grant, None,
            "a forged grant's content is not believed, not even its id"
        );
    }

    #[test]
    fn a_remembered_envelope_is_reused_only_with_the_same_bytes() {
        let broker = SigningKey::from_bytes(&[1; 32]);
        let g = grant("a", NOW, NOW + time::Duration::hours(1));
        let signed = Signed::sign(&g, &broker);
        let mut v = Verifier::new(broker.verifying_key());
        assert_eq!(
            v.accepted(&state(vec![signed.clone()]), "gw-eu", NOW).0,
            vec![g.clone()]
        );
        assert_eq!(
            v.accepted(&state(vec![signed.clone()]), "gw-eu", NOW).0,
            vec![g.clone()]
        );

        // The same signature over other bytes (a longer grant) is verified, and refused.
        let mut longer = g.clone();
        longer.not_after = NOW + time::Duration::days(30);
        let mut forged = signed.clone();
        forged.payload = Signed::sign(&longer, &broker).payload;
        let (ok, refused) = v.accepted(&state(vec![forged]), "gw-eu", NOW);
        assert!(ok.is_empty());
        assert!(refused[0].reason.starts_with("signature refused"), "{refused:?}");
    }
}
