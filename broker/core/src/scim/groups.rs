//! SCIM groups: Daypass groups (entitlements name them `group:ID`), those SCIM made and those
//! people were put in on the CLI. A group's members are the people in it; changing them changes
//! those people's groups and, for people the identity provider manages, their roles (groups mapped
//! to roles in `scim_role_groups`, a contractor otherwise). A renamed group keeps its id.

use super::users::group_displays;
use super::{record, served, ListPage, ListQuery, ScimClient};
use crate::domain::directory::Person;
use crate::domain::scim::schema::ResourceKind;
use crate::domain::scim::{user, Record, ScimError};
use crate::store::{self, Change};
use crate::{Broker, PersonSpec, ServiceResult};
use serde_json::{json, Value};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};

const KIND: ResourceKind = ResourceKind::Group;

fn gone(id: &str) -> ScimError {
    ScimError::not_found(format!("no group {id:?}"))
}

/// Every group's id, with its kept record when SCIM made it.
async fn group_ids(conn: &mut AnyConnection) -> ServiceResult<BTreeMap<String, Option<Record>>> {
    let mut groups: BTreeMap<String, Option<Record>> = store::group_names(conn)
        .await?
        .into_iter()
        .map(|g| (g, None))
        .collect();
    for (id, kept) in store::scim_groups(conn).await? {
        groups.insert(id, Some(kept));
    }
    Ok(groups)
}

/// Each group's members' ids.
type Members = BTreeMap<String, BTreeSet<String>>;

fn group_of(id: &str, kept: Option<&Record>, members: Option<&BTreeSet<String>>) -> Value {
    let mut resource = kept.map_or_else(|| json!({ "displayName": id }), |r| r.resource.clone());
    if let Some(ids) = members.filter(|ids| !ids.is_empty()) {
        resource["members"] = ids.iter().map(|p| json!({ "value": p })).collect();
    }
    served(KIND, id, resource, kept.map(|r| (r.created, r.last_modified)))
}

/// The member ids a group resource lists.
fn member_ids(resource: &Value) -> BTreeSet<String> {
    resource["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Broker {
    pub(super) async fn list_groups(&self, query: &ListQuery) -> ServiceResult<ListPage> {
        let mut conn = self.store().read().await?;
        let groups = group_ids(&mut conn).await?;
        let members: Members = store::group_members(&mut conn).await?;
        let all = groups
            .iter()
            .map(|(id, kept)| group_of(id, kept.as_ref(), members.get(id)))
            .collect();
        Ok(query.page(KIND, all))
    }

    pub(super) async fn group_in(&self, conn: &mut AnyConnection, id: &str) -> ServiceResult<Value> {
        let kept = store::scim_group(conn, id).await?;
        let members = store::member_ids(conn, id).await?;
        if kept.is_none() && members.is_empty() {
            return Err(gone(id).into());
        }
        Ok(group_of(id, kept.as_ref(), Some(&members)))
    }

    /// The id a new group gets: made from its name, or the next free one after it.
    pub(super) async fn new_group_id(
        &self,
        conn: &mut AnyConnection,
        resource: &Value,
    ) -> ServiceResult<String> {
        let groups = group_ids(conn).await?;
        let base = user::person_id_for(resource["displayName"].as_str().unwrap_or_default());
        Ok(user::free_id(&base, |id| groups.contains_key(id)))
    }

    /// The group is gone: nobody is in it any more (entitlements naming it match nobody).
    pub(super) async fn delete_group(&self, client: &ScimClient, id: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut change = self.store().change().await?;
        self.group_in(change.conn(), id).await?;
        self.set_members(&mut change, client, id, &BTreeSet::new())
            .await?;
        store::delete_scim_group(change.conn(), id).await?;
        change
            .audit(now, &client.actor(), "scim.group_deleted", id, json!({}))
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Inside `change`: saves group `id` as `resource` (canonical, with the members it must have).
    pub(super) async fn save_group(
        &self,
        mut change: Change,
        client: &ScimClient,
        id: &str,
        mut resource: Value,
    ) -> ServiceResult<Value> {
        let now = self.now();
        let display = resource["displayName"].as_str().unwrap_or_default().to_string();
        let displays = group_displays(change.conn()).await?;
        let groups = group_ids(change.conn()).await?;
        let holder = groups
            .keys()
            .filter(|g| g.as_str() != id)
            .find(|g| displays.get(*g).unwrap_or(g).to_lowercase() == display.to_lowercase());
        if let Some(holder) = holder {
            return Err(ScimError::uniqueness(format!(
                "displayName {display:?} is taken by group {holder:?}"
            ))
            .into());
        }
        let members = member_ids(&resource);
        if let Some(object) = resource.as_object_mut() {
            object.remove("members");
        }
        let kept = store::scim_group(change.conn(), id).await?;
        store::put_scim_group(change.conn(), id, &record(resource, kept.as_ref(), now)).await?;
        self.set_members(&mut change, client, id, &members).await?;
        change
            .audit(
                now,
                &client.actor(),
                "scim.group_saved",
                id,
                json!({ "displayName": display, "members": members }),
            )
            .await?;
        let served = self.group_in(change.conn(), id).await?;
        change.commit().await?;
        Ok(served)
    }

    /// Inside `change`: makes `wanted` exactly the people in group `id`.
    async fn set_members(
        &self,
        change: &mut Change,
        client: &ScimClient,
        id: &str,
        wanted: &BTreeSet<String>,
    ) -> ServiceResult<()> {
        let now = self.now();
        let wanted_ids: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
        let mut people: BTreeMap<String, Person> = store::people_by_id(change.conn(), &wanted_ids)
            .await?
            .into_iter()
            .collect();
        if let Some(unknown) = wanted.iter().find(|m| !people.contains_key(*m)) {
            return Err(ScimError::invalid_value(format!("members: no user {unknown:?}")).into());
        }
        // Those in the group now, to take out the ones not wanted.
        for member in store::members_of(change.conn(), id).await? {
            people.insert(member.id.clone(), member);
        }
        for person in people.values() {
            let is_in = person.groups.contains(id);
            if is_in == wanted.contains(&person.id) {
                continue;
            }
            let mut spec = PersonSpec::from(person);
            if is_in {
                spec.groups.remove(id);
            } else {
                spec.groups.insert(id.to_string());
            }
            let provisioned = store::scim_user(change.conn(), &person.id)
                .await?
                .is_some_and(|r| !r.deleted && r.roles_from_groups);
            if provisioned {
                spec.roles = user::roles_for(&spec.groups, &self.0.settings.scim_role_groups);
            }
            self.put_person_in(change, &client.actor(), spec, now).await?;
        }
        Ok(())
    }
}
