//! Group commit for insert-only changes: new access requests and grants from many callers are
//! written together, in one transaction with one audit-chain append, instead of one each.

use super::repo::encode;
use super::{insert_rows, Store, StoreError, StoreResult};
use crate::domain::grant::GrantRecord;
use crate::domain::request::{AccessRequest, RequestState};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// An audit entry to append; its hash is computed when the batch takes its place in the chain.
#[derive(Debug, Clone)]
pub struct AuditIntent {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

/// New rows only: nothing here reads or updates an existing row, so callers cannot conflict.
#[derive(Debug, Default)]
pub struct Insertion {
    pub requests: Vec<AccessRequest>,
    pub grants: Vec<GrantRecord>,
    pub audit: Vec<AuditIntent>,
}

impl Insertion {
    pub fn audit(
        &mut self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) {
        self.audit.push(AuditIntent {
            at,
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            details,
        });
    }
}

pub(super) type Job = (Insertion, oneshot::Sender<Result<(), String>>);

/// Most insertions written in one transaction.
const MAX_BATCH: usize = 256;

impl Store {
    /// Writes `insertion` atomically, sharing a transaction with whatever else is waiting.
    pub async fn insert(&self, insertion: Insertion) -> StoreResult<()> {
        let sender = self.committer.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4096);
            tokio::spawn(run(self.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        sender
            .send((insertion, reply))
            .await
            .map_err(|_| StoreError::Config("the committer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Config("the committer stopped".into()))?
            .map_err(StoreError::Batch)
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = write(&store, batch.iter().map(|(i, _)| i)).await.map_err(|e| {
            tracing::error!(error = %e, size = batch.len(), "group commit failed; every insertion in it is refused");
            e.to_string()
        });
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}

async fn write<'a>(store: &Store, batch: impl Iterator<Item = &'a Insertion> + Clone) -> StoreResult<()> {
    let mut change = store.change().await?;
    let requests: Vec<&AccessRequest> = batch.clone().flat_map(|i| &i.requests).collect();
    let grants: Vec<&GrantRecord> = batch.clone().flat_map(|i| &i.grants).collect();
    insert_rows(
        change.conn(),
        "requests (id, requester, pending, expires_at, created_at, data)",
        6,
        &requests,
        |q, r| {
            q.bind(r.id.to_string())
                .bind(r.requester.clone())
                .bind(i64::from(r.state == RequestState::Pending))
                .bind(r.expires_at.unix_timestamp())
                .bind(r.created_at.unix_timestamp())
                .bind(encode(*r))
        },
    )
    .await?;
    insert_rows(
        change.conn(),
        "grants (id, request_id, person, gateway, ticket, live, not_after, issued_at, data)",
        9,
        &grants,
        |q, g| {
            q.bind(g.grant.id.to_string())
                .bind(g.grant.request_id.to_string())
                .bind(g.grant.person.clone())
                .bind(g.grant.gateway.clone())
                .bind(g.grant.ticket.clone())
                .bind(i64::from(g.ended.is_none()))
                .bind(g.grant.not_after.unix_timestamp())
                .bind(g.grant.not_before.unix_timestamp())
                .bind(encode(*g))
        },
    )
    .await?;
    let gateways: BTreeSet<&str> = grants.iter().map(|g| g.grant.gateway.as_str()).collect();
    for gw in gateways {
        change.touch_gateway(gw).await?;
    }
    for i in batch {
        for a in &i.audit {
            change
                .audit(a.at, &a.actor, &a.action, &a.subject, a.details.clone())
                .await?;
        }
    }
    change.commit().await
}
