//! Invites and enrollment: a first passkey from an invite (with the device it binds, from the app; or
//! alone, from the broker's page).

use super::*;

impl Broker {
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
            .ok_or_else(|| Missing::Person(person.to_string()))?;
        if !p.is_active(now) {
            return Err(Conflict::AccountInactive(person.to_string()).into());
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
            let invite = store::invite(&mut conn, &digest)
                .await?
                .ok_or(PasskeyRefusal::UnknownInvite)?;
            invite.check(now)?;
            let app = app.map(FromApp::checked).transpose()?;
            if let Some(FromApp { device, .. }) = &app {
                crate::admin::check_device_spec(
                    &device.id,
                    &device.wireguard_public_key,
                    Some(&device.report_public_key),
                )?;
                if store::device(&mut conn, &device.id).await?.is_some() {
                    return Err(Conflict::DeviceExists(device.id.clone()).into());
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
    pub(super) async fn registration_challenge(
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
            .map_err(|e| ServiceError::Internal(format!("could not start the registration: {e}")))?;
        self.open_ceremony(person, purpose, to_json(&state), to_json(&options), now)
            .await
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
                return Err(PasskeyRefusal::OtherCeremony("an enrollment").into());
            };
            let mut invite = store::invite(change.conn(), invite_digest)
                .await?
                .ok_or(PasskeyRefusal::InviteGone)?;
            invite.check(now)?;
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
    pub(super) async fn register(
        &self,
        change: &mut Change,
        c: &Ceremony,
        credential: &serde_json::Value,
        name: String,
        now: OffsetDateTime,
    ) -> ServiceResult<PasskeyRecord> {
        let answer: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| InvalidInput::NotWebAuthn(e.to_string()))?;
        let state: PasskeyRegistration = state_of(c)?;
        let passkey = self
            .relying_party()
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| PasskeyRefusal::Registration(e.to_string()))?;
        let id = credential_id(passkey.cred_id());
        if store::passkey(change.conn(), &id).await?.is_some() {
            return Err(Conflict::PasskeyRegistered.into());
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
}
