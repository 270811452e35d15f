//! API tokens: issued for a person (all they may do, or only some scopes, for integrators), listed
//! and revoked one by one; only a digest of each is kept and the token is shown once.

use crate::auth::{new_secret, secret_digest};
use crate::domain::token::Scope;
use crate::store::{self, ApiToken};
use crate::{Broker, InvalidInput, Missing, ServiceResult};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use std::collections::BTreeSet;
use time::Duration;

impl Broker {
    /// Issues an API token for a person; the token is returned once and only its digest is kept.
    pub async fn issue_token(
        &self,
        actor: &str,
        person: &str,
        label: &str,
        ttl: Duration,
    ) -> ServiceResult<SecretString> {
        self.issue_scoped_token(actor, person, label, ttl, None).await
    }

    /// As `issue_token`, limited to `scopes` when given (an integrator's read-only token).
    pub async fn issue_scoped_token(
        &self,
        actor: &str,
        person: &str,
        label: &str,
        ttl: Duration,
        scopes: Option<BTreeSet<Scope>>,
    ) -> ServiceResult<SecretString> {
        if ttl <= Duration::ZERO {
            return Err(InvalidInput::TokenLifetime.into());
        }
        if scopes.as_ref().is_some_and(BTreeSet::is_empty) {
            return Err(InvalidInput::NoScopes.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        if store::person(change.conn(), person).await?.is_none() {
            return Err(Missing::Person(person.to_string()).into());
        }
        let secret = new_secret("dpt_");
        let token = ApiToken {
            person: person.into(),
            label: label.into(),
            created_at: now,
            expires_at: now + ttl,
            scopes,
        };
        store::put_api_token(change.conn(), &secret_digest(secret.expose_secret()), &token).await?;
        change
            .audit(
                now,
                actor,
                "admin.token_issued",
                person,
                json!({ "label": label, "expires_at": token.expires_at.unix_timestamp(), "scopes": token.scopes }),
            )
            .await?;
        change.commit().await?;
        Ok(secret)
    }

    /// Every API token (or one person's) with the id it is revoked by, newest expiry first.
    pub async fn api_tokens(&self, person: Option<&str>) -> ServiceResult<Vec<(String, ApiToken)>> {
        let mut conn = self.store().read().await?;
        Ok(store::api_tokens(&mut conn, person).await?)
    }

    /// Revokes one API token by its id (from `api_tokens`).
    pub async fn revoke_api_token(&self, actor: &str, id: &str) -> ServiceResult<ApiToken> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let token = store::api_tokens(change.conn(), None)
            .await?
            .into_iter()
            .find(|(t, _)| t == id)
            .map(|(_, t)| t)
            .ok_or_else(|| Missing::ApiToken(id.to_string()))?;
        store::delete_api_token(change.conn(), id).await?;
        change
            .audit(
                now,
                actor,
                "admin.token_revoked",
                &token.person,
                json!({ "token": id, "label": token.label }),
            )
            .await?;
        change.commit().await?;
        Ok(token)
    }
}
