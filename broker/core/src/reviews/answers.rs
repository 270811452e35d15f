//! Reviewers' answers: the items waiting for one reviewer, one answer at a time or many kept at
//! once (after a passkey confirmation), and what a removal does: the entitlement is taken from the
//! person, and their live grants and waiting requests it carried end at once (the CLI can give it
//! back when a removal was a mistake).

use crate::domain::directory::Person;
use crate::domain::grant::EndReason;
use crate::domain::review::{Campaign, ReviewItem, ReviewRefusal, Verdict};
use crate::store::{self, Change};
use crate::{Broker, Caller, InvalidInput, Missing, ServiceResult};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

/// The most items kept in one bulk answer.
pub const MAX_BULK: usize = 500;

/// An item waiting for a reviewer, with what helps decide it.
#[derive(Debug, Clone)]
pub struct DeskItem {
    pub item: ReviewItem,
    pub campaign: Campaign,
    /// When the person was last granted anything (never: `None`).
    pub last_granted: Option<OffsetDateTime>,
}

impl Broker {
    /// The unanswered items of open campaigns that `reviewer` may answer, by deadline, then person.
    pub async fn review_desk(&self, reviewer: &Person) -> ServiceResult<Vec<DeskItem>> {
        let now = self.now();
        let mut conn = self.store().read().await?;
        let mut desk = Vec::new();
        let mut last: HashMap<String, Option<OffsetDateTime>> = HashMap::new();
        for campaign in store::unclosed_campaigns(&mut conn).await? {
            if !campaign.is_open(now) {
                continue;
            }
            let mut items = store::unanswered_review_items(&mut conn, campaign.id).await?;
            items.retain(|i| i.may_review(reviewer, now).is_ok());
            items.sort_by(|a, b| (&a.person, &a.entitlement).cmp(&(&b.person, &b.entitlement)));
            for item in items {
                let last_granted = match last.get(&item.person) {
                    Some(at) => *at,
                    None => {
                        let at = store::last_grant_issued(&mut conn, &item.person).await?;
                        last.insert(item.person.clone(), at);
                        at
                    }
                };
                desk.push(DeskItem {
                    item,
                    campaign: campaign.clone(),
                    last_granted,
                });
            }
        }
        Ok(desk)
    }

    /// One reviewer's answer to one item; a removal takes effect at once.
    pub async fn answer_review(
        &self,
        caller: &Caller,
        id: Uuid,
        verdict: Verdict,
        reason: &str,
    ) -> ServiceResult<ReviewItem> {
        let reviewer = caller.person()?;
        let mut change = self.store().change().await?;
        let item = self
            .answer_in(&mut change, reviewer, id, verdict, reason, false)
            .await?;
        change.commit().await?;
        Ok(item)
    }

    /// Keeps every item of `ids` with one reason, after a fresh passkey confirmation: all are
    /// answered, or none (one the reviewer may not answer refuses the whole batch).
    pub async fn keep_reviews_in_bulk(
        &self,
        caller: &Caller,
        ids: &[Uuid],
        reason: &str,
    ) -> ServiceResult<usize> {
        let reviewer = caller.person()?;
        self.review_step_up(caller)?;
        let ids: BTreeSet<Uuid> = ids.iter().copied().collect();
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(InvalidInput::BulkSize(MAX_BULK).into());
        }
        let mut change = self.store().change().await?;
        for id in &ids {
            self.answer_in(&mut change, reviewer, *id, Verdict::Keep, reason, true)
                .await?;
        }
        change.commit().await?;
        Ok(ids.len())
    }

    async fn answer_in(
        &self,
        change: &mut Change,
        reviewer: &Person,
        id: Uuid,
        verdict: Verdict,
        reason: &str,
        bulk: bool,
    ) -> ServiceResult<ReviewItem> {
        let now = self.now();
        let mut item = store::review_item(change.conn(), id)
            .await?
            .ok_or(Missing::ReviewItem(id))?;
        let campaign = store::campaign(change.conn(), item.campaign)
            .await?
            .ok_or(Missing::ReviewCampaign(item.campaign))?;
        item.answer(&campaign, reviewer, verdict, reason, bulk, now)?;
        store::put_review_item(change.conn(), &item).await?;
        let answer = item.answer.as_ref().expect("answered above");
        change
            .audit(
                now,
                &answer.by,
                "review.answered",
                &item.id.to_string(),
                json!({
                    "campaign": campaign.id, "person": item.person, "entitlement": item.entitlement,
                    "verdict": answer.verdict, "reason": answer.reason, "bulk": bulk,
                }),
            )
            .await?;
        if item.removes() {
            let by = answer.by.clone();
            let reason = answer.reason.clone();
            self.remove_entitlement_in(change, &item, &by, &reason, now)
                .await?;
        }
        Ok(item)
    }

    /// Inside `change`: takes `item`'s entitlement from its person, then ends their live grants and
    /// denies their waiting requests for resources they may no longer request.
    pub(super) async fn remove_entitlement_in(
        &self,
        change: &mut Change,
        item: &ReviewItem,
        actor: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        let Some(mut person) = store::person(change.conn(), &item.person).await? else {
            return Ok(());
        };
        if !person.entitlements_removed.insert(item.entitlement.clone()) {
            return Ok(());
        }
        store::put_person(change, &person).await?;
        let detail = format!("access review removed entitlement {}: {reason}", item.entitlement);
        let ended = self
            .end_what_is_no_longer_entitled(change, &person, EndReason::AccessReview, actor, &detail, now)
            .await?;
        change
            .audit(
                now,
                actor,
                "entitlement.removed",
                &person.id,
                json!({
                    "entitlement": item.entitlement, "campaign": item.campaign, "item": item.id,
                    "reason": reason, "grants_ended": ended.grants_ended, "requests_denied": ended.requests_denied,
                }),
            )
            .await?;
        tracing::info!(person = %person.id, entitlement = %item.entitlement, by = %actor, grants_ended = ended.grants_ended.len(), "access review removed an entitlement");
        Ok(())
    }

    /// Gives `person` back an entitlement a review removed (the local CLI, for a removal made in
    /// error); the grants it ended stay ended.
    pub async fn restore_entitlement_as(
        &self,
        actor: &str,
        person: &str,
        entitlement: &str,
        reason: &str,
    ) -> ServiceResult<Person> {
        if reason.trim().is_empty() {
            return Err(ReviewRefusal::Reason.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut found = store::person(change.conn(), person)
            .await?
            .ok_or_else(|| Missing::Person(person.to_string()))?;
        if !found.entitlements_removed.remove(entitlement) {
            return Err(Missing::RemovedEntitlement {
                person: person.to_string(),
                entitlement: entitlement.to_string(),
            }
            .into());
        }
        store::put_person(&mut change, &found).await?;
        change
            .audit(
                now,
                actor,
                "entitlement.restored",
                &found.id,
                json!({ "entitlement": entitlement, "reason": reason.trim() }),
            )
            .await?;
        change.commit().await?;
        Ok(found)
    }
}
