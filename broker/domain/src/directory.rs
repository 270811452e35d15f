//! The directory: people, their roles, groups and contract end, and their enrolled devices.

use crate::invalid::InvalidValue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Contractor,
    Approver,
    Admin,
    Helpdesk,
    Auditor,
}

impl Role {
    /// Roles that may read other people's requests, grants, evidence and posture.
    pub const STAFF: [Role; 4] = [Role::Approver, Role::Admin, Role::Helpdesk, Role::Auditor];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Contractor => "contractor",
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::Helpdesk => "helpdesk",
            Role::Auditor => "auditor",
        })
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "contractor" => Ok(Role::Contractor),
            "approver" => Ok(Role::Approver),
            "admin" => Ok(Role::Admin),
            "helpdesk" => Ok(Role::Helpdesk),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!(
                "unknown role {other:?}: use contractor, approver, admin, helpdesk or auditor"
            )),
        }
    }
}

/// Why an account may not act right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    Active,
    Disabled,
    ContractEnded(OffsetDateTime),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub company: String,
    pub roles: BTreeSet<Role>,
    pub groups: BTreeSet<String>,
    /// After this instant the account and every grant it holds end by themselves.
    #[serde(with = "time::serde::rfc3339::option")]
    pub contract_end: Option<OffsetDateTime>,
    pub disabled: bool,
    /// Names this person has in the ticket system (Jira account id, username), besides id and email.
    #[serde(default)]
    pub ticket_identities: BTreeSet<String>,
    /// An anomaly alert demands a fresh passkey confirmation with this person's next request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up_demanded_by: Option<uuid::Uuid>,
    /// Entitlements an access review took from this person (their groups may still carry them for others).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub entitlements_removed: BTreeSet<String>,
}

impl Person {
    pub fn account_state(&self, now: OffsetDateTime) -> AccountState {
        match self.contract_end {
            _ if self.disabled => AccountState::Disabled,
            Some(end) if now >= end => AccountState::ContractEnded(end),
            _ => AccountState::Active,
        }
    }

    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.account_state(now) == AccountState::Active
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_staff(&self) -> bool {
        Role::STAFF.iter().any(|r| self.has_role(*r))
    }

    /// Whether a ticket system's assignee value names this person.
    pub fn is_named_by(&self, assignee: &str) -> bool {
        let a = assignee.trim();
        a.eq_ignore_ascii_case(&self.id)
            || a.eq_ignore_ascii_case(&self.email)
            || self.ticket_identities.iter().any(|t| t == a)
    }
}

/// A contractor's machine, bound to one person, with the keys the data plane needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub person: String,
    pub name: String,
    pub wireguard_public_key: String,
    pub tunnel_address: String,
    pub revoked: bool,
    /// Ed25519 key (base64) the device signs posture reports with.
    #[serde(default)]
    pub report_public_key: Option<String>,
}

/// A WireGuard public key is 32 bytes in standard base64.
pub fn validate_wireguard_key(key: &str) -> Result<(), InvalidValue> {
    decode_key(key)
        .map(|_| ())
        .map_err(|_| InvalidValue::WireguardKey(key.to_string()))
}

/// A device's report-signing key: an Ed25519 public key, 32 bytes in standard base64.
pub fn report_key(key: &str) -> Result<ed25519_dalek::VerifyingKey, InvalidValue> {
    decode_key(key)
        .ok()
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| InvalidValue::ReportKey(key.to_string()))
}

fn decode_key(key: &str) -> Result<[u8; 32], ()> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|_| ())?;
    bytes.try_into().map_err(|_| ())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub fn person(id: &str, roles: &[Role]) -> Person {
        Person {
            id: id.into(),
            name: id.to_uppercase(),
            email: format!("{id}@example.com"),
            company: "Acme Contracting".into(),
            roles: roles.iter().copied().collect(),
            groups: BTreeSet::new(),
            contract_end: None,
            disabled: false,
            ticket_identities: BTreeSet::new(),
            step_up_demanded_by: None,
            entitlements_removed: BTreeSet::new(),
        }
    }

    #[test]
    fn account_ends_at_the_second_the_contract_ends() {
        let mut p = person("ana", &[Role::Contractor]);
        let end = datetime!(2026-12-01 00:00 UTC);
        p.contract_end = Some(end);
        assert!(p.is_active(end - time::Duration::seconds(1)));
        assert_eq!(p.account_state(end), AccountState::ContractEnded(end));
    }

    #[test]
    fn disabled_wins_over_everything() {
        let mut p = person("ana", &[Role::Contractor]);
        p.disabled = true;
        assert_eq!(
            p.account_state(datetime!(2026-01-01 00:00 UTC)),
            AccountState::Disabled
        );
    }

    #[test]
    fn assignee_matches_id_email_or_ticket_identity() {
        let mut p = person("ana", &[Role::Contractor]);
        p.ticket_identities.insert("5b10ac8d82e05b22cc7d4ef5".into());
        assert!(p.is_named_by("ANA"));
        assert!(p.is_named_by("ana@example.com"));
        assert!(p.is_named_by("5b10ac8d82e05b22cc7d4ef5"));
        assert!(!p.is_named_by("bob"));
    }

    #[test]
    fn wireguard_keys_must_be_32_bytes_of_base64() {
        assert!(validate_wireguard_key("YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=").is_ok());
        assert!(validate_wireguard_key("not-a-key").is_err());
        assert!(validate_wireguard_key("AAAA").is_err());
    }
}
