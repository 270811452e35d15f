//! Passkeys, invites, ceremonies and sessions as data, and the decisions over them and `now`: an
//! invite is used once before it expires, a ceremony answers once before it expires and only in the
//! channel it started in, a signature counter never goes back, a session (in the app, bound to one
//! device; or in a browser on the broker's pages) lives until its end or its account's, and a
//! step-up counts for a few minutes.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Why a passkey ceremony, an invite or a session is refused (`403` at the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyRefusal {
    #[error("unknown person: check your user name")]
    UnknownPerson,
    #[error("unknown person or device")]
    UnknownPersonOrDevice,
    #[error("device {device:?} is not an enrolled device of {person}")]
    NotTheirDevice { device: String, person: String },
    #[error("account {0} is disabled or its contract has ended")]
    AccountInactive(String),
    #[error("{0} has no passkey: enroll one from an invite first")]
    NoPasskey(String),
    #[error(
        "this passkey's signature counter went back ({presented} after {stored}): it may have been cloned, so it is refused; ask your administrator"
    )]
    CounterWentBack { stored: u32, presented: u32 },
    /// The WebAuthn library's own counter check (it does not say the values).
    #[error("this passkey's signature counter went back: it may have been cloned, so it is refused; ask your administrator")]
    Cloned,
    #[error("the passkey was refused: {0}")]
    Assertion(String),
    #[error("the passkey registration was refused: {0}")]
    Registration(String),
    #[error("this passkey is unknown or revoked")]
    UnknownPasskey,
    #[error("unknown invite code: check it, or ask your administrator for a new one")]
    UnknownInvite,
    #[error("the invite is gone")]
    InviteGone,
    #[error("this invite was already used: ask your Daypass administrator for a new one")]
    InviteUsed,
    #[error("this invite waits for a second administrator to confirm it: ask them, then try again")]
    InviteAwaitsSecondAdmin,
    #[error("this invite expired at {0}: ask your Daypass administrator for a new one")]
    InviteExpired(OffsetDateTime),
    #[error("unknown or already answered challenge: start the sign-in again")]
    UnknownChallenge,
    #[error("the sign-in took too long and its challenge expired: start again")]
    ChallengeExpired,
    /// The challenge was opened for another ceremony ("a sign-in", "an enrollment", …).
    #[error("this challenge is not {0}")]
    OtherCeremony(&'static str),
    #[error("this challenge belongs to another session")]
    OtherSession,
    #[error("this sign-in was started in the Daypass app: finish it there")]
    StartedInApp,
    #[error("this sign-in was started on the broker's page: finish it there")]
    StartedInBrowser,
    #[error("the code verifier does not match the challenge this sign-in started with: only the app that started it can finish it")]
    CodeVerifier,
    #[error("{0} needs a passkey session: sign in with your passkey")]
    NeedsSession(&'static str),
    #[error("adding a passkey needs a passkey confirmation within the last {0} minutes: confirm with your passkey first")]
    AddingNeedsStepUp(i64),
    #[error("your session has ended: sign in again with your passkey")]
    SessionEnded,
}

impl PasskeyRefusal {
    /// Whether the refusal says something about who exists or has what: an anonymous sign-in start
    /// must not learn that, so it gets a challenge like anyone else's (the reason goes to the audit log).
    pub fn is_about_who(&self) -> bool {
        matches!(
            self,
            PasskeyRefusal::UnknownPerson
                | PasskeyRefusal::UnknownPersonOrDevice
                | PasskeyRefusal::NotTheirDevice { .. }
                | PasskeyRefusal::AccountInactive(_)
                | PasskeyRefusal::NoPasskey(_)
        )
    }
}

/// How long a ceremony's challenge may be answered.
pub const CEREMONY_TTL: Duration = Duration::minutes(5);

/// A single-use enrollment invitation for a person (only a digest of its code is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub person: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    pub created_by: String,
    /// For an account with standing (a passkey already, or a staff role), issued from the console:
    /// it works only once a second admin confirms it.
    #[serde(default)]
    pub second_admin: Option<SecondAdmin>,
}

