//! Invites and enrollment: a first passkey from an invite (with the device it binds, from the app; or
//! alone, from the broker's page).

use super::*;
use crate::domain::directory::Role;
use crate::domain::invalid::InvalidValue;
use crate::domain::passkey::SecondAdmin;
use crate::store::Change;
use crate::{Forbidden, PersonSpec};

impl Broker {
    /// A single-use invite for `person`, valid for `ttl`; the code is returned once. This is the
    /// operator's (the CLI on the broker's machine, which holds the database and the signing key
    /// anyway, and must be able to invite the first admin); the console uses `invite_as`.
    pub async fn invite(
        &self,
        actor: &str,
        person: &str,
        ttl: Duration,
    ) -> ServiceResult<(SecretString, Invite)> {
        self.issue_invite(actor, person, ttl, None).await
    }

    /// An invite issued by an admin from the console. For an account with standing — a passkey
    /// already, or a staff role — an invite could take it over (enroll the admin's own passkey as
    /// that person), so it needs the issuing admin's fresh passkey confirmation and works only once
    /// a second admin confirms it (`confirm_invite`); both steps are audited and announced.
    pub async fn invite_as(
        &self,
        admin: &Caller,
        person: &str,
        ttl: Duration,
    ) -> ServiceResult<(SecretString, Invite)> {
        admin.person_with(&[Role::Admin])?;
        let standing = {
            let mut conn = self.store().read().await?;
            let p = store::person(&mut conn, person)
                .await?
                .ok_or_else(|| Missing::Person(person.to_string()))?;
            let has_passkey = store::passkeys_of(&mut conn, person)
                .await?
                .iter()
                .any(|k| k.revoked_at.is_none());
            let staff: Vec<String> = p
                .roles
                .iter()
                .filter(|r| **r != Role::Contractor)
                .map(|r| r.to_string())
                .collect();
            match (has_passkey, staff.is_empty()) {
                (false, true) => None,
                (true, _) => Some(format!("{person} has a passkey already")),
                (false, false) => Some(format!("{person} is {}", staff.join(", "))),
            }
        };
        let Some(needed_because) = standing else {
            return self.issue_invite(&admin.actor(), person, ttl, None).await;
        };
        self.invite_step_up(admin)?;
        let guard = SecondAdmin {
            needed_because,
            confirmed_by: None,
        };
        let issued = self
            .issue_invite(&admin.actor(), person, ttl, Some(guard))
            .await?;
        self.announce(format!(
            "{} issued an invite to enroll a passkey for {person} ({}); it works once a second admin confirms it on the administration page.",
            admin.actor(),
            issued.1.second_admin.as_ref().map_or("", |g| g.needed_because.as_str())
        ));
        Ok(issued)
    }

    /// Inviting to, or confirming an invite for, an account with standing is as sensitive as
    /// approving: it needs the admin's passkey confirmation within the last minutes.
    fn invite_step_up(&self, admin: &Caller) -> ServiceResult<()> {
        match self.fresh_step_up(admin) {
            Some(_) => Ok(()),
            None => Err(Forbidden::InviteNeedsStepUp(
                self.0.settings.passkeys.step_up_max_age.whole_minutes(),
            )
            .into()),
        }
    }

    async fn issue_invite(
        &self,
        actor: &str,
        person: &str,
        ttl: Duration,
        second_admin: Option<SecondAdmin>,
    ) -> ServiceResult<(SecretString, Invite)> {
        let mut change = self.store().change().await?;
        let issued = self
            .issue_invite_in(&mut change, actor, person, ttl, second_admin)
            .await?;
        change.commit().await?;
        Ok(issued)
    }

