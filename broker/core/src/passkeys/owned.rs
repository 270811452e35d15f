//! A signed-in person's own passkeys: listed, another one added, one revoked.

use super::*;

impl Broker {
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
            .ok_or_else(|| Missing::Passkey(id.to_string()))?;
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
                return Err(InvalidInput::PasskeyName.into());
            }
            if self.fresh_step_up(caller).is_none() {
                return Err(PasskeyRefusal::AddingNeedsStepUp(
                    self.0.settings.passkeys.step_up_max_age.whole_minutes(),
                )
                .into());
            }
            let purpose = Purpose::AddPasskey {
                session_digest: digest.to_string(),
                name: name.into(),
            };
            let conn = self.store().read().await?;
            self.registration_challenge(conn, &person.id, purpose, self.now())
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
                return Err(PasskeyRefusal::OtherCeremony("for adding a passkey").into());
            };
            if session_digest != digest {
                return Err(PasskeyRefusal::OtherSession.into());
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
