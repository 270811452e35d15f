//! A SCIM user as a Daypass person, and back: the person's id made from the `userName`, name, email,
//! company and contract end read from the user, roles from the groups mapped to them (a contractor
//! otherwise), and the user a person made on the CLI shows as.

use super::schema::{DAYPASS_USER, ENTERPRISE_USER};
use crate::directory::{Person, Role};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What a person takes from their SCIM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFields {
    pub name: String,
    /// Empty when the user has no address at all.
    pub email: String,
    pub company: String,
    pub contract_end: Option<OffsetDateTime>,
    pub active: bool,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = at.get(p)?;
    }
    at.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// The person fields of a user in canonical form (as `resource::canonical` leaves it).
pub fn fields(user: &Value) -> PersonFields {
    let user_name = text(user, &["userName"]).unwrap_or_default();
    let name = text(user, &["displayName"])
        .or_else(|| text(user, &["name", "formatted"]))
        .map(str::to_string)
        .or_else(|| {
            let parts: Vec<&str> = [
                text(user, &["name", "givenName"]),
                text(user, &["name", "familyName"]),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .unwrap_or_else(|| user_name.to_string());
    let emails: Vec<&Value> = user["emails"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let email = emails
        .iter()
        .find(|e| e["primary"] == Value::Bool(true))
        .or(emails.first())
        .and_then(|e| text(e, &["value"]))
        .or_else(|| user_name.contains('@').then_some(user_name))
        .unwrap_or_default()
        .to_string();
    let company = text(user, &[DAYPASS_USER, "company"])
        .or_else(|| text(user, &[ENTERPRISE_USER, "organization"]))
        .unwrap_or_default()
        .to_string();
    let contract_end =
        text(user, &[DAYPASS_USER, "contractEnd"]).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    PersonFields {
        name,
        email,
        company,
        contract_end,
        active: user["active"] != Value::Bool(false),
    }
}

/// The person id a new user gets: the `userName` itself when it is a valid id, else the nearest
/// valid one (lower case, other characters as `-`, at most 64).
pub fn person_id_for(user_name: &str) -> String {
    if crate::validate_name("person id", user_name).is_ok() {
        return user_name.to_string();
    }
    let id: String = user_name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let id = id.trim_matches('-').to_string();
    if id.is_empty() {
        format!("user-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
    } else {
        id
    }
}

/// `base`, then `base-2`, `base-3`, …: the ids a new resource may take, in turn (ids stay within 64).
pub fn candidate_ids(base: &str) -> impl Iterator<Item = String> + '_ {
    let stem = &base[..base.len().min(60)];
    std::iter::once(base.to_string()).chain((2u64..).map(move |n| format!("{stem}-{n}")))
}

/// The first of `candidate_ids(base)` that is not `taken`.
pub fn free_id(base: &str, taken: impl Fn(&str) -> bool) -> String {
    for id in candidate_ids(base) {
        if !taken(&id) {
            return id;
        }
    }
    unreachable!("candidate ids never run out")
}

/// How a person that SCIM never provisioned shows as a user (made on the CLI or the console).
pub fn shown_as_user(person: &Person) -> Value {
    let mut user = json!({
        "userName": person.id, "displayName": person.name, "active": !person.disabled,
    });
    if !person.email.is_empty() {
        user["emails"] = json!([{ "value": person.email, "primary": true }]);
    }
    let mut daypass = serde_json::Map::new();
    if !person.company.is_empty() {
        daypass.insert("company".into(), json!(person.company));
    }
    if let Some(end) = person.contract_end.and_then(|t| t.format(&Rfc3339).ok()) {
        daypass.insert("contractEnd".into(), json!(end));
    }
    if !daypass.is_empty() {
        user[DAYPASS_USER] = Value::Object(daypass);
    }
    user
}

/// The roles of a person SCIM provisioned: those of the groups mapped to roles that they are in,
/// or contractor when none is.
pub fn roles_for(groups: &BTreeSet<String>, mapped: &BTreeMap<String, Role>) -> BTreeSet<Role> {
    let roles: BTreeSet<Role> = groups.iter().filter_map(|g| mapped.get(g)).copied().collect();
    if roles.is_empty() {
        BTreeSet::from([Role::Contractor])
    } else {
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;

    #[test]
    fn a_user_gives_the_person_its_fields() {
        let user = json!({
            "userName": "ana@acme.example", "name": {"givenName": "Ana", "familyName": "Ruiz"}, "active": false,
            "emails": [{"value": "a@home.example"}, {"value": "ana@acme.example", "primary": true}],
            ENTERPRISE_USER: {"organization": "Acme Corp"},
            DAYPASS_USER: {"company": "Acme Contracting", "contractEnd": "2027-03-31T23:59:59Z"},
        });
        let f = fields(&user);
        assert_eq!(f.name, "Ana Ruiz");
        assert_eq!(f.email, "ana@acme.example");
        assert_eq!(f.company, "Acme Contracting");
        assert_eq!(f.contract_end.unwrap().year(), 2027);
        assert!(!f.active);
        let bare = fields(&json!({"userName": "bjensen", ENTERPRISE_USER: {"organization": "Example"}}));
        assert_eq!(
            (bare.name.as_str(), bare.email.as_str(), bare.company.as_str()),
            ("bjensen", "", "Example")
        );
        assert!(bare.active && bare.contract_end.is_none());
    }

    #[test]
    fn user_names_become_valid_person_ids() {
        assert_eq!(person_id_for("ana@acme.example"), "ana@acme.example");
        assert_eq!(person_id_for("Ana Ruiz (Acme)"), "ana-ruiz--acme");
        assert!(person_id_for("   ").starts_with("user-"));
        assert_eq!(person_id_for(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn a_taken_id_gets_the_next_free_number() {
        let taken = ["ana", "ana-2"];
        assert_eq!(free_id("ana", |id| taken.contains(&id)), "ana-3");
        assert_eq!(free_id("ben", |id| taken.contains(&id)), "ben");
    }

    #[test]
    fn roles_come_from_mapped_groups_else_contractor() {
        let mapped = BTreeMap::from([("approvers".to_string(), Role::Approver)]);
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            roles_for(&groups(&["dba"]), &mapped),
            BTreeSet::from([Role::Contractor])
        );
        assert_eq!(
            roles_for(&groups(&["dba", "approvers"]), &mapped),
            BTreeSet::from([Role::Approver])
        );
    }

    #[test]
    fn a_person_from_the_cli_shows_as_a_user() {
        let p = person("ida", &[Role::Admin]);
        let user = shown_as_user(&p);
        assert_eq!(user["userName"], "ida");
        assert_eq!(fields(&user).email, p.email);
        assert_eq!(fields(&user).company, p.company);
    }
}
