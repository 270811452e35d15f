//! The local protocol between the desktop app (or the `daypass` CLI) and the privileged tunnel
//! service: one JSON message per frame, each frame a 4-byte big-endian length and that many bytes.
//! The app sends `ToService`; the service answers each with one `FromService::Reply` and, on a
//! watch, pushes `FromService::Event`s. No secret travels back to the app: the service holds the
//! device keys and the broker token.

use crate::api::{AccessRequestView, EntitledResource, SuspensionView, TicketCheck};
use crate::grant::Grant;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Frames larger than this are refused (a grant list is a few KiB).
pub const MAX_FRAME: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ToService {
    /// Where the session stands.
    Status,
    /// Who this device signs in as and its public keys (for enrollment).
    Device,
    /// Sign in with a broker API token (for servers and scripts; people use passkeys).
    Login {
        token: String,
    },
    /// Enroll this device from an invite: the answer is a registration challenge for the
    /// contractor's authenticator, to be answered with `FinishCeremony`.
    Enroll {
        invite: String,
    },
    /// Sign in with a passkey: the answer is a challenge for the authenticator.
    SignIn {
        person: String,
    },
    /// The authenticator's answer (WebAuthn JSON) to the challenge last handed out.
    FinishCeremony {
        credential: serde_json::Value,
    },
    Logout,
    /// Check the device's posture now and send the signed report to the broker.
    Posture,
    /// The resources the signed-in person may request.
    Entitlements,
    /// Whether a ticket could be used for a request now (for the app's as-you-type check).
    CheckTicket {
        ticket: String,
    },
    /// This device's requests and grants, newest first.
    History,
    /// Ask for access; the service reports posture first, then requests.
    Request {
        resources: Vec<String>,
        ticket: String,
        /// e.g. `90m`, `4h`.
        duration: String,
        reason: String,
    },
    /// Bring the tunnel up for a grant issued earlier (e.g. approved while the app was closed).
    Up {
        grant: Uuid,
    },
    /// Disconnect now.
    Down,
    /// Push events on this connection until it closes.
    Watch,
}

/// Where the contractor's session stands, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionView {
    Idle,
    Requesting,
    PendingApproval {
        request: Uuid,
    },
    Active {
        grant: Box<Grant>,
        seconds_left: i64,
        /// Set while the broker holds the grant (posture failed or went silent): the tunnel stays
        /// up, the gateway lets nothing through, and this says what to fix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suspended: Option<Box<SuspensionView>>,
    },
    /// Active, inside the warning window before `not_after`.
    Expiring {
        grant: Box<Grant>,
        seconds_left: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suspended: Option<Box<SuspensionView>>,
    },
    Closed {
        why: ClosedReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ClosedReason {
    Expired,
    Revoked { detail: String },
    Denied { detail: String },
    Disconnected,
    Failed { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub device: String,
    /// The person signed in, if any.
    pub signed_in: Option<String>,
    pub interface: String,
    /// The broker this service talks to and the grant-signing key it pins (base64), so the app
    /// can hold them against its managed configuration.
    pub broker: String,
    pub broker_key: String,
    pub session: SessionView,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The device's public half, for `daypass-broker admin device add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device: String,
    pub wireguard_public_key: String,
    pub report_public_key: String,
}

/// One posture check as the contractor reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureLine {
    pub check: String,
    /// `pass`, `fail`, `unknown` or `not_applicable`.
    pub outcome: String,
    pub required: bool,
    pub evidence: Vec<String>,
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureView {
    pub compliant: bool,
    pub checks: Vec<PostureLine>,
    /// Whether the broker received the signed report (and what it said if not).
    pub sent_to_broker: Result<(), String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Status(Status),
    SignedIn {
        person: String,
    },
    /// Hand `options` to the authenticator as the page at `origin` would (or open the broker's
    /// ceremony page for `ceremony` in the browser).
    Ceremony {
        ceremony: uuid::Uuid,
        options: serde_json::Value,
        origin: String,
    },
    Device(DeviceInfo),
    Posture(PostureView),
    Entitlements {
        resources: Vec<EntitledResource>,
    },
    Ticket(TicketCheck),
    History {
        requests: Vec<AccessRequestView>,
    },
    /// Watching: events follow on this connection.
    Watching,
}

/// Why the service could not do what was asked: a stable `code` for scripts and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The broker's problem kind when it refused (`not-entitled`, `ticket-refused`, `posture-refused`,
    /// `unauthenticated`, …), else the service's own: `not-signed-in`, `busy`, `denied`, `expired`,
    /// `broker-unreachable`, `not-allowed`, `bad-request`, `tunnel`, `device`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The session changed (or a countdown tick while active).
    Session {
        status: Status,
    },
    /// `not_after` is near.
    Warning {
        seconds_left: i64,
    },
    Posture {
        compliant: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromService {
    Reply { result: Result<Answer, Refusal> },
    Event(Event),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame of {0} bytes is larger than the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("a frame that is not a valid message: {0}")]
    Malformed(String),
}

/// The frame carrying `message`.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(message).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// The body length a frame header announces, refused before anything is allocated when too large.
pub fn body_len(header: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_a_frame() {
        let msg = ToService::Request {
            resources: vec!["db".into()],
            ticket: "OPS-1".into(),
            duration: "4h".into(),
            reason: "migration".into(),
        };
        let frame = encode(&msg).unwrap();
        let len = body_len(frame[..4].try_into().unwrap()).unwrap();
        assert_eq!(len, frame.len() - 4);
        assert_eq!(decode::<ToService>(&frame[4..]).unwrap(), msg);
    }

    #[test]
    fn oversized_and_unknown_messages_are_refused() {
        assert_eq!(
            body_len((MAX_FRAME as u32 + 1).to_be_bytes()),
            Err(FrameError::TooLarge(MAX_FRAME + 1))
        );
        assert!(matches!(
            decode::<ToService>(br#"{"command":"format_disk"}"#),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode::<ToService>(br#"{"command":"request","resources":["db"]}"#),
            Err(FrameError::Malformed(_))
        ));
    }
}
