//! The broker's pure domain: data and decisions over `now`, no I/O (no async runtime, database,
//! HTTP or WebAuthn library is a dependency of this crate, so the compiler keeps it pure).

pub mod anomaly;
pub mod audit;
pub mod decision;
pub mod directory;
pub mod emergency;
pub mod entitlement;
pub mod grant;
pub mod invalid;
pub mod passkey;
pub mod policy;
pub mod request;
pub mod resource;
pub mod review;
pub mod scim;
pub mod ticket;
pub mod token;

/// Identifiers people type (person ids, resource names, groups): short, no spaces, no separators we parse on.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), invalid::InvalidValue> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(invalid::InvalidValue::Name {
            kind,
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_or_separators_are_refused() {
        assert!(validate_name("resource", "db-staging.1").is_ok());
        for bad in ["", "two words", "a,b", "x:y", &"a".repeat(65)] {
            assert!(validate_name("resource", bad).is_err(), "{bad}");
        }
    }
}
