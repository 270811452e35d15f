//! The broker as WebAuthn relying party: its settings, and the ceremonies every passkey step opens
//! and takes (state in the database, single use, five minutes; every refusal audited). The steps are
//! the children: `enroll` (invites, a first passkey), `sign_in` (and step-up), `owned` (a person's
//! passkeys) and `sessions` (what a sign-in opens).

mod decoy;
mod enroll;
mod owned;
mod sessions;
mod sign_in;

pub use sessions::{Opened, StepUp};

use crate::auth::{new_secret, secret_digest, Caller};
use crate::domain::passkey::{
    check_counter, Ceremony, Channel, DeviceBinding, Invite, PasskeyRecord, PasskeyRefusal, Purpose,
    CEREMONY_TTL,
};
use crate::domain::validate_name;
use crate::store::{self, Change, Insertion};
use crate::{Broker, Conflict, DeviceSpec, InvalidInput, Missing, ServiceError, ServiceResult};
use daypass_proto::api::{Challenge, DeviceToBind, PasskeyView};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    Url, Webauthn, WebauthnBuilder, WebauthnError,
};

/// The relying party: the broker's RP ID (a domain, never an IP address) and the origins allowed.
#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Arc<Webauthn>,
    rp_id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RelyingParty")
            .field(&self.webauthn.get_allowed_origins())
            .finish()
    }
}

