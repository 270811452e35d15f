//! Why a value someone typed (an admin on the CLI or console, a caller in a request) is refused:
//! one variant per rule, each saying what to write instead.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidValue {
    #[error("bad {kind} {name:?}: use 1 to 64 letters, digits, '-', '_', '.' or '@' (no spaces)")]
    Name { kind: &'static str, name: String },
    #[error("bad tag {0:?}: use letters, digits, '-', '_', '.' and ':' such as env:prod")]
    Tag(String),
    #[error("bad address {0:?}: give an IP address (10.0.0.5) or a CIDR (10.0.0.0/24)")]
    Address(String),
    #[error(
        "bad WireGuard public key {0:?}: expected 44 characters of base64 (32 bytes), as `wg pubkey` prints"
    )]
    WireguardKey(String),
    #[error("bad report-signing key {0:?}: expected an Ed25519 public key, 32 bytes in base64")]
    ReportKey(String),
    #[error(
        "policy {0:?}: approvals_required must be at least 1 (it applies whenever auto-approval does not)"
    )]
    NoApprovalsRequired(String),
    #[error("bad email {0:?}: expected name@domain")]
    Email(String),
    #[error("a person needs at least one role: contractor, approver, admin, helpdesk or auditor")]
    NoRole,
    #[error("{0} resources need at least one port, e.g. --ports 5432")]
    NoPorts(String),
    #[error("max duration must be positive, e.g. --max 4h")]
    MaxDuration,
    #[error("bad endpoint {0:?}: write HOST:PORT, e.g. 203.0.113.7:51820")]
    Endpoint(String),
}
