//! PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` operations applied in order to a
//! resource's JSON, with paths such as `active`, `name.givenName`, `emails[type eq "work"].value`,
//! `members[value eq "…"]` and extension attributes by URN. Accepts what identity providers send:
//! operation names in any case (Entra's `"Replace"`), booleans as strings, no path with an object
//! of attributes, and removal of members by value. The caller puts the result in canonical form,
//! which checks types and required attributes.

use super::filter::Filter;
use super::resource::{resolve, Target};
use super::schema::{Attr, Kind, Mutability, ResourceKind};
use super::{member, ScimError};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// A PATCH path: where, maybe which elements of a multi-valued attribute, maybe which of their
/// sub-attributes.
struct PatchPath {
    target: Option<Target>,
    /// `externalId`: the only common attribute a client may change.
    external_id: bool,
    filter: Option<Filter>,
    sub: Option<&'static Attr>,
}

fn parse_path(kind: ResourceKind, text: &str) -> Result<PatchPath, ScimError> {
    let text = text.trim();
    let (attr_path, filter, after) = match text.find('[') {
        Some(open) => {
            let close = text
                .rfind(']')
                .filter(|&c| c > open)
                .ok_or_else(|| ScimError::invalid_path(format!("{text:?}: [ is not closed")))?;
            let filter = Filter::parse(&text[open + 1..close])
                .map_err(|e| ScimError::invalid_path(format!("{text:?}: {e}")))?;
            (&text[..open], Some(filter), &text[close + 1..])
        }
        None => (text, None, ""),
    };
    let target = resolve(kind, attr_path)?;
    if target.is_none() {
        if attr_path.eq_ignore_ascii_case("externalId") && filter.is_none() {
            return Ok(PatchPath {
                target: None,
                external_id: true,
                filter: None,
                sub: None,
            });
        }
        return Err(ScimError::mutability(format!(
            "{attr_path} is set by Daypass and cannot be changed"
        )));
    }
    let mut path = PatchPath {
        target,
        external_id: false,
        filter,
        sub: None,
    };
    if let Some(Target::Attr { attr, sub, .. }) = path.target {
        if attr.mutability == Mutability::ReadOnly
            || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
        {
            return Err(ScimError::mutability(format!("{} is read-only", attr.name)));
        }
        if path.filter.is_some() && (!attr.multi || sub.is_some()) {
            return Err(ScimError::invalid_path(format!(
                "{text:?}: only a multi-valued attribute takes a [filter]"
            )));
        }
        path.sub = sub;
        if let Some(name) = after.strip_prefix('.') {
            let s = attr
                .sub_attr(name)
                .ok_or_else(|| ScimError::invalid_path(format!("{text:?}: {} has no {name}", attr.name)))?;
            path.sub = Some(s);
        } else if !after.is_empty() {
            return Err(ScimError::invalid_path(format!("{text:?}: unexpected {after:?}")));
        }
    }
    Ok(path)
}

/// Applies a PATCH body (`{"schemas": […PatchOp], "Operations": […]}`) to `resource`.
pub fn apply(kind: ResourceKind, resource: &mut Value, body: &Value) -> Result<(), ScimError> {
    let operations = member(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body has a non-empty \"Operations\" array"))?;
    for operation in operations {
        let op = match member(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "op {other:?} is not add, replace or remove"
                )))
            }
        };
        let value = member(operation, "value").cloned().unwrap_or(Value::Null);
        match member(operation, "path").and_then(Value::as_str) {
            Some(path) => apply_at(kind, resource, op, &parse_path(kind, path)?, value)?,
            None if op == Op::Remove => return Err(ScimError::no_target("remove needs a path")),
            None => apply_object(kind, resource, op, value)?,
        }
    }
    Ok(())
}

/// No path: each member of `value` is an attribute (or an extension's object of attributes).
fn apply_object(kind: ResourceKind, resource: &mut Value, op: Op, value: Value) -> Result<(), ScimError> {
    let Value::Object(attributes) = value else {
        return Err(ScimError::invalid_syntax(
            "without a path, the value is an object of attributes",
        ));
    };
    for (key, v) in attributes {
        // Okta renames a group with its own id beside the new name: the id it has is no change.
        let same_id = key.eq_ignore_ascii_case("id") && resource.get("id") == Some(&v);
        if key.eq_ignore_ascii_case("schemas") || same_id {
            continue;
        }
        if let (Some(schema), Value::Object(inner)) = (kind.extension(&key), &v) {
            for (k, v) in inner.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
                apply_at(
                    kind,
                    resource,
                    op,
                    &parse_path(kind, &format!("{}:{k}", schema.id))?,
                    v.clone(),
                )?;
            }
            continue;
        }
        apply_at(kind, resource, op, &parse_path(kind, &key)?, v)?;
    }
    Ok(())
}

