//! Request and response bodies of the broker's `/api/v1`.

use crate::grant::Grant;
use crate::resource::{PortRange, Protocol};
use crate::signed::Signed;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::gateway_stream::{grants_digest, GatewayDelta, GatewayState, StateSeal};

/// Body of `POST /api/v1/requests`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccessRequest {
    /// Id of one of the requester's enrolled devices.
    pub device: String,
    /// Resource names, from the requester's entitlements.
    pub resources: Vec<String>,
    /// Ticket key the work is tracked under, e.g. `OPS-142`.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub ticket: String,
    /// Why the access is needed; shown to approvers and kept in the audit log.
    // Not blank: a character outside the whitespace Rust's `trim` removes (Unicode White_Space),
    // spelled out since `\s` means other sets in ECMAScript and Python (U+0085, U+FEFF, U+001C–F).
    #[schema(
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]",
        max_length = 2000
    )]
    pub reason: String,
    /// How long, e.g. `90m`, `4h`, `1h30m`, `2d`: days, hours, minutes, seconds in that order, not
    /// zero; capped by the entitlement.
    #[schema(pattern = "^(?![0dhms]*$)([0-2]?[0-9]{1,2}d)?([0-9]{1,3}h)?([0-9]{1,4}m)?([0-9]{1,5}s)?$")]
    pub duration: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Granted,
    Denied,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    pub approver: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub comment: Option<String>,
}

/// An access request as the requester and approvers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessRequestView {
    pub id: Uuid,
    pub requester: String,
    pub device: String,
    pub resources: Vec<String>,
    pub ticket: String,
    pub reason: String,
    pub duration_seconds: i64,
    pub status: RequestStatus,
    /// Name of the approval policy that applied.
    pub policy: String,
    pub approvals_required: u32,
    pub approvals: Vec<ApprovalView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A pending request expires at this time.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub denial_reason: Option<String>,
    pub grant_id: Option<Uuid>,
}

/// Body of `POST /api/v1/requests/{id}/approve`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    pub comment: Option<String>,
}

/// Body of deny and revoke calls: a reason is required.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, in words the other side can read (not blank).
    // Not blank, as `CreateAccessRequest::reason`.
    #[schema(
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Signed, `not_before` still ahead.
    Scheduled,
    Active,
    /// Live, but held: the device's posture fails a check that gated it (or went silent), so
    /// gateways let nothing through until a compliant report resumes it. `not_after` stays.
    Suspended,
    Expired,
    Revoked,
}

/// A grant with its current state and the signed form to hand to gateways and clients.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    pub grant: Grant,
    pub signed: Signed<Grant>,
    pub status: GrantStatus,
    pub end_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Why the grant is held, while it is (`status` is then `suspended`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<SuspensionView>,
    /// How often the device must send a fresh posture report while this grant runs; absent when
    /// posture did not gate the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture_recheck_seconds: Option<i64>,
}

/// Why a live grant is held, and what the contractor does to have it resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SuspensionView {
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// `posture_failed` or `posture_silent`.
    pub reason: String,
    /// What failed, e.g. `firewall (for the organisation's policy)`.
    pub detail: String,
    /// What to do, e.g. `Turn the firewall back on, then check posture again.`
    pub fix: String,
}

/// The WireGuard peer a client sets up for a grant: the gateway's endpoint and public key. The
/// broker signs it, so a client trusts only what the broker key it pinned vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GatewayPeer {
    pub name: String,
    /// `HOST:PORT` of the gateway's WireGuard listener.
    pub endpoint: String,
    /// Base64 WireGuard public key.
    pub wireguard_public_key: String,
}

/// Body of `POST /api/v1/gateway/connects`: devices that connected through the calling gateway.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayConnects {
    pub connects: Vec<GatewayConnect>,
}

/// A device's connection (its first WireGuard handshake after a silence) under a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayConnect {
    pub grant: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The address the device's WireGuard packets came from (its public IP, as the gateway saw
    /// it); one that is not an IP address is recorded as given and compared with nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// A resource the caller may request, and on what terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntitledResource {
    pub resource: String,
    pub address: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub tags: Vec<String>,
    pub max_duration_seconds: i64,
    pub policy: String,
    /// The entitlement that allows it.
    pub entitlement: String,
    /// The posture checks a request for it needs passed (from a fresh report); empty when posture
    /// does not gate it.
    #[serde(default)]
    pub posture_checks: Vec<String>,
}

/// Ticket keys: a letter or digit, then up to 63 of letters, digits, '-', '_' and '.', e.g. `OPS-142`
/// (so never `.` or `..`, which a ticket system's URL would read as a path).
pub fn validate_ticket_key(key: &str) -> Result<(), String> {
    let ok = key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!("bad ticket key {key:?}: expected something like OPS-142"))
    }
}

