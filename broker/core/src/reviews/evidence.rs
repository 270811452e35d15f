//! A campaign's evidence: who reviewed what, when, with which outcome and why, signed with the
//! broker's key so an auditor can keep it as one file and check it was not changed.

use crate::domain::directory::Role;
use crate::domain::entitlement::Selector;
use crate::domain::review::{Campaign, Outcome, ReviewItem};
use crate::store::{self, AuditRead};
use crate::{Broker, Caller, Missing, ServiceResult};
use daypass_proto::signed::Signed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEvidence {
    pub campaign: Campaign,
    /// False while reviewers may still answer: the outcomes may change until it closes.
    pub closed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// How many items ended each way (`kept`, `removed`, `removed at the deadline`, …).
    pub outcomes: BTreeMap<String, u64>,
    pub items: Vec<EvidenceItem>,
    /// The audit chain's head when the file was made: every answer above is an entry at or before it.
    pub audit_head_seq: i64,
    pub audit_head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub item: Uuid,
    pub person: String,
    pub person_name: String,
    pub company: String,
    pub entitlement: String,
    pub selector: Selector,
    pub policy: String,
    pub reviewer_group: Option<String>,
    pub outcome: Outcome,
    pub reviewed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reviewed_at: Option<OffsetDateTime>,
    pub reason: Option<String>,
    pub bulk: bool,
}

impl From<ReviewItem> for EvidenceItem {
    fn from(i: ReviewItem) -> Self {
        let outcome = i.outcome();
        let answer = i.answer;
        EvidenceItem {
            item: i.id,
            person: i.person,
            person_name: i.person_name,
            company: i.company,
            entitlement: i.entitlement,
            selector: i.selector,
            policy: i.policy,
            reviewer_group: i.reviewer_group,
            outcome,
            reviewed_by: answer.as_ref().map(|a| a.by.clone()),
            reviewed_at: answer.as_ref().map(|a| a.at),
            reason: answer.as_ref().map(|a| a.reason.clone()),
            bulk: answer.is_some_and(|a| a.bulk),
        }
    }
}

impl Broker {
    /// The campaign's evidence, signed: admins and auditors.
    pub async fn review_evidence(&self, caller: &Caller, id: Uuid) -> ServiceResult<Signed<ReviewEvidence>> {
        caller.person_with(&[Role::Admin, Role::Auditor])?;
        self.signed_review_evidence(id).await
    }

    /// The campaign's evidence, signed, for the local CLI.
    pub async fn signed_review_evidence(&self, id: Uuid) -> ServiceResult<Signed<ReviewEvidence>> {
        let mut conn = self.store().read().await?;
        let campaign = store::campaign(&mut conn, id)
            .await?
            .ok_or(Missing::ReviewCampaign(id))?;
        let items = store::review_items(&mut conn, id).await?;
        let (audit_head_seq, audit_head_hash) = AuditRead::head(&mut conn).await?;
        let mut outcomes = BTreeMap::new();
        for i in &items {
            *outcomes.entry(i.outcome().as_str().to_string()).or_insert(0) += 1;
        }
        let evidence = ReviewEvidence {
            closed: campaign.closed_at.is_some(),
            campaign,
            generated_at: self.now(),
            outcomes,
            items: items.into_iter().map(EvidenceItem::from).collect(),
            audit_head_seq,
            audit_head_hash,
        };
        Ok(Signed::sign(&evidence, &self.0.key))
    }
}
