//! What an integrator's API token may do: scopes, each one read-only family of the API. A token
//! without scopes acts as its holder everywhere (as tokens always have); a scoped one only within
//! its scopes, and never beyond its holder's roles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// The weekly access figures (`GET /api/v1/reports/access`).
    #[serde(rename = "reports:read")]
    ReportsRead,
    /// The audit log: its entries and whether the chain verifies (`GET /api/v1/audit/…`).
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Grants and their evidence (`GET /api/v1/grants…`).
    #[serde(rename = "grants:read")]
    GrantsRead,
    /// Devices' posture (`GET /api/v1/posture/failing`, `GET /api/v1/devices/{id}/posture`).
    #[serde(rename = "posture:read")]
    PostureRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::ReportsRead,
        Scope::AuditRead,
        Scope::GrantsRead,
        Scope::PostureRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::ReportsRead => "reports:read",
            Scope::AuditRead => "audit:read",
            Scope::GrantsRead => "grants:read",
            Scope::PostureRead => "posture:read",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scope name nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: use reports:read, audit:read, grants:read or posture:read")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownScope(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_print_by_name() {
        for scope in Scope::ALL {
            assert_eq!(scope.name().parse::<Scope>(), Ok(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.name());
        }
        assert!("reports:write"
            .parse::<Scope>()
            .unwrap_err()
            .to_string()
            .contains("reports:read"));
    }
}
