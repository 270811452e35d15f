//! A grant's evidence bundle: request, ticket as checked, the posture report the decision rested on,
//! approvals, the signed grant, when the device connected (as its gateway saw it), and how it ended.

use crate::domain::audit::AuditEntry;
use crate::domain::directory::Role;
use crate::domain::ticket::Ticket;
use crate::store::{self, AuditRead, PostureRecord};
use crate::{Broker, Caller, Missing, ServiceError, ServiceResult};
use daypass_proto::api::{AccessRequestView, GrantView};
use daypass_proto::signed::Signed;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvidenceBundle {
    pub grant: GrantView,
    pub request: AccessRequestView,
    /// The ticket as the connector reported it when the grant was decided.
    #[schema(value_type = Object)]
    pub ticket_at_decision: Option<Ticket>,
    /// The device's posture report the request was judged with, if one was (as the broker evaluated it).
    #[schema(value_type = Object)]
    pub posture_at_decision: Option<PostureRecord>,
    /// Every audit entry about the request and the grant, in chain order (each carries its hash).
    #[schema(value_type = Vec<Object>)]
    pub audit: Vec<AuditEntry>,
}

impl Broker {
    pub async fn evidence(&self, caller: &Caller, grant_id: Uuid) -> ServiceResult<EvidenceBundle> {
        caller.person_with(&Role::STAFF)?;
        self.evidence_unchecked(grant_id).await
    }

    /// The bundle signed with the broker's key, as one file an auditor keeps: anyone with the
    /// broker's public key can check it was not changed (`daypass_proto::signed`).
    pub async fn signed_evidence(
        &self,
        caller: &Caller,
        grant_id: Uuid,
    ) -> ServiceResult<Signed<EvidenceBundle>> {
        let bundle = self.evidence(caller, grant_id).await?;
        Ok(Signed::sign(&bundle, &self.0.key))
    }

    /// For the local CLI, which has the database itself.
    pub async fn evidence_unchecked(&self, grant_id: Uuid) -> ServiceResult<EvidenceBundle> {
        let mut conn = self.store().read().await?;
        let missing = || ServiceError::from(Missing::Grant(grant_id));
        let record = store::grant(&mut conn, grant_id).await?.ok_or_else(missing)?;
        let request = store::request(&mut conn, record.grant.request_id)
            .await?
            .ok_or_else(missing)?;
        let audit = AuditRead::about(&mut conn, &[request.id.to_string(), grant_id.to_string()]).await?;
        let report_id = audit
            .iter()
            .find(|e| e.action == "request.created")
            .and_then(|e| e.details["posture_report"].as_str())
            .and_then(|id| Uuid::parse_str(id).ok());
        let posture_at_decision = match report_id {
            Some(id) => store::posture_report(&mut conn, id).await?,
            None => None,
        };
        let now = self.now();
        Ok(EvidenceBundle {
            grant: self.grant_view_of(&record, now),
            request: request.view(now),
            ticket_at_decision: request.ticket_snapshot.clone(),
            posture_at_decision,
            audit,
        })
    }
}
