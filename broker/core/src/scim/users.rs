//! SCIM users: every person in the directory shows as one (those the identity provider never
//! provisioned as the directory has them); creating, replacing and patching a user saves the person,
//! `active: false` disables the account and ends every live grant at once, and deleting a user
//! does the same and makes the user gone (the person stays, disabled, for the record).

use super::{record, served, ListPage, ListQuery, ScimClient};
use crate::domain::directory::Person;
use crate::domain::scim::schema::ResourceKind;
use crate::domain::scim::{user, Record, ScimError};
use crate::store::{self, Change};
use crate::{Broker, PersonSpec, ServiceResult};
use serde_json::{json, Value};
use sqlx::AnyConnection;
use std::collections::HashMap;

const KIND: ResourceKind = ResourceKind::User;

/// Display names of the groups SCIM made (other groups show their name).
pub(super) async fn group_displays(conn: &mut AnyConnection) -> ServiceResult<HashMap<String, String>> {
    Ok(store::scim_groups(conn)
        .await?
        .into_iter()
        .filter_map(|(id, r)| Some((id, r.resource["displayName"].as_str()?.to_string())))
        .collect())
}

/// A person as a user, as served.
fn user_of(person: &Person, kept: Option<&Record>, displays: &HashMap<String, String>) -> Value {
    let mut resource = kept.map_or_else(|| user::shown_as_user(person), |r| r.resource.clone());
    // The account as it is now (an admin may have disabled it on the console); a user the
    // identity provider keeps without `active` is active while the account is.
    if resource.get("active").is_some() || person.disabled {
        resource["active"] = json!(!person.disabled);
    }
    if !person.groups.is_empty() {
        resource["groups"] = person
            .groups
            .iter()
            .map(|g| json!({ "value": g, "display": displays.get(g).unwrap_or(g) }))
            .collect();
    }
    served(
        KIND,
        &person.id,
        resource,
        kept.map(|r| (r.created, r.last_modified)),
    )
}

fn gone(id: &str) -> ScimError {
    ScimError::not_found(format!("no user {id:?}"))
}

/// People as users (with what SCIM keeps of each), minus those the identity provider deleted.
fn users_of(
    people: impl IntoIterator<Item = (Person, Option<Record>)>,
    displays: &HashMap<String, String>,
) -> Vec<Value> {
    people
        .into_iter()
        .filter(|(_, kept)| !kept.as_ref().is_some_and(|r| r.deleted))
        .map(|(person, kept)| user_of(&person, kept.as_ref(), displays))
        .collect()
}

impl Broker {
    /// The users a list asks for: for `userName eq "…"` (how identity providers look a user up
    /// before each change) only the people that name may be of, else everyone.
    pub(super) async fn list_users(&self, query: &ListQuery) -> ServiceResult<ListPage> {
        let mut conn = self.store().read().await?;
        let displays = group_displays(&mut conn).await?;
        let people = match query.filter.as_ref().and_then(|f| f.user_name_eq()) {
            Some(name) => store::people_by_user_name(&mut conn, &name.to_lowercase()).await?,
            None => {
                let mut kept: HashMap<String, Record> =
                    store::scim_users(&mut conn).await?.into_iter().collect();
                let people = store::people(&mut conn).await?;
                people
                    .into_iter()
                    .map(|p| {
                        let k = kept.remove(&p.id);
                        (p, k)
                    })
                    .collect()
            }
        };
        Ok(query.page(KIND, users_of(people, &displays)))
    }

    pub(super) async fn user_in(&self, conn: &mut AnyConnection, id: &str) -> ServiceResult<Value> {
        let kept = store::scim_user(conn, id).await?;
        let person = store::person(conn, id)
            .await?
            .filter(|_| !kept.as_ref().is_some_and(|r| r.deleted))
            .ok_or_else(|| gone(id))?;
        let displays = group_displays(conn).await?;
        Ok(user_of(&person, kept.as_ref(), &displays))
    }