fn apply_at(
    kind: ResourceKind,
    resource: &mut Value,
    op: Op,
    path: &PatchPath,
    value: Value,
) -> Result<(), ScimError> {
    if path.external_id {
        let object = resource.as_object_mut().expect("resources are objects");
        match (op, value) {
            (Op::Remove, _) | (_, Value::Null) => object.remove("externalId"),
            (_, v) => object.insert("externalId".into(), v),
        };
        return Ok(());
    }
    let target = path.target.expect("parsed paths have a target");
    let (attr, sub_in_path) = match target {
        Target::Extension(schema) => {
            return match (op, value) {
                (Op::Remove, _) => {
                    resource.as_object_mut().expect("an object").remove(schema.id);
                    Ok(())
                }
                (_, Value::Object(inner)) => {
                    for (k, v) in inner
                        .into_iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                    {
                        apply_at(
                            kind,
                            resource,
                            op,
                            &parse_path(kind, &format!("{}:{k}", schema.id))?,
                            v,
                        )?;
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!("{} takes an object", schema.id))),
            };
        }
        Target::Attr { attr, .. } => (attr, path.sub),
    };
    let holder = target.holder_mut(resource);
    if let Some(filter) = &path.filter {
        return apply_filtered(kind, holder, attr, filter, sub_in_path, op, value);
    }
    match (op, sub_in_path) {
        (Op::Remove, None) if attr.multi && !value.is_null() => {
            remove_listed(holder, attr, &value);
            Ok(())
        }
        (Op::Remove, None) => {
            holder.remove(attr.name);
            Ok(())
        }
        (_, Some(sub)) if attr.multi => Err(ScimError::invalid_path(format!(
            "{}.{}: say which of the {} with a filter, e.g. {}[type eq \"work\"].{}",
            attr.name, sub.name, attr.name, attr.name, sub.name
        ))),
        (Op::Remove, Some(sub)) => {
            if let Some(Value::Object(o)) = holder.get_mut(attr.name) {
                o.remove(sub.name);
            }
            Ok(())
        }
        (_, Some(sub)) => {
            let object = holder
                .entry(attr.name)
                .or_insert_with(|| Value::Object(Map::new()));
            if !object.is_object() {
                *object = Value::Object(Map::new());
            }
            set_or_remove(object.as_object_mut().expect("made an object"), sub.name, value);
            Ok(())
        }
        (Op::Add, None) if attr.multi => {
            let items = holder.entry(attr.name).or_insert_with(|| Value::Array(vec![]));
            if !items.is_array() {
                *items = Value::Array(vec![]);
            }
            let items = items.as_array_mut().expect("made an array");
            let added = match value {
                Value::Array(more) => more,
                Value::Null => vec![],
                one => vec![one],
            };
            for v in added {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            Ok(())
        }
        (_, None) if attr.kind == Kind::Complex && !attr.multi => {
            match (holder.get_mut(attr.name), value) {
                (Some(Value::Object(have)), Value::Object(more)) => {
                    for (k, v) in more {
                        set_or_remove(have, &k, v);
                    }
                }
                (_, v) => set_or_remove(holder, attr.name, v),
            }
            Ok(())
        }
        (_, None) => {
            set_or_remove(holder, attr.name, value);
            Ok(())
        }
    }
}

fn set_or_remove(object: &mut Map<String, Value>, key: &str, value: Value) {
    // Keys already there in another case are the same attribute.
    object.retain(|k, _| k == key || !k.eq_ignore_ascii_case(key));
    if value.is_null() {
        object.remove(key);
    } else {
        object.insert(key.to_string(), value);
    }
}

/// `remove` of a multi-valued attribute with a value: the elements listed (as Entra removes
/// members: `{"op": "Remove", "path": "members", "value": [{"value": "ID"}]}`).
fn remove_listed(holder: &mut Map<String, Value>, attr: &Attr, value: &Value) {
    let listed: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let Some(Value::Array(items)) = holder.get_mut(attr.name) else {
        return;
    };
    items.retain(|item| {
        !listed.iter().any(|l| match (l.as_object(), item.as_object()) {
            (Some(l), Some(item)) => l
                .iter()
                .all(|(k, v)| member(&Value::Object(item.clone()), k) == Some(v)),
            _ => *l == item,
        })
    });
    if items.is_empty() {
        holder.remove(attr.name);
    }
}

fn apply_filtered(
    kind: ResourceKind,
    holder: &mut Map<String, Value>,
    attr: &'static Attr,
    filter: &Filter,
    sub: Option<&'static Attr>,
    op: Op,
    value: Value,
) -> Result<(), ScimError> {
    let path = attr.name;
    let items = match holder.get_mut(path) {
        Some(Value::Array(items)) => std::mem::take(items),
        _ => vec![],
    };
    let (mut matching, mut rest): (Vec<Value>, Vec<Value>) = (vec![], vec![]);
    for item in items {
        if filter.matches_element(kind, &item, path) {
            matching.push(item);
        } else {
            rest.push(item);
        }
    }
    let no_target = || ScimError::no_target(format!("no value of {path} matches the filter"));
    match op {
        Op::Remove => {
            if let Some(sub) = sub {
                for item in &mut matching {
                    if let Some(o) = item.as_object_mut() {
                        o.remove(sub.name);
                    }
                }
                rest.extend(matching);
            }
        }
        Op::Add | Op::Replace => {
            if matching.is_empty() {
                // Entra adds `emails[type eq "work"].value` to a user without a work address: the
                // element the filter describes is made.
                let equalities = filter.equalities().ok_or_else(no_target)?;
                let mut made = Map::new();
                for (k, v) in equalities {
                    made.insert(k, v);
                }
                matching.push(Value::Object(made));
            }
            for item in &mut matching {
                let object = item.as_object_mut().ok_or_else(no_target)?;
                match (sub, &value) {
                    (Some(sub), v) => set_or_remove(object, sub.name, v.clone()),
                    (None, Value::Object(more)) if op == Op::Add => {
                        for (k, v) in more {
                            set_or_remove(object, k, v.clone());
                        }
                    }
                    (None, Value::Object(more)) => *object = more.clone(),
                    (None, _) => return Err(ScimError::invalid_value(format!("{path}[…] takes an object"))),
                }
            }
            rest.extend(matching);
        }
    }
    if rest.is_empty() {
        holder.remove(path);
    } else {
        holder.insert(path.into(), Value::Array(rest));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resource::canonical;
    use super::super::schema::{DAYPASS_USER, ENTERPRISE_USER};
    use super::*;
    use serde_json::json;

    fn patched(kind: ResourceKind, resource: Value, operations: Value) -> Result<Value, ScimError> {
        let mut resource = resource;
        apply(
            kind,
            &mut resource,
            &json!({ "schemas": [super::super::schema::PATCH_OP], "Operations": operations }),
        )?;
        canonical(kind, &resource)
    }

    fn ana() -> Value {
        json!({
            "userName": "ana", "active": true,
            "emails": [{"value": "ana@acme.example", "type": "work", "primary": true}],
            "name": {"givenName": "Ana", "familyName": "Ruiz"},
        })
    }

    #[test]
    fn entra_id_patches_as_it_documents_them() {
        // Capitalised operations, booleans as strings, a work address made by its filter.
        let out = patched(
            ResourceKind::User,
            json!({"userName": "ana", "active": true}),
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ana@acme.example"},
                {"op": "Add", "path": "name.givenName", "value": "Ana"},
                {"op": "Replace", "path": format!("{ENTERPRISE_USER}:organization"), "value": "Acme"},
                {"op": "Add", "path": "externalId", "value": "e-1"},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "userName": "ana", "active": false, "externalId": "e-1",
                "emails": [{"type": "work", "value": "ana@acme.example"}],
                "name": {"givenName": "Ana"}, ENTERPRISE_USER: {"organization": "Acme"},
            })
        );
    }

    #[test]
    fn okta_replaces_without_a_path_and_deactivates() {
        let out = patched(
            ResourceKind::User,
            ana(),
            json!([{"op": "replace", "value": {"active": false, "name": {"givenName": "Ana María"},
                DAYPASS_USER: {"company": "Acme", "contractEnd": "2027-03-31T23:59:59Z"}}}]),
        )
        .unwrap();
        assert_eq!(out["active"], false);
        assert_eq!(
            out["name"],
            json!({"givenName": "Ana María", "familyName": "Ruiz"})
        );
        assert_eq!(out[DAYPASS_USER]["contractEnd"], "2027-03-31T23:59:59Z");
    }

    #[test]
    fn members_are_added_and_removed_by_value_or_filter() {
        let group = json!({"displayName": "dba", "members": [{"value": "ana"}, {"value": "ben"}]});
        let out = patched(
            ResourceKind::Group,
            group.clone(),
            json!([
                {"op": "add", "path": "members", "value": [{"value": "cy"}, {"value": "ana"}]},
                {"op": "remove", "path": "members[value eq \"ben\"]"},
                {"op": "Remove", "path": "members", "value": [{"value": "ana"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "cy"}]));
        let emptied = patched(
            ResourceKind::Group,
            group,
            json!([{"op": "remove", "path": "members"}]),
        )
        .unwrap();
        assert!(emptied.get("members").is_none());
    }

    #[test]
    fn bad_operations_are_refused_with_their_scim_type() {
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "active"}]), "invalidSyntax"),
            (
                json!([{"op": "add", "path": "nickName", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "add", "path": "groups", "value": [{"value": "admins"}]}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"home\" or primary eq false].value", "value": "x"}]),
                "noTarget",
            ),
            (json!([{"op": "remove", "path": "userName"}]), "invalidValue"),
            (
                json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
                "invalidValue",
            ),
            (json!([]), "invalidSyntax"),
        ];
        for (operations, scim_type) in cases {
            let e = patched(ResourceKind::User, ana(), operations.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(scim_type), "{operations}: {e}");
        }
    }
}