/// The second admin an invite waits for, and why it waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondAdmin {
    pub needed_because: String,
    pub confirmed_by: Option<String>,
}

impl Invite {
    pub fn check(&self, now: OffsetDateTime) -> Result<(), PasskeyRefusal> {
        if self.used_at.is_some() {
            return Err(PasskeyRefusal::InviteUsed);
        }
        if self
            .second_admin
            .as_ref()
            .is_some_and(|g| g.confirmed_by.is_none())
        {
            return Err(PasskeyRefusal::InviteAwaitsSecondAdmin);
        }
        if now >= self.expires_at {
            return Err(PasskeyRefusal::InviteExpired(self.expires_at));
        }
        Ok(())
    }
}

/// The device a person binds while enrolling their passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceBinding {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub wireguard_public_key: String,
    pub report_public_key: String,
}

/// Where a session lives: in the Daypass app on an enrolled device (every request signed with that
/// device's key), or in a browser on the broker's own pages (an HttpOnly cookie, and a CSRF token
/// on every change). A ceremony started in one cannot be finished in the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    App,
    Browser,
}

impl Channel {
    /// The prefix of this channel's session tokens.
    pub fn token_prefix(self) -> &'static str {
        match self {
            Channel::App => "dps_",
            Channel::Browser => "dpw_",
        }
    }

    fn of<T>(device: &Option<T>) -> Channel {
        if device.is_some() {
            Channel::App
        } else {
            Channel::Browser
        }
    }
}

/// What a ceremony is for; its WebAuthn state is kept beside it, server-side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    /// A first passkey from an invite; with a device from the app, without one from the broker's page.
    Enroll {
        invite_digest: String,
        device: Option<DeviceBinding>,
        /// The app's PKCE code challenge (none on the broker's page).
        code_challenge: Option<String>,
    },
    SignIn {
        device: Option<String>,
        code_challenge: Option<String>,
    },
    /// A fresh assertion for the session with this token digest.
    StepUp { session_digest: String },
    /// Another passkey for the person of the session with this token digest.
    AddPasskey { session_digest: String, name: String },
}

impl Purpose {
    /// The channel whose session an enrollment or sign-in opens (none for the others).
    pub fn opens(&self) -> Option<Channel> {
        match self {
            Purpose::Enroll { device, .. } => Some(Channel::of(device)),
            Purpose::SignIn { device, .. } => Some(Channel::of(device)),
            Purpose::StepUp { .. } | Purpose::AddPasskey { .. } => None,
        }
    }

