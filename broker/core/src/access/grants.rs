//! Grants after issue: reading them, ending them early, and the connections gateways saw under them.

use crate::domain::directory::{Person, Role};
use crate::domain::grant::{EndReason, GrantRecord};
use crate::store::{self, Change};
use crate::{Broker, Caller, Conflict, Forbidden, InvalidInput, Missing, ServiceError, ServiceResult};
use daypass_proto::api::{GatewayConnect, GatewayPeer, GrantView};
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
        Ok(self.grant_view_of(&record, self.now()))
    }

    /// A grant as its holder and staff see it, with how often its device must report posture.
    pub(crate) fn grant_view_of(&self, record: &GrantRecord, now: OffsetDateTime) -> GrantView {
        let mut view = record.view(now);
        let every = self.0.settings.posture.recheck_interval.whole_seconds();
        view.posture_recheck_seconds = record.posture_watch.as_ref().map(|_| every);
        view
    }

    /// The gateway peer of a grant the caller may see, signed with the broker key.
    pub async fn grant_gateway(&self, caller: &Caller, id: Uuid) -> ServiceResult<Signed<GatewayPeer>> {
        let view = self.grant_view(caller, id).await?;
        let mut conn = self.store().read().await?;
        let (gw, _) = store::gateway(&mut conn, &view.grant.gateway)
            .await?
            .ok_or_else(|| {
                ServiceError::from(Missing::GatewayOfGrant {
                    gateway: view.grant.gateway.clone(),
                    grant: id,
                })
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
            .map(|g| self.grant_view_of(g, now))
            .collect())
    }

    /// Ends a live grant early with a reason; admins and approvers only.
    pub async fn revoke(&self, by: &Person, id: Uuid, reason: &str) -> ServiceResult<GrantView> {
        if !by.has_role(Role::Admin) && !by.has_role(Role::Approver) {
            return Err(Forbidden::RevokingNeedsRole.into());
        }
        self.revoke_as(&format!("person:{}", by.id), id, reason).await
    }

    /// Ends a live grant early on behalf of `actor` (a person already checked, or the local admin CLI).
    pub async fn revoke_as(&self, actor: &str, id: Uuid, reason: &str) -> ServiceResult<GrantView> {
        if reason.trim().is_empty() {
            return Err(InvalidInput::RevocationReason.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut record = store::grant(change.conn(), id)
            .await?
            .ok_or_else(|| not_found_grant(id))?;
        record
            .end(EndReason::Revoked, actor, reason.trim(), now)
            .map_err(Conflict::GrantEnded)?;
        self.commit_grant_end(&mut change, &record, now).await?;
        change.commit().await?;
        Ok(self.grant_view_of(&record, now))
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
        change.grant_changed(&record.grant.gateway, record.grant.id, now);
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
        let mut raised = Vec::new();
        // Addresses earlier in this batch (their audit entries are written at the commit).
        let mut batch: std::collections::HashMap<Uuid, Vec<std::net::IpAddr>> = Default::default();
        for c in connects {
            let record = store::grant(change.conn(), c.grant)
                .await?
                .filter(|r| r.grant.gateway == gateway)
                .ok_or_else(|| Forbidden::NotGatewayOfGrant {
                    grant: c.grant,
                    gateway: gateway.to_string(),
                })?;
            let until = record.ended.as_ref().map_or(record.grant.not_after, |e| e.at);
            if c.at < record.grant.not_before - SKEW || c.at > until + SKEW || c.at > now + SKEW {
                return Err(InvalidInput::ConnectOutsideGrant {
                    grant: c.grant,
                    at: c.at,
                    from: record.grant.not_before,
                    until,
                }
                .into());
            }
            let ip = c.endpoint.as_deref().and_then(crate::anomaly::parse_endpoint);
            if let Some(ip) = ip {
                let before = batch.entry(c.grant).or_default();
                raised.extend(
                    self.watch_connect_in(&mut change, &record, ip, before, now)
                        .await?,
                );
                before.push(ip);
            }
            change
                .audit(
                    now,
                    &format!("gateway:{gateway}"),
                    "grant.connected",
                    &c.grant.to_string(),
                    json!({
                        "at": c.at.unix_timestamp(), "device": record.grant.device.id, "person": record.grant.person,
                        "endpoint": c.endpoint,
                    }),
                )
                .await?;
        }
        change.commit().await?;
        self.announce_alerts(&raised);
        Ok(connects.len())
    }
}

fn not_found_grant(id: Uuid) -> ServiceError {
    Missing::Grant(id).into()
}