/// What the ticket system says of a ticket for this requester (`GET /api/v1/tickets/{key}/check`),
/// so the app can say so while the key is typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketCheck {
    pub key: String,
    pub verdict: TicketVerdict,
    /// What the verdict means for the requester, in a sentence.
    pub message: String,
    /// The ticket's summary and status as the ticket system reports them (absent when unknown).
    pub summary: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketVerdict {
    /// Open and (where the broker requires it) assigned to the requester.
    Usable,
    Unknown,
    Closed,
    NotYours,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub name: String,
    pub company: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub devices: Vec<String>,
}

/// The broker's grant-signing public key, for gateways and clients to pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrokerKey {
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub key_id: String,
}

/// Body of `POST /api/v1/tickets/webhook`: either `{"ticket": KEY}` or a Jira webhook (`issue.key`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketWebhook {
    pub ticket: Option<String>,
    pub issue: Option<WebhookIssue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookIssue {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookOutcome {
    pub ticket: String,
    pub ticket_open: bool,
    pub grants_ended: Vec<Uuid>,
}

/// The figures an access owner watches each week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessReport {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub active_contractors: u64,
    pub active_accounts: u64,
    pub grants_issued: u64,
    /// Share of grants in the window that were time-boxed to at most 24 h (just-in-time).
    pub just_in_time_share: f64,
    pub average_grant_seconds: f64,
    pub requests_approved: u64,
    pub requests_denied: u64,
    pub requests_expired: u64,
    pub grants_revoked: u64,
    pub grants_ended_by_ticket_close: u64,
    pub grants_per_resource: std::collections::BTreeMap<String, u64>,
    /// Active contractor accounts without a request in the 30 days before `to`: access nobody uses.
    #[serde(default)]
    pub stale_accounts: u64,
    /// Grants held in the window because the device's posture failed or went silent.
    #[serde(default)]
    pub grants_suspended: u64,
    /// Held grants released in the window by a compliant report.
    #[serde(default)]
    pub grants_resumed: u64,
    /// Anomaly alerts raised in the window, by rule (the incident and anomaly counts).
    #[serde(default)]
    pub alerts_by_rule: std::collections::BTreeMap<String, u64>,
    /// People whose first access (first grant) came in the window after an invite.
    #[serde(default)]
    pub onboarded: u64,
    /// Time to onboard, invite issued → first access, median and longest over those people (seconds;
    /// 0 when nobody was onboarded).
    #[serde(default)]
    pub onboarding_median_seconds: f64,
    #[serde(default)]
    pub onboarding_max_seconds: f64,
    /// Access review campaigns open at `to` (opened, deadline not reached, not closed).
    #[serde(default)]
    pub reviews_open: u64,
    /// Their items no reviewer had answered by `to`.
    #[serde(default)]
    pub review_items_waiting: u64,
}

/// The device a contractor binds while enrolling a passkey: its WireGuard and report-signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceToBind {
    /// The device id to create, e.g. `ana-laptop`.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Base64 WireGuard public key.
    #[schema(pattern = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
    pub wireguard_public_key: String,
    /// Base64 Ed25519 key the device signs posture reports and session requests with (it must be a
    /// point of the curve, which the pattern cannot say).
    #[schema(pattern = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
    pub report_public_key: String,
}

/// Body of `POST /api/v1/passkeys/enroll/start`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollStart {
    /// The single-use code from the invite.
    pub invite: String,
    pub device: DeviceToBind,
    /// What to call the passkey, e.g. "YubiKey 5C".
    #[serde(default)]
    pub passkey_name: String,
    /// PKCE (S256): base64url SHA-256 of a random code verifier the caller keeps; the finish call
    /// must present the verifier (`daypass_proto::pkce`).
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub code_challenge: String,
}

/// Body of `POST /api/v1/passkeys/sign-in/start`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInStart {
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub person: String,
    /// The enrolled device the session will be bound to.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub device: String,
    /// PKCE (S256), as for enrollment.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub code_challenge: String,
}

/// A ceremony's challenge: hand `options` to the authenticator (`navigator.credentials.create/get`),
/// then send its answer with the ceremony id to the matching `finish` call within five minutes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    pub ceremony: Uuid,
    /// The origin the broker expects in the answer's client data (a native client presents it).
    pub origin: String,
    /// WebAuthn `CreationChallengeResponse` or `RequestChallengeResponse`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// Body of every `…/finish` call: the authenticator's answer (WebAuthn JSON).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeremonyAnswer {
    pub ceremony: Uuid,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// The PKCE code verifier of an enrollment or sign-in the app started (not for step-up, nor on
    /// the broker's own pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
}

/// A new session, bound to one device: every request with `token` must be signed with that device's
/// report key (header `Daypass-Signature`). The token is shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionIssued {
    pub token: String,
    pub person: String,
    pub device: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A passkey as its owner and admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked: bool,
}