    /// The PKCE code challenge the finish call must answer, if the app started it.
    pub fn code_challenge(&self) -> Option<&str> {
        match self {
            Purpose::Enroll { code_challenge, .. } | Purpose::SignIn { code_challenge, .. } => {
                code_challenge.as_deref()
            }
            Purpose::StepUp { .. } | Purpose::AddPasskey { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ceremony {
    pub id: Uuid,
    pub person: String,
    pub purpose: Purpose,
    /// webauthn-rs's registration or authentication state.
    pub state: serde_json::Value,
    /// What the authenticator is handed (public: the challenge and the allowed credentials).
    pub options: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Ceremony {
    pub fn check(&self, now: OffsetDateTime) -> Result<(), PasskeyRefusal> {
        if now >= self.expires_at {
            return Err(PasskeyRefusal::ChallengeExpired);
        }
        Ok(())
    }
}

/// A registered passkey.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyRecord {
    /// The credential id, base64url.
    pub id: String,
    pub person: String,
    pub name: String,
    /// webauthn-rs's `Passkey` (public key and credential data; no secret).
    pub passkey: serde_json::Value,
    /// The highest signature counter seen.
    pub counter: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A counter that does not move forward means a cloned authenticator (WebAuthn §6.1.1); authenticators
/// that keep no counter (most synced passkeys) always send 0.
pub fn check_counter(stored: u32, presented: u32) -> Result<(), PasskeyRefusal> {
    if (stored != 0 || presented != 0) && presented <= stored {
        return Err(PasskeyRefusal::CounterWentBack { stored, presented });
    }
    Ok(())
}

/// A signed-in person, in the app on one device or in a browser on the broker's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub person: String,
    /// The device of an app session; none for a browser session.
    #[serde(default)]
    pub device: Option<String>,
    /// The passkey that opened it.
    pub passkey: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stepped_up_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

impl Session {
    pub fn channel(&self) -> Channel {
        Channel::of(&self.device)
    }

    /// Where the session is, as the audit log names it: the device, or `browser`.
    pub fn place(&self) -> &str {
        self.device.as_deref().unwrap_or("browser")
    }

    pub fn check(&self, now: OffsetDateTime) -> Result<(), PasskeyRefusal> {
        if self.ended_at.is_some() || now >= self.expires_at {
            return Err(PasskeyRefusal::SessionEnded);
        }
        Ok(())
    }

    /// Whether a passkey assertion was made within `max_age` of `now`.
    pub fn stepped_up_within(&self, max_age: Duration, now: OffsetDateTime) -> bool {
        self.stepped_up_at.is_some_and(|t| now - t <= max_age && t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    #[test]
    fn an_invite_is_used_once_and_before_it_expires() {
        let mut invite = Invite {
            person: "ana".into(),
            expires_at: NOW + Duration::hours(1),
            used_at: None,
            created_by: "person:ida".into(),
            second_admin: None,
        };
        assert!(invite.check(NOW).is_ok());
        assert_eq!(
            invite.check(NOW + Duration::hours(1)),
            Err(PasskeyRefusal::InviteExpired(NOW + Duration::hours(1)))
        );
        invite.used_at = Some(NOW);
        assert_eq!(invite.check(NOW), Err(PasskeyRefusal::InviteUsed));
    }

    #[test]
    fn counters_only_go_forward_unless_the_authenticator_keeps_none() {
        assert!(check_counter(0, 0).is_ok(), "synced passkeys send 0");
        assert!(check_counter(4, 5).is_ok());
        assert_eq!(
            check_counter(5, 5),
            Err(PasskeyRefusal::CounterWentBack {
                stored: 5,
                presented: 5
            })
        );
        assert!(check_counter(5, 0).is_err(), "a counter that vanished");
    }

    #[test]
    fn sessions_end_and_step_ups_go_stale() {
        let mut s = Session {
            person: "ana".into(),
            device: Some("d".into()),
            passkey: "k".into(),
            created_at: NOW,
            expires_at: NOW + Duration::hours(12),
            stepped_up_at: Some(NOW),
            ended_at: None,
        };
        assert!(s.check(NOW + Duration::hours(11)).is_ok());
        assert!(s.check(NOW + Duration::hours(12)).is_err());
        assert!(s.stepped_up_within(Duration::minutes(5), NOW + Duration::minutes(5)));
        assert!(!s.stepped_up_within(Duration::minutes(5), NOW + Duration::minutes(6)));
        s.ended_at = Some(NOW);
        assert!(s.check(NOW).is_err());
    }

    #[test]
    fn a_ceremony_opens_a_session_in_the_channel_it_started_in() {
        let app = Purpose::SignIn {
            device: Some("laptop".into()),
            code_challenge: Some("c".into()),
        };
        let browser = Purpose::Enroll {
            invite_digest: "d".into(),
            device: None,
            code_challenge: None,
        };
        assert_eq!(app.opens(), Some(Channel::App));
        assert_eq!(app.code_challenge(), Some("c"));
        assert_eq!(browser.opens(), Some(Channel::Browser));
        let step_up = Purpose::StepUp {
            session_digest: "s".into(),
        };
        assert_eq!(step_up.opens(), None);
        assert_ne!(Channel::App.token_prefix(), Channel::Browser.token_prefix());
    }
}
