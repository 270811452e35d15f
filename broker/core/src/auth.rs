//! Who is calling: a person with an API token, a person in a passkey session (in the app every
//! request signed with the session's device key; in a browser by cookie), or a gateway with its
//! credential.

use super::{Broker, Forbidden, ServiceResult, Unauthenticated};
use crate::domain::directory::{report_key, Person, Role};
use crate::domain::passkey::{Channel, Session};
use crate::domain::token::Scope;
use crate::store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A person with an API token.
    Person(Person),
    /// A person signed in with a passkey: in the app on the session's device, or in a browser.
    Session {
        person: Person,
        session: Session,
        /// The digest the session is stored under.
        digest: String,
    },
    Gateway(String),
}

impl Caller {
    /// The actor recorded in audit entries.
    pub fn actor(&self) -> String {
        match self {
            Caller::Person(p) | Caller::Session { person: p, .. } => format!("person:{}", p.id),
            Caller::Gateway(g) => format!("gateway:{g}"),
        }
    }

    pub fn person(&self) -> ServiceResult<&Person> {
        match self {
            Caller::Person(p) | Caller::Session { person: p, .. } => Ok(p),
            Caller::Gateway(_) => Err(Forbidden::GatewayIsNoPerson.into()),
        }
    }

    /// The person, if they hold any of `roles`.
    pub fn person_with(&self, roles: &[Role]) -> ServiceResult<&Person> {
        let p = self.person()?;
        if roles.iter().any(|r| p.has_role(*r)) {
            Ok(p)
        } else {
            let names: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
            Err(Forbidden::RoleNeeded(names.join(", ")).into())
        }
    }
}

/// A fresh bearer secret with a prefix saying what it is for (`dpt_` person token, `dpg_` gateway).
pub fn new_secret(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{prefix}{}", B64URL.encode(bytes)))
}

/// Only this digest is stored; the secret itself is shown once.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What a session-token request must prove: it is signed by the session's device.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    /// The `Daypass-Signature` header, if sent.
    pub signature: Option<&'a str>,
    pub method: &'a str,
    /// The `Host` the request was sent to.
    pub host: &'a str,
    pub path_and_query: &'a str,
    pub body: &'a [u8],
}

impl Broker {
    /// Resolves a passkey session token (`dps_…`): the session must be live, its person active, its
    /// device unrevoked, and the request signed with that device's report key.
    pub async fn authenticate_session(
        &self,
        bearer: &SecretString,
        request: SignedRequest<'_>,
    ) -> ServiceResult<Caller> {
        let digest = secret_digest(bearer.expose_secret());
        let now = self.now();
        let nonce = request
            .signature
            .and_then(daypass_proto::request_signature::nonce_of);
        let mut conn = self.store().read().await?;
        let (holder, taken) = self
            .session_holder_taking_nonce(&mut conn, &digest, nonce, now)
            .await?;
        drop(conn);
        let (session, person, devices) = self.live(holder, Channel::App)?;
        let device_id = session.device.as_deref().unwrap_or_default();
        let device = devices
            .into_iter()
            .find(|d| d.id == device_id && !d.revoked && d.person == person.id)
            .ok_or_else(|| Unauthenticated::DeviceRevoked(device_id.to_string()))?;
        let key = device
            .report_public_key
            .as_deref()
            .and_then(|k| report_key(k).ok())
            .ok_or_else(|| Unauthenticated::DeviceWithoutKey(device.id.clone()))?;
        let signature = request.signature.ok_or(Unauthenticated::SignatureMissing)?;
        let signed = daypass_proto::request_signature::Request {
            method: request.method,
            host: request.host,
            path_and_query: request.path_and_query,
            token: bearer.expose_secret(),
            body: request.body,
        };
        let nonce = daypass_proto::request_signature::verify(&key, signature, &signed, now.unix_timestamp())
            .map_err(|e| Unauthenticated::Signature(e.to_string()))?;
        if !self.first_use_of_nonce(taken, &digest, &nonce, now) {
            return Err(Unauthenticated::Replayed.into());
        }
        Ok(Caller::Session {
            person,
            session,
            digest,
        })
    }

    /// Resolves a bearer token, with the scopes it is limited to (none: all its holder may do).
    /// Lookup is by digest, so timing reveals nothing about stored tokens.
    pub async fn authenticate(
        &self,
        bearer: &SecretString,
    ) -> ServiceResult<(Caller, Option<BTreeSet<Scope>>)> {
        let digest = secret_digest(bearer.expose_secret());
        let mut conn = self.store().read().await?;
        if bearer.expose_secret().starts_with("dpg_") {
            let gw = store::gateway_by_token(&mut conn, &digest)
                .await?
                .ok_or(Unauthenticated::UnknownToken)?;
            return Ok((Caller::Gateway(gw.name), None));
        }
        let (token, person) = store::api_token_holder(&mut conn, &digest)
            .await?
            .ok_or(Unauthenticated::UnknownToken)?;
        let now = self.now();
        if now >= token.expires_at {
            return Err(Unauthenticated::UnknownToken.into());
        }
        if !person.is_active(now) {
            return Err(Unauthenticated::AccountInactive(person.id.clone()).into());
        }
        Ok((Caller::Person(person), token.scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_stored_only_as_digests() {
        let a = new_secret("dpt_");
        let b = new_secret("dpt_");
        assert!(a.expose_secret().starts_with("dpt_"));
        assert_ne!(a.expose_secret(), b.expose_secret());
        let d = secret_digest(a.expose_secret());
        assert_eq!(d.len(), 64);
        assert!(!d.contains(&a.expose_secret()[4..]));
    }
}
