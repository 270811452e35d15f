//! Grants after issue: reading them, ending them early, each gateway's desired state, and the
//! connections gateways saw under them.

use crate::domain::directory::{Person, Role};
use crate::domain::grant::{EndReason, GrantRecord};
use crate::store::{self, Change};
use crate::{Broker, Caller, ServiceError, ServiceResult};
use daypass_proto::api::{GatewayConnect, GatewayPeer, GatewayState, GrantView};
use daypass_proto::Signed;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

impl Broker {
    pub async fn grant_view(&self, caller: &Caller, id: Uuid) -> ServiceResult<GrantView> {
        let person = caller.person()?;
        let mut conn = self.store().read().await?;
        let record = store::grant(&mut conn, id)
            .await?
            .ok_or_else(|| not_found_grant(id))?;
        let privileged = person.is_staff();
        if record.grant.person != person.id && !privileged {
            return Err(not_found_grant(id));
        }
        Ok(record.view(self.now()))
    }

    /// The gateway peer of a grant the caller may see, signed with the broker key.
    pub async fn grant_gateway(&self, caller: &Caller, id: Uuid) -> ServiceResult<Signed<GatewayPeer>> {
        let view = self.grant_view(caller, id).await?;
        let mut conn = self.store().read().await?;
        let (gw, _) = store::gateway(&mut conn, &view.grant.gateway)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "gateway {:?} of grant {id} is no longer registered: ask an admin",
                    view.grant.gateway
                ))
            })?;
        let peer = GatewayPeer {
            name: gw.name,
            endpoint: gw.endpoint,
            wireguard_public_key: gw.wireguard_public_key,
        };
        Ok(Signed::sign(&peer, &self.0.key))
    }

    /// Live grants: the caller's own, or everyone's for admins, approvers and auditors.
    pub async fn live_grants(&self, person: &Person) -> ServiceResult<Vec<GrantView>> {
        let mut conn = self.store().read().await?;
        let now = self.now();
        let all = person.is_staff();
        let records = if all {
            store::open_grants(&mut conn).await?
        } else {
            store::open_grants_of_person(&mut conn, &person.id).await?
        };
        Ok(records
            .iter()
            .filter(|g| g.is_live(now))
            .map(|g| g.view(now))
            .collect())
    }

    /// Ends a live grant early with a reason; admins and approvers only.
    pub async fn revoke(&self, by: &Person, id: Uuid, reason: &str) -> ServiceResult<GrantView> {
        if !by.has_role(Role::Admin) && !by.has_role(Role::Approver) {
            return Err(ServiceError::Forbidden(
                "only admins and approvers may revoke access".into(),
            ));
        }
        self.revoke_as(&format!("person:{}", by.id), id, reason).await
    }

    /// Ends a live grant early on behalf of `actor` (a person already checked, or the local admin CLI).
    pub async fn revoke_as(&self, actor: &str, id: Uuid, reason: &str) -> ServiceResult<GrantView> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid("a revocation needs a reason".into()));
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut record = store::grant(change.conn(), id)
            .await?
            .ok_or_else(|| not_found_grant(id))?;
        record
            .end(EndReason::Revoked, actor, reason.trim(), now)
            .map_err(|e| ServiceError::Conflict(e.to_string()))?;
        self.commit_grant_end(&mut change, &record, now).await?;
        change.commit().await?;
        Ok(record.view(now))
    }

    /// Stores an ended grant, audits the end and wakes its gateway.
    pub(crate) async fn commit_grant_end(
        &self,
        change: &mut Change,
        record: &GrantRecord,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        let end = record.ended.as_ref().expect("called for ended grants");
        store::put_grant(change.conn(), record).await?;
        let action = if end.reason == EndReason::Expired {
            "grant.expired"
        } else {
            "grant.ended"
        };
        change
            .audit(
                now,
                &end.by,
                action,
                &record.grant.id.to_string(),
                json!({
                    "reason": end.reason, "detail": end.detail, "at": end.at.unix_timestamp(),
                    "person": record.grant.person, "ticket": record.grant.ticket,
                }),
            )
            .await?;
        change.touch_gateway(&record.grant.gateway).await?;
        tracing::info!(grant_id = %record.grant.id, reason = %end.reason, "grant ended");
        Ok(())
    }

    /// Records devices' connections that `gateway` saw, each as `grant.connected` in the audit log
    /// (and so in the grant's evidence). A connect for another gateway's grant, for an unknown
    /// grant, or at a time outside the grant (a minute of clock skew allowed) is refused, and
    /// nothing of the batch is recorded. Returns how many were recorded.
    pub async fn record_connects(&self, gateway: &str, connects: &[GatewayConnect]) -> ServiceResult<usize> {
        const SKEW: Duration = Duration::minutes(1);
        let now = self.now();
        let mut change = self.store().change().await?;
        for c in connects {
            let record = store::grant(change.conn(), c.grant)
                .await?
                .filter(|r| r.grant.gateway == gateway)
                .ok_or_else(|| {
                    ServiceError::Forbidden(format!("grant {} is not enforced by gateway {gateway}", c.grant))
                })?;
            let until = record.ended.as_ref().map_or(record.grant.not_after, |e| e.at);
            if c.at < record.grant.not_before - SKEW || c.at > until + SKEW || c.at > now + SKEW {
                return Err(ServiceError::Invalid(format!(
                    "a connect at {} is outside grant {} ({} to {until})",
                    c.at, c.grant, record.grant.not_before
                )));
            }
            change
                .audit(
                    now,
                    &format!("gateway:{gateway}"),
                    "grant.connected",
                    &c.grant.to_string(),
                    json!({ "at": c.at.unix_timestamp(), "device": record.grant.device.id, "person": record.grant.person }),
                )
                .await?;
        }
        change.commit().await?;
        Ok(connects.len())
    }

    /// The desired state of one gateway: every live grant for it, signed.
    pub async fn gateway_state(&self, gateway: &str) -> ServiceResult<GatewayState> {
        let mut conn = self.store().read().await?;
        let (_, revision) = store::gateway(&mut conn, gateway)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("unknown gateway {gateway:?}")))?;
        let now = self.now();
        let grants = store::open_grants_of_gateway(&mut conn, gateway).await?;
        Ok(GatewayState {
            gateway: gateway.to_string(),
            revision,
            generated_at: now,
            grants: grants
                .into_iter()
                .filter(|g| g.is_live(now))
                .map(|g| g.signed)
                .collect(),
        })
    }
}

fn not_found_grant(id: Uuid) -> ServiceError {
    ServiceError::NotFound(format!("no grant {id} that you can see"))
}