impl RelyingParty {
    pub fn new(rp_id: &str, origin: &str) -> Result<Self, String> {
        let url = Url::parse(origin).map_err(|e| format!("passkey origin {origin:?} is not a URL: {e}"))?;
        if rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "the passkey RP ID {rp_id:?} is an IP address, which browsers refuse: use the broker's DNS name (or localhost)"
            ));
        }
        let webauthn = WebauthnBuilder::new(rp_id, &url)
            .and_then(|b| b.rp_name("Daypass").build())
            .map_err(|e| format!("passkey RP ID {rp_id:?} does not fit origin {origin}: {e}"))?;
        Ok(RelyingParty {
            webauthn: Arc::new(webauthn),
            rp_id: rp_id.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct PasskeySettings {
    pub relying_party: RelyingParty,
    pub session_ttl: Duration,
    /// How recent a passkey assertion must be to approve or to request a sensitive resource.
    pub step_up_max_age: Duration,
    /// Approvals only from a passkey session with a fresh step-up (API tokens cannot approve).
    pub approvals_require_step_up: bool,
    /// Requests for resources with any of these tags need a fresh step-up too (e.g. `env:prod`).
    pub step_up_tags: std::collections::BTreeSet<String>,
}

impl Default for PasskeySettings {
    fn default() -> Self {
        PasskeySettings {
            relying_party: RelyingParty::new("localhost", "https://localhost:8443")
                .expect("constant relying party"),
            session_ttl: Duration::hours(12),
            step_up_max_age: Duration::minutes(5),
            approvals_require_step_up: true,
            step_up_tags: Default::default(),
        }
    }
}

/// WebAuthn's user handle for a person: stable, and not their id.
fn user_handle(person: &str) -> Uuid {
    let digest = Sha256::digest(format!("daypass-user:{person}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// A credential id as stored and shown: base64url without padding.
fn credential_id(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn state_of<T: serde::de::DeserializeOwned>(c: &Ceremony) -> ServiceResult<T> {
    serde_json::from_value(c.state.clone())
        .map_err(|e| ServiceError::Internal(format!("a damaged ceremony: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// What the app adds when it starts an enrollment or a sign-in: the device (its keys for an
/// enrollment, its id for a sign-in) and its PKCE code challenge.
#[derive(Debug, Clone)]
pub struct FromApp<T> {
    pub device: T,
    pub code_challenge: String,
}

impl<T> FromApp<T> {
    fn checked(mut self) -> ServiceResult<Self> {
        self.code_challenge = self.code_challenge.trim().to_string();
        if daypass_proto::pkce::is_challenge(&self.code_challenge) {
            Ok(self)
        } else {
            Err(InvalidInput::CodeChallenge.into())
        }
    }
}

/// Who finishes an enrollment or a sign-in: the app, with the PKCE code verifier of the challenge
/// it started with, or the broker's page in the browser.
#[derive(Debug, Clone, Copy)]
pub enum Finisher<'a> {
    App { code_verifier: Option<&'a str> },
    Browser,
}

/// The digest of the caller's passkey session, which `what` needs (API tokens have none).
fn session_digest<'a>(caller: &'a Caller, what: &'static str) -> ServiceResult<&'a str> {
    match caller {
        Caller::Session { digest, .. } => Ok(digest),
        _ => Err(PasskeyRefusal::NeedsSession(what).into()),
    }
}

/// Refuses to finish a ceremony in another channel than the one it started in, or in the app
/// without the verifier of its code challenge.
fn check_finisher(c: &Ceremony, by: Finisher<'_>) -> ServiceResult<()> {
    let channel = match by {
        Finisher::App { .. } => Channel::App,
        Finisher::Browser => Channel::Browser,
    };
    match c.purpose.opens() {
        Some(started) if started == channel => {}
        Some(Channel::App) => return Err(PasskeyRefusal::StartedInApp.into()),
        Some(Channel::Browser) => return Err(PasskeyRefusal::StartedInBrowser.into()),
        None => return Err(PasskeyRefusal::OtherCeremony("a sign-in or an enrollment").into()),
    }
    if let Finisher::App { code_verifier } = by {
        let challenge = c.purpose.code_challenge().unwrap_or_default();
        if !daypass_proto::pkce::verifies(challenge, code_verifier.unwrap_or_default()) {
            return Err(PasskeyRefusal::CodeVerifier.into());
        }
    }
    Ok(())
}

fn view(p: &PasskeyRecord) -> PasskeyView {
    PasskeyView {
        id: p.id.clone(),
        name: p.name.clone(),
        created_at: p.created_at,
        last_used_at: p.last_used_at,
        revoked: p.revoked_at.is_some(),
    }
}

impl Broker {
    fn relying_party(&self) -> &Webauthn {
        &self.0.settings.passkeys.relying_party.webauthn
    }

    /// Runs a ceremony step; a refusal is recorded in the audit log and returned to the caller.
    async fn refusals_audited<T>(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        step: impl std::future::Future<Output = ServiceResult<T>>,
    ) -> ServiceResult<T> {
        match step.await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.audit_refusal(actor, action, subject, e).await),
        }
    }

    /// Records a refused ceremony step (the refusal itself is returned to the caller).
    async fn audit_refusal(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        err: ServiceError,
    ) -> ServiceError {
        let mut entry = Insertion::default();
        entry.audit(
            self.now(),
            actor,
            action,
            subject,
            json!({ "refused": err.to_string() }),
        );
        if let Err(e) = self.store().insert(entry).await {
            return e.into();
        }
        err
    }

    /// Deletes the ceremonies that were answered or expired; says how many.
    pub async fn forget_spent_ceremonies(&self) -> ServiceResult<usize> {
        let now = self.now();
        let spent = {
            let mut conn = self.store().read().await?;
            store::spent_ceremonies(&mut conn, now).await?
        };
        if !spent.is_empty() {
            let mut change = self.store().change().await?;
            store::delete_ceremonies(change.conn(), &spent).await?;
            change.commit().await?;
        }
        Ok(spent.len())
    }

    /// Keeps a ceremony's state for five minutes and hands out its challenge.
    async fn open_ceremony(
        &self,
        person: &str,
        purpose: Purpose,
        state: serde_json::Value,
        options: serde_json::Value,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let ceremony = Ceremony {
            id: Uuid::new_v4(),
            person: person.into(),
            purpose,
            state,
            options,
            expires_at: now + CEREMONY_TTL,
        };
        let mut change = self.store().change().await?;
        store::put_ceremony(change.conn(), &ceremony).await?;
        change.commit().await?;
        Ok(self.challenge_of(ceremony))
    }

    /// The origin passkeys answer from, which is also the origin of the broker's own pages
    /// (`https://broker.example.com`, no trailing slash).
    pub fn origin(&self) -> String {
        let origin = self
            .relying_party()
            .get_allowed_origins()
            .first()
            .map(|o| o.to_string());
        origin.unwrap_or_default().trim_end_matches('/').to_string()
    }

    /// The ceremony as the authenticator's side sees it, with the origin it must answer from.
    fn challenge_of(&self, c: Ceremony) -> Challenge {
        Challenge {
            ceremony: c.id,
            options: c.options,
            origin: self.origin(),
        }
    }

    /// What a browser page hands the authenticator for an open ceremony (nothing once it expired or
    /// was answered).
    pub async fn ceremony_options(&self, id: Uuid) -> ServiceResult<Challenge> {
        let mut conn = self.store().read().await?;
        let c = store::open_ceremony(&mut conn, id)
            .await?
            .filter(|c| c.check(self.now()).is_ok())
            .ok_or_else(|| ServiceError::from(Missing::WaitingSignIn))?;
        Ok(self.challenge_of(c))
    }

    /// The ceremony, taken for good (a second answer finds nothing), if it is of the expected kind
    /// and unexpired.
    async fn take(&self, change: &mut Change, id: Uuid, now: OffsetDateTime) -> ServiceResult<Ceremony> {
        let c = store::take_ceremony(change.conn(), id)
            .await?
            .ok_or(PasskeyRefusal::UnknownChallenge)?;
        c.check(now)?;
        Ok(c)
    }
}
