//! Time- and ticket-driven endings: lapsed requests, expired grants, ended contracts, closed tickets;
//! and grants held because their device went silent.

use crate::domain::grant::EndReason;
use crate::domain::ticket::{check_ticket, Ticket};
use crate::store::{self, AuditRead, Change};
use crate::{Broker, ServiceResult};
use daypass_proto::api::WebhookOutcome;
use serde_json::json;
use uuid::Uuid;

/// What one sweep recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    pub requests_expired: Vec<Uuid>,
    pub grants_expired: Vec<Uuid>,
    pub grants_ended_by_account: Vec<Uuid>,
    pub grants_held_for_silence: Vec<Uuid>,
}

impl SweepOutcome {
    pub fn is_empty(&self) -> bool {
        self.requests_expired.is_empty()
            && self.grants_expired.is_empty()
            && self.grants_ended_by_account.is_empty()
            && self.grants_held_for_silence.is_empty()
    }
}

/// How long the gateway change log keeps a change.
const GATEWAY_LOG_KEPT: time::Duration = time::Duration::days(1);

impl Broker {
    /// Records every ending that time has brought. Idempotent, and safe with several brokers: the
    /// work is re-read inside the change, so an ending is recorded once.
    pub async fn sweep(&self) -> ServiceResult<SweepOutcome> {
        let now = self.now();
        let mut out = SweepOutcome::default();
        let look_for_silence = self.silence_check_due(now);
        if look_for_silence {
            // At the same unhurried pace: the gateway change log keeps a day (a stream further
            // behind than that gets a full state), and spent request nonces go.
            let mut book = self.store().bookkeeping().await?;
            store::prune_gateway_changes(book.conn(), now - GATEWAY_LOG_KEPT).await?;
            drop(book);
            self.prune_request_nonces(now).await?;
        }
        {
            // Cheap read first, so an idle broker never takes the write lock.
            let mut conn = self.store().read().await?;
            let due = !store::lapsed_requests(&mut conn, now).await?.is_empty()
                || !store::due_grants(&mut conn, now).await?.is_empty()
                || !self.grants_of_ended_accounts(&mut conn, now).await?.is_empty()
                || (look_for_silence && !self.silent_grants(&mut conn, now).await?.is_empty());
            if !due {
                return Ok(out);
            }
        }
        let mut change = self.store().change().await?;
        for mut r in store::lapsed_requests(change.conn(), now).await? {
            if r.expire_if_due(now) {
                store::put_request(change.conn(), &r).await?;
                change
                    .audit(
                        now,
                        "broker",
                        "request.expired",
                        &r.id.to_string(),
                        json!({ "expires_at": r.expires_at.unix_timestamp(), "approvals": r.approved_by() }),
                    )
                    .await?;
                out.requests_expired.push(r.id);
            }
        }
        for mut g in store::due_grants(change.conn(), now).await? {
            if g.expire_if_due(now) {
                self.commit_grant_end(&mut change, &g, now).await?;
                out.grants_expired.push(g.grant.id);
            }
        }
        for (mut g, reason, detail) in self.grants_of_ended_accounts(change.conn(), now).await? {
            if g.end(reason, "broker", &detail, now).is_ok() {
                self.commit_grant_end(&mut change, &g, now).await?;
                out.grants_ended_by_account.push(g.grant.id);
            }
        }
        if look_for_silence {
            out.grants_held_for_silence = self.hold_silent_grants(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(out)
    }

    /// Whether the sweep looks for silent devices this time: every 30 s, or twice per silence when
    /// that is shorter (it reads every live grant; silences last minutes).
    fn silence_check_due(&self, now: time::OffsetDateTime) -> bool {
        use std::sync::atomic::Ordering;
        let half: time::Duration = self.0.settings.posture.silence / 2;
        let every = half.min(time::Duration::seconds(30)).whole_seconds().max(1);
        let last = self.0.silence_checked.load(Ordering::Relaxed);
        let due = now.unix_timestamp().saturating_sub(last) >= every;
        if due {
            self.0
                .silence_checked
                .store(now.unix_timestamp(), Ordering::Relaxed);
        }
        due
    }

    /// Live grants of people whose account has ended (contract over, disabled or deleted).
    async fn grants_of_ended_accounts(
        &self,
        conn: &mut sqlx::AnyConnection,
        now: time::OffsetDateTime,
    ) -> ServiceResult<Vec<(crate::domain::grant::GrantRecord, EndReason, String)>> {
        use crate::domain::directory::AccountState;
        let mut out = Vec::new();
        for person in store::ended_people_with_open_grants(conn, now).await? {
            let (reason, detail) = match person.account_state(now) {
                AccountState::Active => continue,
                AccountState::ContractEnded(at) => (EndReason::ContractEnded, format!("contract ended {at}")),
                AccountState::Disabled => (EndReason::AccountDisabled, "account disabled".to_string()),
            };
            for g in store::open_grants_of_person(conn, &person.id).await? {
                if g.is_live(now) {
                    out.push((g, reason, detail.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Signs the audit chain's head if it moved since the last checkpoint.
    pub async fn checkpoint_audit(&self) -> ServiceResult<bool> {
        let mut conn = self.store().read().await?;
        let (head, _) = AuditRead::head(&mut conn).await?;
        let last = AuditRead::checkpoints(&mut conn)
            .await?
            .last()
            .map_or(0, |c| c.seq);
        drop(conn);
        if head <= last {
            return Ok(false);
        }
        let mut change = self.store().change().await?;
        let signed = change.checkpoint(self.now(), &self.0.key).await?;
        change.commit().await?;
        let Some(checkpoint) = signed else {
            return Ok(false);
        };
        for failure in self.0.settings.audit_witness.publish(&checkpoint).await {
            tracing::warn!(seq = checkpoint.seq, %failure, "an audit checkpoint did not reach its witness");
        }
        Ok(true)
    }

    /// Re-checks one ticket and ends the grants it no longer justifies (closed, gone, reassigned).
    pub async fn recheck_ticket(&self, key: &str, actor: &str) -> ServiceResult<WebhookOutcome> {
        let ticket = self.0.tickets.fetch(key).await?;
        self.end_grants_for_ticket(key, ticket.as_ref(), actor).await
    }

    async fn end_grants_for_ticket(
        &self,
        key: &str,
        ticket: Option<&Ticket>,
        actor: &str,
    ) -> ServiceResult<WebhookOutcome> {
        let ended = if self.ticket_justifies_its_holders(key, ticket).await? {
            Vec::new()
        } else {
            let mut change = self.store().change().await?;
            let ended = self
                .end_grants_for_ticket_in(&mut change, key, ticket, actor)
                .await?;
            change.commit().await?;
            ended
        };
        Ok(WebhookOutcome {
            ticket: key.to_string(),
            ticket_open: ticket.is_some_and(|t| !t.done),
            grants_ended: ended,
        })
    }

    /// Whether `ticket` still justifies every live grant bound to `key`, read outside a change: most
    /// rechecks (every ticket, every poll) end nothing, and a change would hold the audit head,
    /// and with it every broker's writes, for each of them.
    async fn ticket_justifies_its_holders(&self, key: &str, ticket: Option<&Ticket>) -> ServiceResult<bool> {
        let mut conn = self.store().read().await?;
        let holders = store::holders_of_ticket(&mut conn, key).await?;
        let require_assignee = self.0.settings.require_ticket_assignee;
        Ok(holders
            .iter()
            .all(|person| check_ticket(key, ticket, person, require_assignee).is_ok()))
    }

    /// Inside `change`: ends the grants bound to `key` that the ticket no longer justifies.
    pub(crate) async fn end_grants_for_ticket_in(
        &self,
        change: &mut Change,
        key: &str,
        ticket: Option<&Ticket>,
        actor: &str,
    ) -> ServiceResult<Vec<Uuid>> {
        let now = self.now();
        let mut ended = Vec::new();
        for mut g in store::open_grants_of_ticket(change.conn(), key).await? {
            let Some(person) = store::person(change.conn(), &g.grant.person).await? else {
                continue;
            };
            let Err(problem) = check_ticket(key, ticket, &person, self.0.settings.require_ticket_assignee)
            else {
                continue;
            };
            if g.end(EndReason::TicketClosed, actor, &problem.to_string(), now)
                .is_ok()
            {
                self.commit_grant_end(change, &g, now).await?;
                ended.push(g.grant.id);
            }
        }
        Ok(ended)
    }

    /// Polls the ticket system for every ticket that live grants depend on. A ticket system that
    /// cannot be reached leaves grants running to their own expiry (logged), rather than cutting
    /// everyone off during an outage.
    pub async fn poll_tickets(&self) -> ServiceResult<Vec<Uuid>> {
        let keys = {
            let mut conn = self.store().read().await?;
            store::tickets_of_live_grants(&mut conn, self.now()).await?
        };
        let mut ended = Vec::new();
        for key in keys {
            match self.recheck_ticket(&key, "tickets:poll").await {
                Ok(outcome) => ended.extend(outcome.grants_ended),
                Err(crate::ServiceError::TicketSystem(e)) => {
                    tracing::warn!(ticket = %key, error = %e, "ticket poll failed; grants keep running to their own expiry");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ended)
    }
}