    /// A new contractor in one step (the admin page's form): the person, with the contractor role,
    /// and their invite, written together; needs the admin's fresh passkey confirmation.
    pub async fn onboard_contractor(
        &self,
        admin: &Caller,
        spec: PersonSpec,
        ttl: Duration,
    ) -> ServiceResult<(SecretString, Invite)> {
        admin.person_with(&[Role::Admin])?;
        self.invite_step_up(admin)?;
        if !spec.email.contains('@') {
            return Err(InvalidValue::Email(spec.email.clone()).into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        if store::person(change.conn(), &spec.id).await?.is_some() {
            return Err(Conflict::PersonExists(spec.id.clone()).into());
        }
        let spec = PersonSpec {
            roles: [Role::Contractor].into(),
            ..spec
        };
        let person = self.put_person_in(&mut change, &admin.actor(), spec, now).await?;
        let issued = self
            .issue_invite_in(&mut change, &admin.actor(), &person.id, ttl, None)
            .await?;
        change.commit().await?;
        Ok(issued)
    }

    /// Inside `change`: an invite for `person`, shown once.
    async fn issue_invite_in(
        &self,
        change: &mut Change,
        actor: &str,
        person: &str,
        ttl: Duration,
        second_admin: Option<SecondAdmin>,
    ) -> ServiceResult<(SecretString, Invite)> {
        let now = self.now();
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
            second_admin,
        };
        let digest = secret_digest(code.expose_secret());
        store::put_invite(change.conn(), &digest, &invite).await?;
        change
            .audit(
                now,
                actor,
                "passkey.invited",
                person,
                json!({
                    "expires_at": invite.expires_at.to_string(),
                    "invite": invite_reference(&digest),
                    "needs_second_admin": invite.second_admin.as_ref().map(|g| &g.needed_because),
                }),
            )
            .await?;
        Ok((code, invite))
    }

    /// Invites issued from the console that wait for a second admin, by reference.
    pub async fn invites_awaiting_second_admin(&self) -> ServiceResult<Vec<(String, Invite)>> {
        let now = self.now();
        let mut conn = self.store().read().await?;
        Ok(store::invites(&mut conn)
            .await?
            .into_iter()
            .filter(|(_, i)| i.used_at.is_none() && now < i.expires_at)
            .filter(|(_, i)| i.second_admin.as_ref().is_some_and(|g| g.confirmed_by.is_none()))
            .map(|(digest, i)| (invite_reference(&digest), i))
            .collect())
    }

    /// A second admin, with a fresh passkey confirmation, lets an invite for an account with
    /// standing work. The admin who issued it cannot.
    pub async fn confirm_invite(&self, admin: &Caller, reference: &str) -> ServiceResult<Invite> {
        admin.person_with(&[Role::Admin])?;
        self.invite_step_up(admin)?;
        let now = self.now();
        let mut change = self.store().change().await?;
        let (digest, mut invite) = store::invites(change.conn())
            .await?
            .into_iter()
            .find(|(d, i)| invite_reference(d) == reference && i.second_admin.is_some())
            .ok_or_else(|| Missing::Invite(reference.to_string()))?;
        if invite.created_by == admin.actor() {
            return Err(Forbidden::OwnInvite.into());
        }
        if let Some(guard) = invite.second_admin.as_mut() {
            guard.confirmed_by = Some(admin.actor());
        }
        store::put_invite(change.conn(), &digest, &invite).await?;
        change
            .audit(
                now,
                &admin.actor(),
                "passkey.invite_confirmed",
                &invite.person,
                json!({ "invite": reference, "issued_by": invite.created_by }),
            )
            .await?;
        change.commit().await?;
        self.announce(format!(
            "{} confirmed the invite for {} issued by {}.",
            admin.actor(),
            invite.person,
            invite.created_by
        ));
        Ok(invite)
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
            self.registration_challenge(conn, &invite.person, purpose, now)
                .await
        };
        self.refusals_audited("anonymous", "passkey.enroll_refused", &digest[..12], started)
            .await
    }

    /// A registration challenge for another passkey of `person` (their existing ones excluded).
    pub(super) async fn registration_challenge(
        &self,
        mut conn: crate::store::ReadConnection,
        person: &str,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> ServiceResult<Challenge> {
        let existing: Vec<_> = store::passkeys_of(&mut conn, person)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_value::<Passkey>(p.passkey.clone()).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let (options, state) = self
            .relying_party()
            .start_passkey_registration(user_handle(person), person, person, Some(existing))
            .map_err(|e| ServiceError::Internal(format!("could not start the registration: {e}")))?;
        // The reading connection goes back first: opening the ceremony waits for the writer's turn.
        drop(conn);
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
            // A passkey added to an account that has one already is never silent.
            let had_passkey = store::passkeys_of(change.conn(), &c.person)
                .await?
                .iter()
                .any(|k| k.revoked_at.is_none());
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
                    json!({ "passkey": record.id, "device": device, "invited_by": invite.created_by, "beside_another": had_passkey }),
                )
                .await?;
            let opened = self
                .open_session(&mut change, &c.person, device, &record.id, now)
                .await?;
            change.commit().await?;
            if had_passkey {
                self.announce(format!(
                    "A new passkey was enrolled for {}, who had one already, from an invite issued by {}. If {} did not do this, revoke it on the administration page.",
                    c.person, invite.created_by, c.person
                ));
            }
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

/// How an invite is named on the console and in the audit log: the start of its code's digest
/// (never the code).
fn invite_reference(digest: &str) -> String {
    digest.chars().take(12).collect()
}
