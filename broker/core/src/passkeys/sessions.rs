//! Passkey sessions: opened by a sign-in or an enrollment (in the app, bound to a device; or in a
//! browser on the broker's pages), looked up for each request, confirmed again by a step-up, ended
//! by sign-out, by revoking what they rest on, or by the account's end.

use crate::auth::{new_secret, secret_digest, Caller};
use crate::domain::directory::{Device, Person, Role};
use crate::domain::passkey::{Channel, Session};
use crate::store::{self, Change};
use crate::{Broker, Forbidden, ServiceResult, Unauthenticated};
use daypass_proto::api::SessionIssued;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use time::OffsetDateTime;

/// What a passkey confirmation vouched for, recorded with what it allowed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepUp {
    pub passkey: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A session just opened, with its token (shown once: to the app, or set as the browser's cookie).
#[derive(Debug)]
pub struct Opened {
    pub token: SecretString,
    pub session: Session,
}

impl Opened {
    /// What the app is handed for a session on its device.
    pub fn issued(&self) -> SessionIssued {
        SessionIssued {
            token: self.token.expose_secret().to_string(),
            person: self.session.person.clone(),
            device: self.session.place().to_string(),
            expires_at: self.session.expires_at,
        }
    }
}

impl Broker {
    pub(crate) async fn open_session(
        &self,
        change: &mut Change,
        person: &str,
        device: Option<String>,
        passkey: &str,
        now: OffsetDateTime,
    ) -> ServiceResult<Opened> {
        let session = Session {
            person: person.into(),
            device,
            passkey: passkey.into(),
            created_at: now,
            expires_at: now + self.0.settings.passkeys.session_ttl,
            stepped_up_at: Some(now),
            ended_at: None,
        };
        let token = new_secret(session.channel().token_prefix());
        store::put_session(change.conn(), &secret_digest(token.expose_secret()), &session).await?;
        change
            .audit(
                now,
                &format!("person:{person}"),
                "session.opened",
                session.place(),
                json!({ "passkey": passkey, "expires_at": session.expires_at.to_string() }),
            )
            .await?;
        Ok(Opened { token, session })
    }

    /// The live session stored under `digest` in `channel`, its active person and their devices.
    pub(crate) async fn live_session(
        &self,
        conn: &mut sqlx::AnyConnection,
        digest: &str,
        channel: Channel,
    ) -> ServiceResult<(Session, Person, Vec<Device>)> {
        self.live(store::session_holder(conn, digest).await?, channel)
    }

    /// The session of `holder` if it is live and in `channel`, with its active person and their devices.
    pub(crate) fn live(
        &self,
        holder: Option<store::SessionHolder>,
        channel: Channel,
    ) -> ServiceResult<(Session, Person, Vec<Device>)> {
        let now = self.now();
        let store::SessionHolder {
            session,
            person,
            devices,
        } = holder
            .filter(|h| h.session.channel() == channel)
            .ok_or(Unauthenticated::UnknownSession)?;
        session.check(now).map_err(Unauthenticated::Session)?;
        let person = person
            .filter(|p| p.is_active(now))
            .ok_or_else(|| Unauthenticated::AccountInactive(session.person.clone()))?;
        Ok((session, person, devices))
    }

    /// Resolves a browser session's cookie token (`dpw_…`); app session tokens are refused here.
    pub async fn authenticate_browser(&self, token: &SecretString) -> ServiceResult<Caller> {
        let digest = secret_digest(token.expose_secret());
        let mut conn = self.store().read().await?;
        let (session, person, _) = self.live_session(&mut conn, &digest, Channel::Browser).await?;
        Ok(Caller::Session {
            person,
            session,
            digest,
        })
    }

    /// The caller's passkey confirmation, if it is recent enough to count.
    pub(crate) fn fresh_step_up(&self, caller: &Caller) -> Option<StepUp> {
        let max_age = self.0.settings.passkeys.step_up_max_age;
        match caller {
            Caller::Session { session, .. } if session.stepped_up_within(max_age, self.now()) => {
                session.stepped_up_at.map(|at| StepUp {
                    passkey: session.passkey.clone(),
                    at,
                })
            }
            _ => None,
        }
    }

    /// The fresh step-up an approval rests on; refused without one when approvals require it.
    pub fn approval_step_up(&self, caller: &Caller) -> ServiceResult<Option<StepUp>> {
        let settings = &self.0.settings.passkeys;
        let fresh = self.fresh_step_up(caller);
        if fresh.is_none() && settings.approvals_require_step_up {
            return Err(Forbidden::ApprovalNeedsStepUp(settings.step_up_max_age.whole_minutes()).into());
        }
        Ok(fresh)
    }

    /// An admin's change of the access matrix on the console: it needs a passkey confirmation
    /// within the last minutes, as approving does.
    pub fn matrix_change_step_up(&self, caller: &Caller) -> ServiceResult<StepUp> {
        caller.person_with(&[Role::Admin])?;
        self.fresh_step_up(caller).ok_or_else(|| {
            Forbidden::ChangeNeedsStepUp(self.0.settings.passkeys.step_up_max_age.whole_minutes()).into()
        })
    }

    /// Ends the caller's session (sign out).
    pub async fn end_session(&self, caller: &Caller) -> ServiceResult<()> {
        let Caller::Session { digest, session, .. } = caller else {
            return Err(Forbidden::NotASession.into());
        };
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut ended = session.clone();
        ended.ended_at = Some(now);
        store::put_session(change.conn(), digest, &ended).await?;
        change
            .audit(now, &caller.actor(), "session.ended", session.place(), json!({}))
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Inside `change`: ends a person's live sessions (only those opened with `passkey`, if given).
    pub(crate) async fn end_sessions_in(
        &self,
        change: &mut Change,
        person: &str,
        passkey: Option<&str>,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        for (digest, mut s) in store::sessions_of(change.conn(), person).await? {
            if s.ended_at.is_none() && passkey.is_none_or(|p| p == s.passkey) {
                s.ended_at = Some(now);
                store::put_session(change.conn(), &digest, &s).await?;
            }
        }
        Ok(())
    }
}