    /// The person id a new user gets: one the identity provider deleted comes back under its old
    /// id; otherwise the id made from the user name, or the next free one after it.
    pub(super) async fn new_user_id(
        &self,
        conn: &mut AnyConnection,
        resource: &Value,
    ) -> ServiceResult<String> {
        let base = user::person_id_for(resource["userName"].as_str().unwrap_or_default());
        for id in user::candidate_ids(&base) {
            match store::person_with_scim_user(conn, &id).await? {
                Some((_, Some(kept))) if kept.deleted => return Ok(id),
                Some(_) => continue,
                None => return Ok(id),
            }
        }
        unreachable!("candidate ids never run out")
    }

    /// The identity provider deleted the user: the account is disabled (every live grant ends,
    /// sessions and tokens go) and the user is gone from SCIM.
    pub(super) async fn delete_user(&self, client: &ScimClient, id: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut change = self.store().change().await?;
        self.user_in(change.conn(), id).await?;
        let person = self
            .set_person_disabled_in(
                &mut change,
                &client.actor(),
                id,
                true,
                "deleted by the identity provider",
                now,
            )
            .await?;
        let kept = store::scim_user(change.conn(), id).await?;
        let mut gone = kept.unwrap_or_else(|| record(user::shown_as_user(&person), None, now));
        gone.deleted = true;
        gone.last_modified = now;
        store::put_scim_user(change.conn(), id, &gone).await?;
        change
            .audit(
                now,
                &client.actor(),
                "scim.user_deleted",
                id,
                json!({ "userName": gone.resource["userName"] }),
            )
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Inside `change`: saves user `id` as `resource` (canonical) and the person it makes.
    pub(super) async fn save_user(
        &self,
        mut change: Change,
        client: &ScimClient,
        id: &str,
        resource: Value,
    ) -> ServiceResult<Value> {
        let now = self.now();
        let actor = client.actor();
        let user_name = resource["userName"].as_str().unwrap_or_default().to_string();
        if let Some(holder) = self.user_name_holder(change.conn(), &user_name, id).await? {
            return Err(
                ScimError::uniqueness(format!("userName {user_name:?} is taken by user {holder:?}")).into(),
            );
        }
        let before = store::person(change.conn(), id).await?;
        let ever = store::scim_user(change.conn(), id).await?;
        let roles_from_groups = ever.as_ref().map_or(before.is_none(), |r| r.roles_from_groups);
        let kept = ever.filter(|r| !r.deleted);
        let fields = user::fields(&resource);
        let groups = before.as_ref().map(|p| p.groups.clone()).unwrap_or_default();
        let mut ticket_identities = before
            .as_ref()
            .map(|p| p.ticket_identities.clone())
            .unwrap_or_default();
        if user_name != id {
            ticket_identities.insert(user_name.clone());
        }
        let spec = PersonSpec {
            id: id.to_string(),
            name: fields.name.clone(),
            email: fields.email.clone(),
            company: fields.company.clone(),
            roles: match &before {
                Some(p) if !roles_from_groups => p.roles.clone(),
                _ => user::roles_for(&groups, &self.0.settings.scim_role_groups),
            },
            groups,
            contract_end: fields.contract_end,
            ticket_identities,
        };
        let person = self.put_person_in(&mut change, &actor, spec, now).await?;
        if person.disabled == fields.active {
            let why = if fields.active {
                "activated by the identity provider"
            } else {
                "deactivated by the identity provider"
            };
            self.set_person_disabled_in(&mut change, &actor, id, !fields.active, why, now)
                .await?;
        }
        let kept = Record {
            roles_from_groups,
            ..record(resource, kept.as_ref(), now)
        };
        store::put_scim_user(change.conn(), id, &kept).await?;
        let served = self.user_in(change.conn(), id).await?;
        change.commit().await?;
        Ok(served)
    }

    /// The user, other than `except`, who holds `user_name` (user names are unique in any case).
    async fn user_name_holder(
        &self,
        conn: &mut AnyConnection,
        user_name: &str,
        except: &str,
    ) -> ServiceResult<Option<String>> {
        let wanted = user_name.to_lowercase();
        Ok(store::people_by_user_name(conn, &wanted)
            .await?
            .into_iter()
            .filter(|(person, _)| person.id != except)
            .find(|(person, kept)| match kept {
                Some(r) if r.deleted => false,
                Some(r) => r.resource["userName"]
                    .as_str()
                    .is_some_and(|u| u.to_lowercase() == wanted),
                None => person.id.to_lowercase() == wanted,
            })
            .map(|(person, _)| person.id))
    }
}
