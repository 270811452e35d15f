//! Sign-in challenges for people who cannot sign in, shaped like anyone else's: a fresh challenge
//! naming one credential id derived from the person's name and the broker's key (the same id on
//! every look, as a real person's would be), kept as a ceremony no answer can finish. An anonymous
//! caller thus cannot tell who exists, who has a passkey or which device is whose.

use super::*;
use webauthn_rs::prelude::RequestChallengeResponse;
use webauthn_rs_proto::{AllowCredentials, PublicKeyCredentialRequestOptions, UserVerificationPolicy};

impl Broker {
    pub(super) async fn decoy_challenge(
        &self,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let timeout = webauthn_rs::DEFAULT_AUTHENTICATOR_TIMEOUT.as_millis();
        let options = RequestChallengeResponse {
            public_key: PublicKeyCredentialRequestOptions {
                challenge: rand::random::<[u8; 32]>().to_vec(),
                timeout: u32::try_from(timeout).ok(),
                rp_id: self.0.settings.passkeys.relying_party.rp_id.clone(),
                allow_credentials: vec![AllowCredentials {
                    type_: "public-key".to_string(),
                    id: self.decoy_credential_id(person).to_vec(),
                    transports: None,
                }],
                user_verification: UserVerificationPolicy::Required,
                hints: None,
                extensions: None,
            },
            mediation: None,
        };
        // No authentication state: `is_decoy` tells the finish, which refuses it.
        self.open_ceremony(person, purpose, serde_json::Value::Null, to_json(&options), now)
            .await
    }

    fn decoy_credential_id(&self, person: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"daypass-decoy-credential\n");
        h.update(self.0.key.to_bytes());
        h.update(person.as_bytes());
        h.finalize().into()
    }
}

/// Whether a ceremony is a decoy (it has no authentication state to answer).
pub(super) fn is_decoy(c: &Ceremony) -> bool {
    c.state.is_null()
}
