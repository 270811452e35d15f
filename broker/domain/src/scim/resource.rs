//! SCIM resources as JSON: attribute paths resolved against the schemas, what a client sends
//! checked and put in canonical form (names in their schema's spelling, booleans that arrive as
//! strings made booleans, read-only attributes dropped), and `attributes`/`excludedAttributes`.

use super::schema::{Attr, Kind, Mutability, ResourceKind, Schema};
use super::{member, ScimError};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where an attribute path leads: an attribute (of the core schema or an extension), maybe one of
/// its sub-attributes; or a whole extension.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Attr {
        extension: Option<&'static Schema>,
        attr: &'static Attr,
        sub: Option<&'static Attr>,
    },
    Extension(&'static Schema),
}

impl Target {
    /// The object holding the attribute in a resource: the resource, or its extension's object.
    pub fn holder<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        match self {
            Target::Attr { extension: None, .. } => Some(resource),
            Target::Attr {
                extension: Some(s), ..
            } => resource.get(s.id),
            Target::Extension(_) => Some(resource),
        }
    }

    /// As `holder`, made if missing.
    pub fn holder_mut<'a>(&self, resource: &'a mut Value) -> &'a mut Map<String, Value> {
        let object = match self {
            Target::Attr {
                extension: Some(s), ..
            } => {
                let holder = resource
                    .as_object_mut()
                    .expect("resources are objects")
                    .entry(s.id)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !holder.is_object() {
                    *holder = Value::Object(Map::new());
                }
                holder
            }
            _ => resource,
        };
        object
            .as_object_mut()
            .expect("resources and extensions are objects")
    }

    /// The attribute's key in its holder (the extension's URN for a whole extension).
    pub fn key(&self) -> &'static str {
        match self {
            Target::Attr { attr, .. } => attr.name,
            Target::Extension(s) => s.id,
        }
    }

    /// Whether values compare case-exactly (ids and references do; names and addresses do not).
    pub fn case_exact(&self) -> bool {
        match self {
            Target::Attr { attr, sub, .. } => sub.map_or(attr.case_exact, |s| s.case_exact),
            Target::Extension(_) => false,
        }
    }
}

/// Resolves `path` (`userName`, `name.givenName`, `emails.value`, `urn:…:User:organization`, or an
/// extension's URN) for `kind`. `id`, `externalId` and `meta…` resolve to `None`: common attributes
/// the caller handles itself.
pub fn resolve(kind: ResourceKind, path: &str) -> Result<Option<Target>, ScimError> {
    let unknown = || ScimError::invalid_path(format!("{path:?} is not an attribute of a {}", kind.name()));
    let first = path.split('.').next().unwrap_or_default();
    if ["id", "externalId", "meta"]
        .iter()
        .any(|c| first.eq_ignore_ascii_case(c))
    {
        return Ok(None);
    }
    let (schema, extension, rest) = match split_urn(kind, path) {
        Some((schema, "")) if schema.id != kind.core().id => return Ok(Some(Target::Extension(schema))),
        Some((_, "")) => return Err(unknown()),
        Some((schema, rest)) if schema.id == kind.core().id => (schema, None, rest),
        Some((schema, rest)) => (schema, Some(schema), rest),
        None => (kind.core(), None, path),
    };
    let mut parts = rest.splitn(2, '.');
    let attr = schema
        .attr(parts.next().unwrap_or_default())
        .ok_or_else(unknown)?;
    let sub = match parts.next() {
        Some(name) => Some(attr.sub_attr(name).ok_or_else(unknown)?),
        None => None,
    };
    Ok(Some(Target::Attr { extension, attr, sub }))
}

/// A path's schema URN prefix (core or extension) and what follows it (`""` for the URN alone).
fn split_urn(kind: ResourceKind, path: &str) -> Option<(&'static Schema, &str)> {
    let schemas = std::iter::once(kind.core()).chain(kind.extensions().iter().copied());
    // The longest URN first: the enterprise extension's URN starts with the core one's prefix.
    let mut matches: Vec<&'static Schema> = schemas
        .filter(|s| path.len() >= s.id.len() && path[..s.id.len()].eq_ignore_ascii_case(s.id))
        .collect();
    matches.sort_by_key(|s| std::cmp::Reverse(s.id.len()));
    let schema = matches.first()?;
    let rest = &path[schema.id.len()..];
    match rest.strip_prefix(':') {
        Some(rest) => Some((schema, rest)),
        None if rest.is_empty() => Some((schema, "")),
        None => None,
    }
}

