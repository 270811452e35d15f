//! The broker as a SCIM 2.0 service provider: identity providers create, change and remove people
//! and groups; every change is made through the directory (audited as `scim:TOKEN-NAME`), and
//! deactivating or deleting a user ends their access at once. Authenticated by SCIM tokens of their
//! own, which open nothing else.

mod groups;
mod users;

use crate::auth::{new_secret, secret_digest};
use crate::domain::scim::filter::Filter;
use crate::domain::scim::patch;
use crate::domain::scim::resource::canonical;
use crate::domain::scim::schema::{ResourceKind, MAX_RESULTS};
use crate::domain::scim::{Record, Token};
use crate::store;
use crate::{Broker, InvalidInput, Missing, ServiceResult, Unauthenticated};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// An identity provider holding a valid SCIM token.
#[derive(Debug, Clone)]
pub struct ScimClient {
    pub token: Token,
}

impl ScimClient {
    /// Who SCIM changes are audited as.
    pub fn actor(&self) -> String {
        format!("scim:{}", self.token.name)
    }
}

/// What a list asks for: a filter, and the page (RFC 7644 §3.4.2.4, `startIndex` counts from 1).
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
}

impl ListQuery {
    /// From the query parameters; a bad filter is refused (`invalidFilter`).
    pub fn new(filter: Option<&str>, start_index: Option<i64>, count: Option<i64>) -> ServiceResult<Self> {
        Ok(ListQuery {
            filter: filter
                .filter(|f| !f.trim().is_empty())
                .map(Filter::parse)
                .transpose()?,
            start_index: usize::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(1),
            count: usize::try_from(count.unwrap_or(100).clamp(0, MAX_RESULTS as i64)).unwrap_or(0),
        })
    }

