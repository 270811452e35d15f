//! Access reviews, as the broker carries them out: opening a campaign (its items written at once,
//! from the directory and matrix as they are), closing it at its deadline or early, and listing
//! campaigns with their progress. Answers are in `answers`, the signed evidence in `evidence`.

mod answers;
mod evidence;

pub use answers::DeskItem;
pub use evidence::{EvidenceItem, ReviewEvidence};

use crate::domain::directory::Role;
use crate::domain::review::{Campaign, OnDeadline, ReviewScope};
use crate::store::{self, Change};
use crate::{Broker, Caller, Forbidden, Missing, ServiceResult};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// How many campaigns the console and `review list` show.
const SHOWN: i64 = 20;

/// What an admin asks for when opening a campaign.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    pub name: String,
    pub scope: ReviewScope,
    pub deadline: OffsetDateTime,
    pub on_deadline: OnDeadline,
}

/// A campaign with how far its reviewers have got.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignProgress {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub answered: u64,
    pub total: u64,
}

impl Broker {
    /// An admin opens a campaign from the console, after a fresh passkey confirmation (at its
    /// deadline it may take access from many people).
    pub async fn open_review(&self, admin: &Caller, spec: CampaignSpec) -> ServiceResult<CampaignProgress> {
        admin.person_with(&[Role::Admin])?;
        self.review_step_up(admin)?;
        self.open_review_as(&admin.actor(), spec).await
    }

    /// Opening a campaign, as the CLI does it (the actor is the local operator).
    pub async fn open_review_as(&self, actor: &str, spec: CampaignSpec) -> ServiceResult<CampaignProgress> {
        let now = self.now();
        let mut campaign = Campaign::open(
            &spec.name,
            spec.scope,
            spec.deadline,
            spec.on_deadline,
            actor,
            now,
        )?;
        let mut change = self.store().change().await?;
        let people = store::people(change.conn()).await?;
        let matrix = store::entitlements(change.conn()).await?;
        let policies = store::policies(change.conn()).await?;
        let items = campaign.items_for(&people, &matrix, &policies, now);
        campaign.items = items.len() as u64;
        store::put_campaign(change.conn(), &campaign).await?;
        store::insert_review_items(change.conn(), &items).await?;
        change
            .audit(
                now,
                actor,
                "review.opened",
                &campaign.id.to_string(),
                json!({
                    "name": campaign.name, "scope": campaign.scope, "deadline": campaign.deadline.unix_timestamp(),
                    "on_deadline": campaign.on_deadline, "items": campaign.items,
                }),
            )
            .await?;
        change.commit().await?;
        tracing::info!(campaign = %campaign.id, by = %actor, scope = %campaign.scope, items = campaign.items, "access review opened");
        self.announce(format!(
            "{actor} opened the access review {:?} ({}, {} items): approvers, answer on the reviews page by {}.",
            campaign.name, campaign.scope, campaign.items, campaign.deadline
        ));
        let total = campaign.items;
        Ok(CampaignProgress {
            campaign,
            answered: 0,
            total,
        })
    }

    /// The newest campaigns with their progress: admins and auditors.
    pub async fn review_campaigns(&self, caller: &Caller) -> ServiceResult<Vec<CampaignProgress>> {
        caller.person_with(&[Role::Admin, Role::Auditor])?;
        self.recent_review_campaigns().await
    }

    /// The newest campaigns with their progress, for the local CLI.
    pub async fn recent_review_campaigns(&self) -> ServiceResult<Vec<CampaignProgress>> {
        let mut conn = self.store().read().await?;
        let mut out = Vec::new();
        for campaign in store::campaigns(&mut conn, SHOWN).await? {
            let (answered, total) = store::review_progress(&mut conn, campaign.id).await?;
            out.push(CampaignProgress {
                campaign,
                answered,
                total,
            });
        }
        Ok(out)
    }

    /// Closes every campaign whose deadline has passed (the background task, every minute).
    pub async fn close_due_reviews(&self) -> ServiceResult<Vec<Uuid>> {
        let now = self.now();
        {
            let mut conn = self.store().read().await?;
            if !store::any_campaign_due(&mut conn, now).await? {
                return Ok(vec![]);
            }
        }
        let mut change = self.store().change().await?;
        let mut closed = Vec::new();
        for mut campaign in store::unclosed_campaigns(change.conn()).await? {
            if campaign.is_due(now) {
                self.close_in(&mut change, &mut campaign, "broker", now).await?;
                closed.push(campaign.id);
            }
        }
        change.commit().await?;
        Ok(closed)
    }

    /// Closes campaign `id` before its deadline, from the console (an admin, after a fresh passkey
    /// confirmation) or the CLI: what is unanswered takes the deadline's outcome now.
    pub async fn close_review(&self, caller: &Caller, id: Uuid) -> ServiceResult<Campaign> {
        caller.person_with(&[Role::Admin])?;
        self.review_step_up(caller)?;
        self.close_review_as(&caller.actor(), id).await
    }

    pub async fn close_review_as(&self, actor: &str, id: Uuid) -> ServiceResult<Campaign> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut campaign = store::campaign(change.conn(), id)
            .await?
            .ok_or(Missing::ReviewCampaign(id))?;
        self.close_in(&mut change, &mut campaign, actor, now).await?;
        change.commit().await?;
        Ok(campaign)
    }

    /// Inside `change`: settles every unanswered item (removing its entitlement when the campaign
    /// says so) and records the campaign closed.
    async fn close_in(
        &self,
        change: &mut Change,
        campaign: &mut Campaign,
        actor: &str,
        now: OffsetDateTime,
    ) -> ServiceResult<()> {
        campaign.close(actor, now)?;
        let why = format!("unanswered when access review {:?} closed", campaign.name);
        let (mut removed, mut flagged) = (0u64, 0u64);
        for mut item in store::unanswered_review_items(change.conn(), campaign.id).await? {
            if !item.settle(campaign.on_deadline) {
                continue;
            }
            store::put_review_item(change.conn(), &item).await?;
            if item.removes() {
                self.remove_entitlement_in(change, &item, "broker", &why, now)
                    .await?;
                removed += 1;
            } else {
                flagged += 1;
            }
        }
        store::put_campaign(change.conn(), campaign).await?;
        change
            .audit(
                now,
                actor,
                "review.closed",
                &campaign.id.to_string(),
                json!({ "name": campaign.name, "removed_unanswered": removed, "flagged_unanswered": flagged }),
            )
            .await?;
        tracing::info!(campaign = %campaign.id, by = %actor, removed, flagged, "access review closed");
        Ok(())
    }

    fn review_step_up(&self, caller: &Caller) -> ServiceResult<()> {
        match self.fresh_step_up(caller) {
            Some(_) => Ok(()),
            None => Err(Forbidden::ReviewNeedsStepUp(
                self.0.settings.passkeys.step_up_max_age.whole_minutes(),
            )
            .into()),
        }
    }
}