/// A resource as a client sent it (POST, PUT, or the result of a PATCH), in canonical form: only
/// the attributes of `kind`'s schemas, named as the schemas spell them, each of its type;
/// read-only ones dropped. Refused if a required attribute is missing or a value has the wrong type.
pub fn canonical(kind: ResourceKind, body: &Value) -> Result<Value, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let mut out = Map::new();
    for (key, value) in object {
        if let Some(schema) = kind.extension(key) {
            let fields = canonical_attrs(schema.attrs, value, schema.id)?;
            if !fields.is_empty() {
                out.insert(schema.id.to_string(), Value::Object(fields));
            }
        } else if key.eq_ignore_ascii_case("externalId") {
            match value {
                Value::String(s) => {
                    out.insert("externalId".into(), Value::String(s.clone()));
                }
                Value::Null => {}
                _ => return Err(ScimError::invalid_value("externalId must be a string")),
            }
        } else if let Some(attr) = kind.core().attr(key) {
            if attr.mutability != Mutability::ReadOnly {
                if let Some(v) = canonical_value(attr, value)? {
                    out.insert(attr.name.to_string(), v);
                }
            }
        }
    }
    for attr in kind.core().attrs.iter().filter(|a| a.required) {
        if !out.contains_key(attr.name) {
            return Err(ScimError::invalid_value(format!("{} is required", attr.name)));
        }
    }
    Ok(Value::Object(out))
}

fn canonical_attrs(
    attrs: &'static [Attr],
    value: &Value,
    owner: &str,
) -> Result<Map<String, Value>, ScimError> {
    if !value.is_object() {
        return Err(ScimError::invalid_value(format!("{owner} must be an object")));
    }
    let mut out = Map::new();
    for attr in attrs.iter().filter(|a| a.mutability != Mutability::ReadOnly) {
        if let Some(v) = member(value, attr.name) {
            if let Some(v) = canonical_value(attr, v)? {
                out.insert(attr.name.to_string(), v);
            }
        }
    }
    // Anything else in an object the schema describes is not Daypass's to keep.
    Ok(out)
}

/// One attribute's value in canonical form; `None` when it is empty (null, `[]`, `{}`).
pub fn canonical_value(attr: &'static Attr, value: &Value) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi {
        let items: Vec<Value> = match value {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(v) = canonical_single(attr, item)? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    canonical_single(attr, value)
}

fn canonical_single(attr: &'static Attr, value: &Value) -> Result<Option<Value>, ScimError> {
    let wrong = |wanted: &str| ScimError::invalid_value(format!("{} must be {wanted}", attr.name));
    Ok(match (attr.kind, value) {
        (_, Value::Null) => None,
        (Kind::Complex, Value::Object(_)) => {
            let fields = canonical_attrs(attr.sub, value, attr.name)?;
            (!fields.is_empty()).then_some(Value::Object(fields))
        }
        (Kind::Complex, _) => return Err(wrong("an object")),
        (Kind::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        // Microsoft Entra ID sends booleans as strings ("False").
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        (Kind::Boolean, _) => return Err(wrong("true or false")),
        (Kind::DateTime, Value::String(s)) => {
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| wrong("a date and time (RFC 3339, e.g. 2027-03-31T23:59:59Z)"))?;
            Some(Value::String(s.clone()))
        }
        (Kind::String | Kind::Reference, Value::String(s)) => Some(Value::String(s.clone())),
        (Kind::String | Kind::Reference | Kind::DateTime, _) => return Err(wrong("a string")),
    })
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): only the attributes asked for (with
/// `schemas` and `id`, always), or all but those excluded.
pub fn select(kind: ResourceKind, resource: &Value, attributes: &[String], excluded: &[String]) -> Value {
    let Some(object) = resource.as_object() else {
        return resource.clone();
    };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = object.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        for path in attributes {
            copy_path(kind, resource, &mut out, path);
        }
        return Value::Object(out);
    }
    let mut out = resource.clone();
    for path in excluded {
        remove_path(kind, &mut out, path);
    }
    out
}

fn copy_path(kind: ResourceKind, from: &Value, to: &mut Map<String, Value>, path: &str) {
    let common = path.split('.').next().unwrap_or_default();
    match resolve(kind, path) {
        Ok(Some(Target::Extension(s))) => {
            if let Some(v) = from.get(s.id) {
                to.insert(s.id.into(), v.clone());
            }
        }
        Ok(Some(target @ Target::Attr { extension, attr, sub })) => {
            let Some(value) = target.holder(from).and_then(|h| h.get(attr.name)) else {
                return;
            };
            let picked = match sub {
                None => value.clone(),
                Some(sub) => pick_sub(value, sub.name),
            };
            let holder = match extension {
                Some(s) => to
                    .entry(s.id)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("made as an object"),
                None => to,
            };
            match (holder.get_mut(attr.name), picked) {
                (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                (_, picked) => {
                    holder.insert(attr.name.into(), picked);
                }
            }
        }
        Ok(None) => {
            if let Some((k, v)) = from
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(common)))
            {
                to.insert(k.clone(), v.clone());
            }
        }
        Err(_) => {}
    }
}

