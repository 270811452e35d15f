//! The access matrix: who may request which resources, for how long, under which approval policy.

use super::directory::Person;
use super::resource::Resource;
use daypass_proto::duration::format_duration;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Who an entitlement is for: `person:ana` or `group:dba`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Subject {
    Person(String),
    Group(String),
}

/// What an entitlement covers: `resource:db-staging` or `tag:db:staging`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Selector {
    Resource(String),
    Tag(String),
}

macro_rules! prefixed_text {
    ($ty:ident, $a:ident = $pa:literal, $b:ident = $pb:literal, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $ty::$a(v) => write!(f, concat!($pa, ":{}"), v),
                    $ty::$b(v) => write!(f, concat!($pb, ":{}"), v),
                }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.split_once(':') {
                    Some(($pa, v)) if !v.is_empty() => Ok($ty::$a(v.to_string())),
                    Some(($pb, v)) if !v.is_empty() => Ok($ty::$b(v.to_string())),
                    _ => Err(format!(
                        concat!(
                            "bad ",
                            $what,
                            " {:?}: write ",
                            $pa,
                            ":NAME or ",
                            $pb,
                            ":NAME"
                        ),
                        s
                    )),
                }
            }
        }
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.to_string()
            }
        }
    };
}
prefixed_text!(Subject, Person = "person", Group = "group", "subject");
prefixed_text!(Selector, Resource = "resource", Tag = "tag", "selector");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub id: String,
    pub subject: Subject,
    pub selector: Selector,
    pub max_duration_seconds: i64,
    pub policy: String,
}

impl Entitlement {
    /// Whether `person` holds this entitlement: named, or in the named group, and not removed from
    /// them by an access review.
    pub fn is_for(&self, person: &Person) -> bool {
        if person.entitlements_removed.contains(&self.id) {
            return false;
        }
        match &self.subject {
            Subject::Person(id) => *id == person.id,
            Subject::Group(g) => person.groups.contains(g),
        }
    }

    pub fn selects(&self, resource: &Resource) -> bool {
        match &self.selector {
            Selector::Resource(name) => *name == resource.name,
            Selector::Tag(tag) => resource.tags.contains(tag),
        }
    }
}

/// The entitlement that lets a person request one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitled<'a> {
    pub resource: &'a Resource,
    pub entitlement: &'a Entitlement,
}

/// Why a request falls outside the access matrix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixRefusal {
    #[error("unknown resource {0:?}: list what you may request with GET /api/v1/entitlements")]
    UnknownResource(String),
    #[error(
        "{person} has no entitlement for resource {resource:?}: an admin must add one \
         (person:{person} or one of their groups, selecting resource:{resource} or one of its tags)"
    )]
    NotEntitled { person: String, resource: String },
    #[error(
        "{requested} is longer than entitlement {entitlement:?} allows for {resource:?} (at most {max}); \
         ask for less, or extend later with a new request",
        requested = format_duration(*.requested_seconds),
        max = format_duration(*.max_seconds)
    )]
    TooLong {
        resource: String,
        entitlement: String,
        max_seconds: i64,
        requested_seconds: i64,
    },
    #[error("no resources requested: name at least one")]
    Empty,
    #[error(
        "resources {first:?} and {second:?} are reached through different gateways; request them separately"
    )]
    MixedGateways { first: String, second: String },
}

/// The best entitlement for one resource: the one allowing the longest duration (ties by id).
fn best_for<'a>(person: &Person, resource: &Resource, matrix: &'a [Entitlement]) -> Option<&'a Entitlement> {
    matrix
        .iter()
        .filter(|e| e.is_for(person) && e.selects(resource))
        .max_by(|a, b| {
            a.max_duration_seconds
                .cmp(&b.max_duration_seconds)
                .then(b.id.cmp(&a.id))
        })
}

/// Everything a person may request, one row per resource, in resource-name order.
pub fn entitled_resources<'a>(
    person: &Person,
    resources: &'a [Resource],
    matrix: &'a [Entitlement],
) -> Vec<Entitled<'a>> {
    let mut rows: Vec<_> = resources
        .iter()
        .filter_map(|r| {
            best_for(person, r, matrix).map(|e| Entitled {
                resource: r,
                entitlement: e,
            })
        })
        .collect();
    rows.sort_by(|a, b| a.resource.name.cmp(&b.resource.name));
    rows
}

