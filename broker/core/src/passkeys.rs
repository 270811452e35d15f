//! The broker as WebAuthn relying party: invites, enrollment of a first passkey (with the device it
//! binds, from the app; or alone, from the broker's page), sign-in, step-up for approvals, more
//! passkeys for a signed-in person, and the owner's list of passkeys. Ceremony state stays in the
//! database, single use, five minutes; every refusal is audited.

use super::auth::{new_secret, secret_digest, Caller};
use super::sessions::{Opened, StepUp};
use super::{Broker, DeviceSpec, ServiceError, ServiceResult};
use crate::domain::passkey::{
    check_counter, Ceremony, Channel, DeviceBinding, Invite, PasskeyRecord, Purpose, CEREMONY_TTL,
};
use crate::store::{self, Change, Insertion};
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
pub struct RelyingParty(Arc<Webauthn>);

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RelyingParty")
            .field(&self.0.get_allowed_origins())
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
        Ok(RelyingParty(Arc::new(webauthn)))
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

pub(super) fn refused(message: impl Into<String>) -> ServiceError {
    ServiceError::Forbidden(message.into())
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
        .map_err(|e| ServiceError::Invalid(format!("a damaged ceremony: {e}")))
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
    fn checked(self) -> ServiceResult<Self> {
        if daypass_proto::pkce::is_challenge(&self.code_challenge) {
            Ok(self)
        } else {
            Err(ServiceError::Invalid(
                "code_challenge must be the base64url SHA-256 of a random code verifier (43 characters, PKCE S256)".into(),
            ))
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
fn session_digest<'a>(caller: &'a Caller, what: &str) -> ServiceResult<&'a str> {
    match caller {
        Caller::Session { digest, .. } => Ok(digest),
        _ => Err(refused(format!(
            "{what} needs a passkey session: sign in with your passkey"
        ))),
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
        Some(Channel::App) => {
            return Err(refused(
                "this sign-in was started in the Daypass app: finish it there",
            ))
        }
        Some(Channel::Browser) => {
            return Err(refused(
                "this sign-in was started on the broker's page: finish it there",
            ))
        }
        None => return Err(refused("this challenge is not a sign-in or an enrollment")),
    }
    if let Finisher::App { code_verifier } = by {
        let challenge = c.purpose.code_challenge().unwrap_or_default();
        if !daypass_proto::pkce::verifies(challenge, code_verifier.unwrap_or_default()) {
            return Err(refused(
                "the code verifier does not match the challenge this sign-in started with: only the app that started it can finish it",
            ));
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
        &self.0.settings.passkeys.relying_party.0
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

    /// A single-use invite for `person`, valid for `ttl`; the code is returned once.
    pub async fn invite(
        &self,
        actor: &str,
        person: &str,
        ttl: Duration,
    ) -> ServiceResult<(SecretString, Invite)> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let p = store::person(change.conn(), person)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no person {person:?}: add them first")))?;
        if !p.is_active(now) {
            return Err(ServiceError::Conflict(format!(
                "{person}'s account is disabled or their contract has ended"
            )));
        }
        let code = new_secret("dpi_");
        let invite = Invite {
            person: person.into(),
            expires_at: now + ttl,
            used_at: None,
            created_by: actor.into(),
        };
        store::put_invite(change.conn(), &secret_digest(code.expose_secret()), &invite).await?;
        change
            .audit(
                now,
                actor,
                "passkey.invited",
                person,
                json!({ "expires_at": invite.expires_at.to_string() }),
            )
            .await?;
        change.commit().await?;
        Ok((code, invite))
    }

    /// Starts enrollment from an invite: a registration challenge for the invited person, binding
    /// `device` (from the app) or none (from the broker's page, for a browser session).
    pub async fn enroll_start(
        &self,
        code: &SecretString,
        app: Option<FromApp<DeviceToBind>>,
    ) -> ServiceResult<Challenge> {
        let now = self.now();
        let digest = secret_digest(code.expose_secret());
        let started = async {
            let mut conn = self.store().read().await?;
            let invite = store::invite(&mut conn, &digest).await?.ok_or_else(|| {
                refused("unknown invite code: check it, or ask your administrator for a new one")
            })?;
            invite.check(now).map_err(refused)?;
            let app = app.map(FromApp::checked).transpose()?;
            if let Some(FromApp { device, .. }) = &app {
                super::admin::check_device_spec(
                    &device.id,
                    &device.wireguard_public_key,
                    Some(&device.report_public_key),
                )?;
                if store::device(&mut conn, &device.id).await?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "a device {:?} exists already: choose another device name",
                        device.id
                    )));
                }
            }
            let (device, code_challenge) = match app {
                Some(FromApp {
                    device: d,
                    code_challenge,
                }) => (
                    Some(DeviceBinding {
                        id: d.id,
                        name: d.name,
                        wireguard_public_key: d.wireguard_public_key,
                        report_public_key: d.report_public_key,
                    }),
                    Some(code_challenge),
                ),
                None => (None, None),
            };
            let purpose = Purpose::Enroll {
                invite_digest: digest.clone(),
                device,
                code_challenge,
            };
            self.registration_challenge(&mut conn, &invite.person, purpose, now)
                .await
        };
        self.refusals_audited("anonymous", "passkey.enroll_refused", &digest[..12], started)
            .await
    }

    /// A registration challenge for another passkey of `person` (their existing ones excluded).
    async fn registration_challenge(
        &self,
        conn: &mut sqlx::AnyConnection,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let existing: Vec<_> = store::passkeys_of(conn, person)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_value::<Passkey>(p.passkey.clone()).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let (options, state) = self
            .relying_party()
            .start_passkey_registration(user_handle(person), person, person, Some(existing))
            .map_err(|e| ServiceError::Invalid(format!("could not start the registration: {e}")))?;
        self.open_ceremony(person, purpose, to_json(&state), to_json(&options), now)
            .await
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
            .ok_or_else(|| {
                ServiceError::NotFound("no such sign-in is waiting: start again from the app".into())
            })?;
        Ok(self.challenge_of(c))
    }

    /// The ceremony, taken for good (a second answer finds nothing), if it is of the expected kind
    /// and unexpired.
    async fn take(&self, change: &mut Change, id: Uuid, now: OffsetDateTime) -> ServiceResult<Ceremony> {
        let c = store::take_ceremony(change.conn(), id)
            .await?
            .ok_or_else(|| refused("unknown or already answered challenge: start the sign-in again"))?;
        c.check(now).map_err(refused)?;
        Ok(c)
    }

    /// Finishes enrollment: the passkey is registered, the invite used, the device (if any) bound and
    /// a session opened, all in one transaction.
    pub async fn enroll_finish(
        &self,
        id: Uuid,
        credential: &serde_json::Value,
        by: Finisher<'_>,
    ) -> ServiceResult<Opened> {
        let now = self.now();
        let finished = async {
            let mut change = self.store().change().await?;
            let c = self.take(&mut change, id, now).await?;
            check_finisher(&c, by)?;
            let Purpose::Enroll {
                invite_digest,
                device,
                ..
            } = &c.purpose
            else {
                return Err(refused("this challenge is not an enrollment"));
            };
            let mut invite = store::invite(change.conn(), invite_digest)
                .await?
                .ok_or_else(|| refused("the invite is gone"))?;
            invite.check(now).map_err(refused)?;
            let name = match device {
                Some(d) if !d.name.is_empty() => d.name.clone(),
                Some(d) => d.id.clone(),
                None => "first passkey".into(),
            };
            let record = self.register(&mut change, &c, credential, name, now).await?;
            invite.used_at = Some(now);
            store::put_invite(change.conn(), invite_digest, &invite).await?;
            let actor = format!("person:{}", c.person);
            if let Some(device) = device {
                let spec = DeviceSpec {
                    id: device.id.clone(),
                    person: c.person.clone(),
                    name: device.name.clone(),
                    wireguard_public_key: device.wireguard_public_key.clone(),
                    report_public_key: Some(device.report_public_key.clone()),
                };
                self.add_device_in(&mut change, &actor, spec, now).await?;
            }
            let device = device.as_ref().map(|d| d.id.clone());
            change
                .audit(
                    now,
                    &actor,
                    "passkey.enrolled",
                    &c.person,
                    json!({ "passkey": record.id, "device": device }),
                )
                .await?;
            let opened = self
                .open_session(&mut change, &c.person, device, &record.id, now)
                .await?;
            change.commit().await?;
            Ok(opened)
        };
        self.refusals_audited("anonymous", "passkey.enroll_refused", &id.to_string(), finished)
            .await
    }

    /// Registers the passkey a registration ceremony answered, under `name`.
    async fn register(
        &self,
        change: &mut Change,
        c: &Ceremony,
        credential: &serde_json::Value,
        name: String,
        now: OffsetDateTime,
    ) -> ServiceResult<PasskeyRecord> {
        let answer: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|e| {
                ServiceError::Invalid(format!("the authenticator's answer is not WebAuthn JSON: {e}"))
            })?;
        let state: PasskeyRegistration = state_of(c)?;
        let passkey = self
            .relying_party()
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| refused(format!("the passkey registration was refused: {e}")))?;
        let id = credential_id(passkey.cred_id());
        if store::passkey(change.conn(), &id).await?.is_some() {
            return Err(ServiceError::Conflict(
                "this passkey is registered already".into(),
            ));
        }
        let record = PasskeyRecord {
            id,
            person: c.person.clone(),
            name,
            passkey: to_json(&passkey),
            counter: 0,
            created_at: now,
            last_used_at: Some(now),
            revoked_at: None,
        };
        store::put_passkey(change.conn(), &record).await?;
        Ok(record)
    }

    /// An authentication challenge for `person`'s passkeys, for a session on `device` (in the app)
    /// or in the browser (no device).
    pub async fn sign_in_start(&self, person: &str, app: Option<FromApp<&str>>) -> ServiceResult<Challenge> {
        let now = self.now();
        let place = app.as_ref().map_or("browser", |a| a.device);
        let started = async {
            let app = app.map(FromApp::checked).transpose()?;
            let device = app.as_ref().map(|a| a.device);
            let mut conn = self.store().read().await?;
            let Some(who) = store::person(&mut conn, person).await? else {
                return Err(refused(match device {
                    Some(_) => "unknown person or device",
                    None => "unknown person: check your user name",
                }));
            };
            if let Some(device) = device {
                let d = store::device(&mut conn, device)
                    .await?
                    .ok_or_else(|| refused("unknown person or device"))?;
                if d.person != who.id || d.revoked {
                    return Err(refused(format!(
                        "device {device:?} is not an enrolled device of {person}"
                    )));
                }
            }
            if !who.is_active(now) {
                return Err(refused(format!(
                    "account {person} is disabled or its contract has ended"
                )));
            }
            let purpose = Purpose::SignIn {
                device: device.map(str::to_string),
                code_challenge: app.map(|a| a.code_challenge),
            };
            self.assertion_challenge(&mut conn, person, purpose, now).await
        };
        self.refusals_audited(&format!("person:{person}"), "session.refused", place, started)
            .await
    }

    async fn assertion_challenge(
        &self,
        conn: &mut sqlx::AnyConnection,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let keys: Vec<Passkey> = store::passkeys_of(conn, person)
            .await?
            .iter()
            .filter(|p| p.revoked_at.is_none())
            .filter_map(|p| serde_json::from_value(p.passkey.clone()).ok())
            .collect();
        if keys.is_empty() {
            return Err(refused(format!(
                "{person} has no passkey: enroll one from an invite first"
            )));
        }
        let (options, state) = self
            .relying_party()
            .start_passkey_authentication(&keys)
            .map_err(|e| ServiceError::Invalid(format!("could not start the sign-in: {e}")))?;
        self.open_ceremony(person, purpose, to_json(&state), to_json(&options), now)
            .await
    }

    /// Verifies an assertion for the ceremony's person: a live passkey of theirs, user verified, the
    /// counter moving forward; the passkey's record is updated.
    async fn verify_assertion(
        &self,
        change: &mut Change,
        c: &Ceremony,
        credential: &serde_json::Value,
        now: OffsetDateTime,
    ) -> ServiceResult<PasskeyRecord> {
        let answer: PublicKeyCredential = serde_json::from_value(credential.clone()).map_err(|e| {
            ServiceError::Invalid(format!("the authenticator's answer is not WebAuthn JSON: {e}"))
        })?;
        let state: PasskeyAuthentication = state_of(c)?;
        let result = self
            .relying_party()
            .finish_passkey_authentication(&answer, &state)
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => {
                    refused("this passkey's signature counter went back: it may have been cloned, so it is refused; ask your administrator")
                }
                other => refused(format!("the passkey was refused: {other}")),
            })?;
        let id = credential_id(result.cred_id());
        let mut record = store::passkey(change.conn(), &id)
            .await?
            .filter(|p| p.person == c.person && p.revoked_at.is_none())
            .ok_or_else(|| refused("this passkey is unknown or revoked"))?;
        check_counter(record.counter, result.counter()).map_err(refused)?;
        let mut passkey: Passkey = serde_json::from_value(record.passkey.clone())
            .map_err(|e| ServiceError::Invalid(format!("a damaged passkey record: {e}")))?;
        passkey.update_credential(&result);
        record.passkey = to_json(&passkey);
        record.counter = result.counter();
        record.last_used_at = Some(now);
        store::put_passkey(change.conn(), &record).await?;
        Ok(record)
    }

    /// Finishes sign-in: a session on the device the ceremony was started for, or in the browser.
    pub async fn sign_in_finish(
        &self,
        id: Uuid,
        credential: &serde_json::Value,
        by: Finisher<'_>,
    ) -> ServiceResult<Opened> {
        let now = self.now();
        let finished = async {
            let mut change = self.store().change().await?;
            let c = self.take(&mut change, id, now).await?;
            check_finisher(&c, by)?;
            let Purpose::SignIn { device, .. } = &c.purpose else {
                return Err(refused("this challenge is not a sign-in"));
            };
            let record = self.verify_assertion(&mut change, &c, credential, now).await?;
            let opened = self
                .open_session(&mut change, &c.person, device.clone(), &record.id, now)
                .await?;
            change.commit().await?;
            Ok(opened)
        };
        self.refusals_audited("anonymous", "session.refused", &id.to_string(), finished)
            .await
    }

    /// A challenge for a fresh assertion within the caller's session.
    pub async fn step_up_start(&self, caller: &Caller) -> ServiceResult<Challenge> {
        let digest = session_digest(caller, "step-up")?;
        let person = caller.person()?;
        let mut conn = self.store().read().await?;
        let purpose = Purpose::StepUp {
            session_digest: digest.to_string(),
        };
        self.assertion_challenge(&mut conn, &person.id, purpose, self.now())
            .await
    }

    pub async fn step_up_finish(
        &self,
        caller: &Caller,
        id: Uuid,
        credential: &serde_json::Value,
    ) -> ServiceResult<StepUp> {
        let now = self.now();
        let finished = async {
            let digest = session_digest(caller, "step-up")?;
            let mut change = self.store().change().await?;
            let c = self.take(&mut change, id, now).await?;
            if c.purpose
                != (Purpose::StepUp {
                    session_digest: digest.to_string(),
                })
            {
                return Err(refused("this challenge belongs to another session"));
            }
            let record = self.verify_assertion(&mut change, &c, credential, now).await?;
            let mut session = store::session(change.conn(), digest)
                .await?
                .ok_or_else(|| refused("your session has ended: sign in again"))?;
            session.stepped_up_at = Some(now);
            store::put_session(change.conn(), digest, &session).await?;
            change
                .audit(
                    now,
                    &caller.actor(),
                    "session.stepped_up",
                    session.place(),
                    json!({ "passkey": record.id }),
                )
                .await?;
            change.commit().await?;
            Ok(StepUp {
                passkey: record.id,
                at: now,
            })
        };
        self.refusals_audited(
            &caller.actor(),
            "session.step_up_refused",
            &id.to_string(),
            finished,
        )
        .await
    }

    /// The caller's own passkeys.
    pub async fn passkeys(&self, caller: &Caller) -> ServiceResult<Vec<PasskeyView>> {
        let person = caller.person()?;
        let mut conn = self.store().read().await?;
        Ok(store::passkeys_of(&mut conn, &person.id)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// Revokes one of the caller's passkeys (an admin may revoke anyone's); its sessions end.
    pub async fn revoke_passkey(&self, caller: &Caller, id: &str) -> ServiceResult<PasskeyView> {
        let person = caller.person()?;
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut record = store::passkey(change.conn(), id)
            .await?
            .filter(|p| p.person == person.id || person.has_role(crate::domain::directory::Role::Admin))
            .ok_or_else(|| ServiceError::NotFound(format!("no passkey {id} of yours")))?;
        record.revoked_at.get_or_insert(now);
        store::put_passkey(change.conn(), &record).await?;
        self.end_sessions_in(&mut change, &record.person, Some(id), now)
            .await?;
        change
            .audit(
                now,
                &caller.actor(),
                "passkey.revoked",
                &record.person,
                json!({ "passkey": id }),
            )
            .await?;
        change.commit().await?;
        Ok(view(&record))
    }

    /// Starts registering another passkey for the caller, within a session confirmed by a passkey in
    /// the last minutes (adding a credential to an account is as sensitive as approving).
    pub async fn add_passkey_start(&self, caller: &Caller, name: &str) -> ServiceResult<Challenge> {
        let started = async {
            let digest = session_digest(caller, "adding a passkey")?;
            let person = caller.person()?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 64 {
                return Err(ServiceError::Invalid(
                    "name the new passkey (1 to 64 characters), e.g. \"YubiKey on my keyring\"".into(),
                ));
            }
            if self.fresh_step_up(caller).is_none() {
                return Err(refused(format!(
                    "adding a passkey needs a passkey confirmation within the last {} minutes: confirm with your passkey first",
                    self.0.settings.passkeys.step_up_max_age.whole_minutes()
                )));
            }
            let purpose = Purpose::AddPasskey {
                session_digest: digest.to_string(),
                name: name.into(),
            };
            let mut conn = self.store().read().await?;
            self.registration_challenge(&mut conn, &person.id, purpose, self.now())
                .await
        };
        self.refusals_audited(&caller.actor(), "passkey.add_refused", name, started)
            .await
    }

    /// Finishes registering another passkey for the caller.
    pub async fn add_passkey_finish(
        &self,
        caller: &Caller,
        id: Uuid,
        credential: &serde_json::Value,
    ) -> ServiceResult<PasskeyView> {
        let now = self.now();
        let finished = async {
            let digest = session_digest(caller, "adding a passkey")?;
            let mut change = self.store().change().await?;
            let c = self.take(&mut change, id, now).await?;
            let Purpose::AddPasskey { session_digest, name } = &c.purpose else {
                return Err(refused("this challenge is not for adding a passkey"));
            };
            if session_digest != digest {
                return Err(refused("this challenge belongs to another session"));
            }
            let record = self
                .register(&mut change, &c, credential, name.clone(), now)
                .await?;
            change
                .audit(
                    now,
                    &caller.actor(),
                    "passkey.added",
                    &c.person,
                    json!({ "passkey": record.id, "name": record.name }),
                )
                .await?;
            change.commit().await?;
            Ok(view(&record))
        };
        self.refusals_audited(&caller.actor(), "passkey.add_refused", &id.to_string(), finished)
            .await
    }
}
