//! Why an operation was refused, typed by reason: callers and tests match on the variant, and
//! `daypass-broker-web` maps each kind to one status and problem type. The messages say what to do.

use crate::domain::decision::AccessRefusal;
use crate::domain::entitlement::MatrixRefusal;
use crate::domain::grant::AlreadyEnded;
use crate::domain::invalid::InvalidValue;
use crate::domain::passkey::PasskeyRefusal;
use crate::domain::policy::ApprovalRefusal;
use crate::domain::request::RequestRefusal;
use crate::domain::ticket::TicketProblem;
use crate::rate_limit::TooMany;
use crate::store::StoreError;
use crate::tickets::TicketSystemError;
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// Everything an operation can refuse with.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Unauthenticated(#[from] Unauthenticated),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    NotFound(#[from] Missing),
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    NotEntitled(#[from] MatrixRefusal),
    #[error(transparent)]
    Ticket(#[from] TicketProblem),
    #[error(transparent)]
    Approval(#[from] ApprovalRefusal),
    #[error(transparent)]
    Request(#[from] RequestRefusal),
    #[error(transparent)]
    Passkey(#[from] PasskeyRefusal),
    #[error(transparent)]
    Stop(#[from] crate::domain::emergency::StopRefusal),
    #[error(transparent)]
    Review(#[from] crate::domain::review::ReviewRefusal),
    /// A SCIM request the protocol refuses, with its status and `scimType`.
    #[error(transparent)]
    Scim(#[from] crate::domain::scim::ScimError),
    /// A requested resource needs a fresh, compliant posture report; `reason` names the checks.
    #[error("{reason}")]
    Posture { reason: String },
    #[error("{}", AccessRefusal::StepUpNeeded { max_age_minutes: *.max_age_minutes })]
    StepUpNeeded { max_age_minutes: i64 },
    #[error(transparent)]
    TicketSystem(#[from] TicketSystemError),
    #[error(transparent)]
    TooMany(#[from] TooMany),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The broker's own state or its WebAuthn library failed: not the caller's doing.
    #[error("{0}")]
    Internal(String),
}

/// Input the caller can correct (400).
#[derive(Debug, Error)]
pub enum InvalidInput {
    #[error("a token's lifetime must be positive, e.g. --ttl 365d")]
    TokenLifetime,
    #[error(
        "a scoped token needs at least one scope: reports:read, audit:read, grants:read or posture:read"
    )]
    NoScopes,
    #[error(transparent)]
    Value(#[from] InvalidValue),
    #[error("{0}")]
    TicketKey(String),
    #[error("{0}")]
    Duration(String),
    #[error("reason must say why the access is needed, in 1 to {0} characters")]
    Reason(usize),
    #[error("select between 1 and {0} review items to keep at once")]
    BulkSize(usize),
    #[error("a denial needs a reason the requester can read")]
    DenialReason,
    #[error("a revocation needs a reason")]
    RevocationReason,
    #[error("revoking a device needs a reason, e.g. --reason \"laptop stolen\"")]
    DeviceRevocationReason,
    #[error("name the new passkey (1 to 64 characters), e.g. \"YubiKey on my keyring\"")]
    PasskeyName,
    #[error(
        "code_challenge must be the base64url SHA-256 of a random code verifier (43 characters, PKCE S256)"
    )]
    CodeChallenge,
    #[error("the authenticator's answer is not WebAuthn JSON: {0}")]
    NotWebAuthn(String),
    #[error("a connect at {at} is outside grant {grant} ({from} to {until})")]
    ConnectOutsideGrant {
        grant: Uuid,
        at: OffsetDateTime,
        from: OffsetDateTime,
        until: OffsetDateTime,
    },
}

/// Credentials that do not hold (401).
#[derive(Debug, Error)]
pub enum Unauthenticated {
    #[error("unknown or expired token: ask an admin for a new one")]
    UnknownToken,
    #[error("unknown session: sign in again with your passkey")]
    UnknownSession,
    #[error(transparent)]
    Session(PasskeyRefusal),
    #[error("account {0} is disabled or its contract has ended")]
    AccountInactive(String),
    #[error("device {0} is revoked: sign in from an enrolled device")]
    DeviceRevoked(String),
    #[error("device {0} has no signing key: enroll it again")]
    DeviceWithoutKey(String),
    #[error("a session request must carry the Daypass-Signature header of its device")]
    SignatureMissing,
    #[error("{0}")]
    Signature(String),
    #[error("this signed request was sent before: each request is signed afresh")]
    Replayed,
}

/// A known caller who may not do this (403).
#[derive(Debug, Error)]
pub enum Forbidden {
    #[error("gateways may only read their own state")]
    GatewayIsNoPerson,
    /// An anomaly alert demands a fresh passkey confirmation with this person's next request.
    #[error("unusual activity was seen on your account: confirm with your passkey (within {max_age_minutes} minutes) and ask again")]
    StepUpDemanded { max_age_minutes: i64 },
    #[error("this needs one of the roles: {0}")]
    RoleNeeded(String),
    #[error("the approvals page is for approvers")]
    ApproversOnly,
    #[error("only admins and approvers may revoke access")]
    RevokingNeedsRole,
    #[error("your account is disabled or your contract has ended")]
    AccountInactive,
    #[error("approving needs a passkey confirmation within the last {0} minutes: confirm with your passkey and approve again")]
    ApprovalNeedsStepUp(i64),
    #[error("only a passkey session can be signed out")]
    NotASession,
    #[error("grant {grant} is not enforced by gateway {gateway}")]
    NotGatewayOfGrant { grant: Uuid, gateway: String },
    #[error("posture report refused: {0}")]
    PostureReport(String),
    #[error("an invite for an account with a passkey or a staff role needs your passkey confirmation within the last {0} minutes: confirm with your passkey and try again")]
    InviteNeedsStepUp(i64),
    #[error("a second admin must confirm this invite: not the one who issued it")]
    OwnInvite,
    /// A stop in force covers the person: the text says which, since when and why.
    #[error("{0}")]
    EmergencyStop(String),
    #[error("an emergency stop, or lifting one, needs an admin's passkey confirmation within the last {0} minutes: confirm with your passkey and try again")]
    EmergencyNeedsStepUp(i64),
    #[error("changing the access matrix on the console needs your passkey confirmation within the last {0} minutes: confirm with your passkey and try again")]
    ChangeNeedsStepUp(i64),
    #[error("opening a review campaign or keeping access in bulk needs your passkey confirmation within the last {0} minutes: confirm with your passkey and try again")]
    ReviewNeedsStepUp(i64),
}

/// Nothing by that name that the caller can see (404).
#[derive(Debug, Error)]
pub enum Missing {
    #[error("no person {0:?}: add them first")]
    Person(String),
    #[error("no alert {0}")]
    Alert(uuid::Uuid),
    #[error("no device {0:?}")]
    Device(String),
    #[error("no device {0:?} that you can see")]
    DeviceYouCanSee(String),
    #[error("device {0:?} is not one of your enrolled devices: see GET /api/v1/me")]
    NotYourDevice(String),
    #[error("no gateway {0:?}: add it first with `daypass-broker admin gateway add`")]
    Gateway(String),
    #[error("gateway {gateway:?} of grant {grant} is no longer registered: ask an admin")]
    GatewayOfGrant { gateway: String, grant: Uuid },
    #[error("no resource {0:?}")]
    Resource(String),
    #[error("no approval policy {0:?}: create it first with `daypass-broker admin policy set`")]
    Policy(String),
    #[error("no entitlement {0:?}")]
    Entitlement(String),
    #[error("no passkey {0} of yours")]
    Passkey(String),
    #[error("no grant {0} that you can see")]
    Grant(Uuid),
    #[error("no access request {0} that you can see")]
    Request(Uuid),
    #[error("no such sign-in is waiting: start again from the app")]
    WaitingSignIn,
    #[error("no invite {0} waits for a second admin")]
    Invite(String),
    #[error("no API token {0:?}: see `daypass-broker admin token list`")]
    ApiToken(String),
    #[error("no SCIM token named {0:?}: see `daypass-broker admin scim-token list`")]
    ScimToken(String),
    #[error("no emergency stop {0}")]
    EmergencyStop(uuid::Uuid),
    #[error("no emergency stop is in force: nothing to lift")]
    EmergencyStopInForce,
    #[error("no access review campaign {0}: see `daypass-broker review list`")]
    ReviewCampaign(uuid::Uuid),
    #[error("no review item {0} waiting for you")]
    ReviewItem(uuid::Uuid),
    #[error("no access review removed entitlement {entitlement:?} from {person}: nothing to restore")]
    RemovedEntitlement { person: String, entitlement: String },
}

/// The thing is not in a state that allows this (409).
#[derive(Debug, Error)]
pub enum Conflict {
    #[error("a device {0:?} exists already: choose another device name")]
    DeviceExists(String),
    #[error("a person {0:?} exists already: choose another id, or invite them from the people list")]
    PersonExists(String),
    #[error("alert {0} is closed already")]
    AlertClosed(uuid::Uuid),
    /// Two live devices with one WireGuard key would be one peer to the gateway.
    #[error("this WireGuard key belongs to device {0:?} already: each device needs its own key")]
    WireguardKeyInUse(String),
    #[error("the tunnel network {0} has no addresses left")]
    AddressesExhausted(String),
    #[error("{0}'s account is disabled or their contract has ended")]
    AccountInactive(String),
    #[error("this passkey is registered already")]
    PasskeyRegistered,
    #[error("you have {0} requests waiting for a decision already: wait for them, or let them expire")]
    TooManyWaiting(i64),
    #[error(transparent)]
    GrantEnded(#[from] AlreadyEnded),
    #[error("approval policy {0:?} no longer exists")]
    PolicyGone(String),
    #[error(
        "approval policy {policy:?} is used by entitlements {entitlements}: change or remove them first"
    )]
    PolicyInUse { policy: String, entitlements: String },
    /// `AccessRefusal::MissingPolicy`: configuration, not the requester's doing.
    #[error(transparent)]
    MissingPolicy(AccessRefusal),
    #[error("device {0} has no report-signing key enrolled: an admin must add one")]
    NoReportKey(String),
    #[error("device {device}'s report-signing key is damaged ({problem}): an admin must enroll it again")]
    DamagedReportKey { device: String, problem: InvalidValue },
}

impl From<AccessRefusal> for ServiceError {
    fn from(refused: AccessRefusal) -> Self {
        match refused {
            AccessRefusal::Matrix(m) => ServiceError::NotEntitled(m),
            AccessRefusal::Ticket(t) => ServiceError::Ticket(t),
            AccessRefusal::Posture { reason } => ServiceError::Posture { reason },
            AccessRefusal::StepUpNeeded { max_age_minutes } => ServiceError::StepUpNeeded { max_age_minutes },
            missing @ AccessRefusal::MissingPolicy(_) => Conflict::MissingPolicy(missing).into(),
        }
    }
}

impl From<InvalidValue> for ServiceError {
    fn from(value: InvalidValue) -> Self {
        ServiceError::Invalid(InvalidInput::Value(value))
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::Database(e))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
