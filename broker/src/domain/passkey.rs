//! Passkeys, invites, ceremonies and device-bound sessions as data, and the decisions over them and
//! `now`: an invite is used once before it expires, a ceremony answers once before it expires, a
//! signature counter never goes back, a session is bound to one device and lives until its end or
//! its account's, and a step-up counts for a few minutes.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

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
}

impl Invite {
    pub fn check(&self, now: OffsetDateTime) -> Result<(), String> {
        if self.used_at.is_some() {
            return Err("this invite was already used: ask your Daypass administrator for a new one".into());
        }
        if now >= self.expires_at {
            return Err(format!(
                "this invite expired at {}: ask your Daypass administrator for a new one",
                self.expires_at
            ));
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

/// What a ceremony is for; its WebAuthn state is kept beside it, server-side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    Enroll {
        invite_digest: String,
        device: DeviceBinding,
    },
    SignIn {
        device: String,
    },
    /// A fresh assertion for the session with this token digest.
    StepUp {
        session_digest: String,
    },
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
    pub fn check(&self, now: OffsetDateTime) -> Result<(), String> {
        if now >= self.expires_at {
            return Err("the sign-in took too long and its challenge expired: start again".into());
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
pub fn check_counter(stored: u32, presented: u32) -> Result<(), String> {
    if (stored != 0 || presented != 0) && presented <= stored {
        return Err(format!(
            "this passkey's signature counter went back ({presented} after {stored}): it may have been cloned, so it is refused; ask your administrator"
        ));
    }
    Ok(())
}

/// A signed-in person on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub person: String,
    pub device: String,
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
    pub fn check(&self, now: OffsetDateTime) -> Result<(), String> {
        if self.ended_at.is_some() || now >= self.expires_at {
            return Err("your session has ended: sign in again with your passkey".into());
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
        };
        assert!(invite.check(NOW).is_ok());
        assert!(invite
            .check(NOW + Duration::hours(1))
            .unwrap_err()
            .contains("expired"));
        invite.used_at = Some(NOW);
        assert!(invite.check(NOW).unwrap_err().contains("already used"));
    }

    #[test]
    fn counters_only_go_forward_unless_the_authenticator_keeps_none() {
        assert!(check_counter(0, 0).is_ok(), "synced passkeys send 0");
        assert!(check_counter(4, 5).is_ok());
        assert!(check_counter(5, 5).is_err());
        assert!(check_counter(5, 0).is_err(), "a counter that vanished");
    }

    #[test]
    fn sessions_end_and_step_ups_go_stale() {
        let mut s = Session {
            person: "ana".into(),
            device: "d".into(),
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
}