/// Only sub-attribute `name` of a complex value (of each element when multi-valued).
fn pick_sub(value: &Value, name: &str) -> Value {
    let one = |v: &Value| {
        let mut m = Map::new();
        if let Some(x) = v.get(name) {
            m.insert(name.into(), x.clone());
        }
        Value::Object(m)
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(one).collect()),
        other => one(other),
    }
}

fn remove_path(kind: ResourceKind, resource: &mut Value, path: &str) {
    match resolve(kind, path) {
        Ok(Some(Target::Extension(s))) => {
            if let Some(o) = resource.as_object_mut() {
                o.remove(s.id);
            }
        }
        Ok(Some(target @ Target::Attr { attr, sub, .. })) => {
            let holder = target.holder_mut(resource);
            match sub {
                None => {
                    holder.remove(attr.name);
                }
                Some(sub) => match holder.get_mut(attr.name) {
                    Some(Value::Array(items)) => items.iter_mut().for_each(|i| {
                        if let Some(o) = i.as_object_mut() {
                            o.remove(sub.name);
                        }
                    }),
                    Some(Value::Object(o)) => {
                        o.remove(sub.name);
                    }
                    _ => {}
                },
            }
        }
        // `id` is always returned; other common attributes may go.
        Ok(None) if !path.eq_ignore_ascii_case("id") => {
            if let Some(o) = resource.as_object_mut() {
                o.retain(|k, _| !k.eq_ignore_ascii_case(path));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{DAYPASS_USER, ENTERPRISE_USER};
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resource_is_kept_in_canonical_form() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "USERNAME": "ana@acme.example", "id": "made-up", "groups": [{"value": "admins"}],
            "Active": "False", "nickName": "not kept",
            "emails": [{"Value": "ana@acme.example", "primary": "true", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Organization": "Acme"},
        });
        let out = canonical(ResourceKind::User, &body).unwrap();
        assert_eq!(
            out,
            json!({
                "userName": "ana@acme.example", "active": false,
                "emails": [{"value": "ana@acme.example", "primary": true, "type": "work"}],
                ENTERPRISE_USER: {"organization": "Acme"},
            })
        );
        let missing = canonical(ResourceKind::User, &json!({"displayName": "x"})).unwrap_err();
        assert_eq!(missing.scim_type, Some("invalidValue"));
        let bad = canonical(ResourceKind::User, &json!({"userName": "x", "active": "maybe"})).unwrap_err();
        assert!(bad.detail.contains("active"), "{bad}");
        let bad = canonical(
            ResourceKind::User,
            &json!({"userName": "x", DAYPASS_USER: {"contractEnd": "soon"}}),
        )
        .unwrap_err();
        assert!(bad.detail.contains("RFC 3339"), "{bad}");
    }

    #[test]
    fn paths_resolve_with_or_without_their_schema() {
        let target = resolve(ResourceKind::User, "name.GIVENNAME").unwrap().unwrap();
        assert!(matches!(target, Target::Attr { sub: Some(s), .. } if s.name == "givenName"));
        let target = resolve(ResourceKind::User, &format!("{ENTERPRISE_USER}:organization"))
            .unwrap()
            .unwrap();
        assert!(matches!(target, Target::Attr { extension: Some(s), .. } if s.id == ENTERPRISE_USER));
        let target = resolve(
            ResourceKind::User,
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        )
        .unwrap()
        .unwrap();
        assert!(matches!(target, Target::Attr { extension: None, attr, .. } if attr.name == "userName"));
        assert!(matches!(
            resolve(ResourceKind::User, DAYPASS_USER),
            Ok(Some(Target::Extension(_)))
        ));
        assert!(resolve(ResourceKind::User, "meta.created").unwrap().is_none());
        assert!(resolve(ResourceKind::User, "nickName").is_err());
    }

    #[test]
    fn attributes_and_excluded_attributes_select_what_is_returned() {
        let user = json!({
            "schemas": ["s"], "id": "ana", "userName": "ana", "displayName": "Ana",
            "name": {"givenName": "Ana", "familyName": "Ruiz"},
            DAYPASS_USER: {"company": "Acme"},
        });
        let only = select(
            ResourceKind::User,
            &user,
            &["name.familyName".into(), DAYPASS_USER.into()],
            &[],
        );
        assert_eq!(
            only,
            json!({"schemas": ["s"], "id": "ana", "name": {"familyName": "Ruiz"}, DAYPASS_USER: {"company": "Acme"}})
        );
        let without = select(
            ResourceKind::User,
            &user,
            &[],
            &["displayName".into(), "id".into()],
        );
        assert!(without.get("displayName").is_none() && without["id"] == "ana");
    }
}