    /// The page of the resources that match, and how many match in all.
    fn page(&self, kind: ResourceKind, all: Vec<Value>) -> ListPage {
        let matching: Vec<Value> = all
            .into_iter()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(kind, r)))
            .collect();
        ListPage {
            total: matching.len(),
            start_index: self.start_index,
            resources: matching
                .into_iter()
                .skip(self.start_index - 1)
                .take(self.count)
                .collect(),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub total: usize,
    pub start_index: usize,
    pub resources: Vec<Value>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The resource as served: what is kept, with its schemas, id and meta (the web layer adds where
/// it lives). `times` (created, last modified) are unknown for what SCIM never touched.
fn served(
    kind: ResourceKind,
    id: &str,
    mut resource: Value,
    times: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Value {
    let mut schemas = vec![kind.core().id];
    schemas.extend(
        kind.extensions()
            .iter()
            .filter(|s| resource.get(s.id).is_some())
            .map(|s| s.id),
    );
    resource["schemas"] = json!(schemas);
    resource["id"] = json!(id);
    resource["meta"] = json!({ "resourceType": kind.name() });
    if let Some((created, modified)) = times {
        resource["meta"]["created"] = json!(rfc3339(created));
        resource["meta"]["lastModified"] = json!(rfc3339(modified));
    }
    resource
}

/// A kept record after a change at `now`.
fn record(resource: Value, before: Option<&Record>, now: OffsetDateTime) -> Record {
    Record {
        resource,
        created: before.map_or(now, |r| r.created),
        last_modified: now,
        deleted: false,
        roles_from_groups: before.is_some_and(|r| r.roles_from_groups),
    }
}

impl Broker {
    /// A SCIM token for the identity provider `name`, shown once.
    pub async fn issue_scim_token(
        &self,
        actor: &str,
        name: &str,
        ttl: Duration,
    ) -> ServiceResult<SecretString> {
        crate::domain::validate_name("token name", name)?;
        if ttl <= Duration::ZERO {
            return Err(InvalidInput::TokenLifetime.into());
        }
        let now = self.now();
        let secret = new_secret("dpscim_");
        let token = Token {
            name: name.to_string(),
            created_by: actor.to_string(),
            created_at: now,
            expires_at: now + ttl,
        };
        let mut change = self.store().change().await?;
        store::put_scim_token(change.conn(), &secret_digest(secret.expose_secret()), &token).await?;
        change
            .audit(
                now,
                actor,
                "scim.token_issued",
                name,
                json!({ "expires_at": rfc3339(token.expires_at) }),
            )
            .await?;
        change.commit().await?;
        Ok(secret)
    }

    /// Every SCIM token (not their secrets).
    pub async fn scim_tokens(&self) -> ServiceResult<Vec<Token>> {
        let mut conn = self.store().read().await?;
        Ok(store::scim_tokens(&mut conn).await?)
    }

    /// Revokes every SCIM token named `name`.
    pub async fn revoke_scim_token(&self, actor: &str, name: &str) -> ServiceResult<u64> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let gone = store::delete_scim_tokens(change.conn(), name).await?;
        if gone == 0 {
            return Err(Missing::ScimToken(name.to_string()).into());
        }
        change
            .audit(now, actor, "scim.token_revoked", name, json!({ "tokens": gone }))
            .await?;
        change.commit().await?;
        Ok(gone)
    }

    /// The identity provider a SCIM bearer token belongs to, if it is valid now.
    pub async fn scim_client(&self, secret: &str) -> ServiceResult<ScimClient> {
        let mut conn = self.store().read().await?;
        let token = store::scim_token(&mut conn, &secret_digest(secret))
            .await?
            .filter(|t| self.now() < t.expires_at)
            .ok_or(Unauthenticated::UnknownToken)?;
        Ok(ScimClient { token })
    }
}

/// Creating, replacing, patching, reading, listing and deleting, the same for users and groups.
impl Broker {
    pub async fn scim_list(&self, kind: ResourceKind, query: &ListQuery) -> ServiceResult<ListPage> {
        match kind {
            ResourceKind::User => self.list_users(query).await,
            ResourceKind::Group => self.list_groups(query).await,
        }
    }

    pub async fn scim_get(&self, kind: ResourceKind, id: &str) -> ServiceResult<Value> {
        let mut conn = self.store().read().await?;
        self.resource_in(kind, &mut conn, id).await
    }

    pub async fn scim_create(
        &self,
        kind: ResourceKind,
        client: &ScimClient,
        body: &Value,
    ) -> ServiceResult<Value> {
        let resource = canonical(kind, body)?;
        let mut change = self.store().change().await?;
        let id = match kind {
            ResourceKind::User => self.new_user_id(change.conn(), &resource).await?,
            ResourceKind::Group => self.new_group_id(change.conn(), &resource).await?,
        };
        self.save(kind, change, client, &id, resource).await
    }

    pub async fn scim_replace(
        &self,
        kind: ResourceKind,
        client: &ScimClient,
        id: &str,
        body: &Value,
    ) -> ServiceResult<Value> {
        let resource = canonical(kind, body)?;
        let mut change = self.store().change().await?;
        self.resource_in(kind, change.conn(), id).await?;
        self.save(kind, change, client, id, resource).await
    }

    pub async fn scim_patch(
        &self,
        kind: ResourceKind,
        client: &ScimClient,
        id: &str,
        body: &Value,
    ) -> ServiceResult<Value> {
        let mut change = self.store().change().await?;
        let mut resource = self.resource_in(kind, change.conn(), id).await?;
        patch::apply(kind, &mut resource, body)?;
        let resource = canonical(kind, &resource)?;
        self.save(kind, change, client, id, resource).await
    }

    pub async fn scim_delete(&self, kind: ResourceKind, client: &ScimClient, id: &str) -> ServiceResult<()> {
        match kind {
            ResourceKind::User => self.delete_user(client, id).await,
            ResourceKind::Group => self.delete_group(client, id).await,
        }
    }

    async fn resource_in(
        &self,
        kind: ResourceKind,
        conn: &mut sqlx::AnyConnection,
        id: &str,
    ) -> ServiceResult<Value> {
        match kind {
            ResourceKind::User => self.user_in(conn, id).await,
            ResourceKind::Group => self.group_in(conn, id).await,
        }
    }

    async fn save(
        &self,
        kind: ResourceKind,
        change: store::Change,
        client: &ScimClient,
        id: &str,
        resource: Value,
    ) -> ServiceResult<Value> {
        match kind {
            ResourceKind::User => self.save_user(change, client, id, resource).await,
            ResourceKind::Group => self.save_group(change, client, id, resource).await,
        }
    }
}