/// Checks a request against the matrix: every resource known, entitled, within its maximum duration,
/// and all behind one gateway.
pub fn check_request<'a>(
    person: &Person,
    requested: &[String],
    duration_seconds: i64,
    resources: &'a [Resource],
    matrix: &'a [Entitlement],
) -> Result<Vec<Entitled<'a>>, MatrixRefusal> {
    if requested.is_empty() {
        return Err(MatrixRefusal::Empty);
    }
    let mut out: Vec<Entitled<'a>> = Vec::new();
    for name in requested {
        if out.iter().any(|e| e.resource.name == *name) {
            continue;
        }
        let resource = resources
            .iter()
            .find(|r| r.name == *name)
            .ok_or_else(|| MatrixRefusal::UnknownResource(name.clone()))?;
        let entitlement = best_for(person, resource, matrix).ok_or_else(|| MatrixRefusal::NotEntitled {
            person: person.id.clone(),
            resource: name.clone(),
        })?;
        if duration_seconds > entitlement.max_duration_seconds {
            return Err(MatrixRefusal::TooLong {
                resource: name.clone(),
                entitlement: entitlement.id.clone(),
                max_seconds: entitlement.max_duration_seconds,
                requested_seconds: duration_seconds,
            });
        }
        if let Some(first) = out.first().filter(|f| f.resource.gateway != resource.gateway) {
            return Err(MatrixRefusal::MixedGateways {
                first: first.resource.name.clone(),
                second: name.clone(),
            });
        }
        out.push(Entitled {
            resource,
            entitlement,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;
    use crate::directory::Role;
    use daypass_proto::{PortRange, Protocol};

    pub fn resource(name: &str, tags: &[&str], gateway: &str) -> Resource {
        Resource {
            name: name.into(),
            address: "10.20.0.5/32".parse().unwrap(),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(5432)],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            gateway: gateway.into(),
            description: String::new(),
        }
    }

    fn ent(id: &str, subject: &str, selector: &str, max: i64) -> Entitlement {
        Entitlement {
            id: id.into(),
            subject: subject.parse().unwrap(),
            selector: selector.parse().unwrap(),
            max_duration_seconds: max,
            policy: "auto".into(),
        }
    }

    #[test]
    fn group_and_tag_entitlement_covers_tagged_resource() {
        let mut ana = person("ana", &[Role::Contractor]);
        ana.groups.insert("dba".into());
        let resources = vec![
            resource("db1", &["db:staging"], "gw1"),
            resource("web", &[], "gw1"),
        ];
        let matrix = vec![ent("dba-staging", "group:dba", "tag:db:staging", 4 * 3600)];
        let rows = entitled_resources(&ana, &resources, &matrix);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].resource.name, "db1");
    }

    #[test]
    fn missing_entitlement_names_the_resource() {
        let ana = person("ana", &[Role::Contractor]);
        let resources = vec![resource("db1", &[], "gw1")];
        let err = check_request(&ana, &["db1".into()], 60, &resources, &[]).unwrap_err();
        assert!(
            err.to_string().contains("no entitlement for resource \"db1\""),
            "{err}"
        );
    }

    #[test]
    fn duration_above_the_entitlement_maximum_is_refused() {
        let ana = person("ana", &[Role::Contractor]);
        let resources = vec![resource("db1", &[], "gw1")];
        let matrix = vec![ent("e", "person:ana", "resource:db1", 3600)];
        assert!(check_request(&ana, &["db1".into()], 3600, &resources, &matrix).is_ok());
        let err = check_request(&ana, &["db1".into()], 3601, &resources, &matrix).unwrap_err();
        assert!(matches!(
            err,
            MatrixRefusal::TooLong {
                max_seconds: 3600,
                ..
            }
        ));
    }

    #[test]
    fn the_most_generous_matching_entitlement_applies() {
        let ana = person("ana", &[Role::Contractor]);
        let resources = vec![resource("db1", &["db"], "gw1")];
        let matrix = vec![
            ent("short", "person:ana", "resource:db1", 600),
            ent("long", "person:ana", "tag:db", 7200),
        ];
        let rows = check_request(&ana, &["db1".into()], 3600, &resources, &matrix).unwrap();
        assert_eq!(rows[0].entitlement.id, "long");
    }

    #[test]
    fn resources_behind_two_gateways_are_refused_together() {
        let ana = person("ana", &[Role::Contractor]);
        let resources = vec![resource("a", &["x"], "gw1"), resource("b", &["x"], "gw2")];
        let matrix = vec![ent("e", "person:ana", "tag:x", 3600)];
        let err = check_request(&ana, &["a".into(), "b".into()], 60, &resources, &matrix).unwrap_err();
        assert!(matches!(err, MatrixRefusal::MixedGateways { .. }));
    }

    #[test]
    fn subjects_and_selectors_parse_and_print() {
        assert_eq!(
            "group:dba".parse::<Subject>().unwrap(),
            Subject::Group("dba".into())
        );
        assert_eq!(Selector::Tag("env:prod".into()).to_string(), "tag:env:prod");
        assert!("team:x".parse::<Subject>().is_err());
        assert!("resource:".parse::<Selector>().is_err());
    }
}
