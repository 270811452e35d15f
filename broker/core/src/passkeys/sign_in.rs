//! Signing in with a passkey, and the step-up that confirms a signed-in person again (for approvals
//! and sensitive resources).

use super::decoy::is_decoy;
use super::*;

impl Broker {
    /// An authentication challenge for `person`'s passkeys, for a session on `device` (in the app)
    /// or in the browser (no device). Anyone may call this, so what they send is checked before
    /// anything is written (names that are not identifiers, a malformed PKCE challenge: refused
    /// unrecorded), each person's starts are rate-limited, and someone who cannot sign in here gets
    /// a challenge like anyone else's (a decoy): the reason goes to the audit log, not to the caller.
    pub async fn sign_in_start(&self, person: &str, app: Option<FromApp<&str>>) -> ServiceResult<Challenge> {
        let now = self.now();
        validate_name("person id", person)?;
        if let Some(app) = &app {
            validate_name("device id", app.device)?;
        }
        (self.0.limits.sign_in_starts).allow("sign-ins", person, now)?;
        let app = app.map(FromApp::checked).transpose()?;
        let place = app.as_ref().map_or("browser", |a| a.device);
        let purpose = Purpose::SignIn {
            device: app.as_ref().map(|a| a.device.to_string()),
            code_challenge: app.as_ref().map(|a| a.code_challenge.clone()),
        };
        let started = self.sign_in_challenge(person, purpose.clone(), now);
        let answer = self
            .refusals_audited(&format!("person:{person}"), "session.refused", place, started)
            .await;
        if answer.is_err() {
            self.watch_refusal(person, now).await;
        }
        match answer {
            Err(ServiceError::Passkey(why)) if why.is_about_who() => {
                self.decoy_challenge(person, purpose, now).await
            }
            answer => answer,
        }
    }

    /// The challenge for a person who may sign in (on the device the purpose names), or why not.
    async fn sign_in_challenge(
        &self,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let device = match &purpose {
            Purpose::SignIn { device, .. } => device.clone(),
            _ => None,
        };
        let mut conn = self.store().read().await?;
        let Some(who) = store::person(&mut conn, person).await? else {
            return Err(match device {
                Some(_) => PasskeyRefusal::UnknownPersonOrDevice,
                None => PasskeyRefusal::UnknownPerson,
            }
            .into());
        };
        if let Some(device) = device {
            let d = store::device(&mut conn, &device)
                .await?
                .ok_or(PasskeyRefusal::UnknownPersonOrDevice)?;
            if d.person != who.id || d.revoked {
                return Err(PasskeyRefusal::NotTheirDevice {
                    device,
                    person: person.to_string(),
                }
                .into());
            }
        }
        if !who.is_active(now) {
            return Err(PasskeyRefusal::AccountInactive(person.to_string()).into());
        }
        self.assertion_challenge(conn, person, purpose, now).await
    }

    pub(super) async fn assertion_challenge(
        &self,
        mut conn: crate::store::ReadConnection,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let keys: Vec<Passkey> = store::passkeys_of(&mut conn, person)
            .await?
            .iter()
            .filter(|p| p.revoked_at.is_none())
            .filter_map(|p| serde_json::from_value(p.passkey.clone()).ok())
            .collect();
        if keys.is_empty() {
            return Err(PasskeyRefusal::NoPasskey(person.to_string()).into());
        }
        let (options, state) = self
            .relying_party()
            .start_passkey_authentication(&keys)
            .map_err(|e| ServiceError::Internal(format!("could not start the sign-in: {e}")))?;
        // The reading connection goes back first: opening the ceremony waits for the writer's turn.
        drop(conn);
        self.open_ceremony(person, purpose, to_json(&state), to_json(&options), now)
            .await
    }

    /// Verifies an assertion for the ceremony's person: a live passkey of theirs, user verified, the
    /// counter moving forward; the passkey's record is updated.
    pub(super) async fn verify_assertion(
        &self,
        change: &mut Change,
        c: &Ceremony,
        credential: &serde_json::Value,
        now: OffsetDateTime,
    ) -> ServiceResult<PasskeyRecord> {
        let answer: PublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| InvalidInput::NotWebAuthn(e.to_string()))?;
        let state: PasskeyAuthentication = state_of(c)?;
        let result = self
            .relying_party()
            .finish_passkey_authentication(&answer, &state)
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => PasskeyRefusal::Cloned,
                other => PasskeyRefusal::Assertion(other.to_string()),
            })?;
        let id = credential_id(result.cred_id());
        let mut record = store::passkey(change.conn(), &id)
            .await?
            .filter(|p| p.person == c.person && p.revoked_at.is_none())
            .ok_or(PasskeyRefusal::UnknownPasskey)?;
        check_counter(record.counter, result.counter())?;
        let mut passkey: Passkey = serde_json::from_value(record.passkey.clone())
            .map_err(|e| ServiceError::Internal(format!("a damaged passkey record: {e}")))?;
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
                return Err(PasskeyRefusal::OtherCeremony("a sign-in").into());
            };
            if is_decoy(&c) {
                return Err(PasskeyRefusal::UnknownPasskey.into());
            }
            let record = self.verify_assertion(&mut change, &c, credential, now).await?;
            let opened = self
                .open_session(&mut change, &c.person, device.clone(), &record.id, now)
                .await?;
            change.commit().await?;
            Ok(opened)
        };
        let opened = self
            .refusals_audited("anonymous", "session.refused", &id.to_string(), finished)
            .await?;
        self.watch_sign_in(&opened.session.person, now).await;
        Ok(opened)
    }

    /// A challenge for a fresh assertion within the caller's session.
    pub async fn step_up_start(&self, caller: &Caller) -> ServiceResult<Challenge> {
        let digest = session_digest(caller, "step-up")?;
        let person = caller.person()?;
        let conn = self.store().read().await?;
        let purpose = Purpose::StepUp {
            session_digest: digest.to_string(),
        };
        self.assertion_challenge(conn, &person.id, purpose, self.now())
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
                return Err(PasskeyRefusal::OtherSession.into());
            }
            let record = self.verify_assertion(&mut change, &c, credential, now).await?;
            let mut session = store::session(change.conn(), digest)
                .await?
                .ok_or(PasskeyRefusal::SessionEnded)?;
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
}
