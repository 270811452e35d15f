//! SCIM 2.0 (RFC 7643/7644) as Daypass serves it to identity providers: the schemas it publishes,
//! incoming resources checked against them, filters, PATCH operations, attribute selection, and
//! how a SCIM user becomes a Daypass person. Pure: resources are JSON values, no I/O.

pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod user;

/// A SCIM error (RFC 7644 §3.12): the HTTP status, the `scimType` where one applies, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidFilter", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidPath", detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidSyntax", detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::bad("noTarget", detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::bad("mutability", detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError {
            status: 409,
            scim_type: Some("uniqueness"),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError {
            status: 404,
            scim_type: None,
            detail: detail.into(),
        }
    }
}

/// The member of a JSON object named `name`, whatever its case (SCIM names are case-insensitive).
pub fn member<'a>(object: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A user or group as the identity provider last set it, as kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// In canonical form (`resource::canonical`): no id, meta or read-only attributes.
    pub resource: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: time::OffsetDateTime,
    /// A user the identity provider deleted: its person stays (disabled, for the record), the
    /// user is gone.
    #[serde(default)]
    pub deleted: bool,
    /// The identity provider created this person, so their roles follow the groups mapped to roles
    /// (a person made on the CLI and linked later keeps the roles IT gave them).
    #[serde(default)]
    pub roles_from_groups: bool,
}

/// A bearer token that opens `/scim/v2` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    /// Who uses it (`okta`, `entra`): SCIM changes are audited as `scim:NAME`.
    pub name: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}
