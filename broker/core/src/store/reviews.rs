//! Access review campaigns and their items: kept whole as JSON, with what they are looked up by
//! (a campaign's close and deadline; an item's campaign and whether it was answered).

use super::repo::{all_by, decode, encode, one};
use super::{insert_rows, StoreResult};
use crate::domain::review::{Campaign, ReviewItem};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn put_campaign(conn: &mut AnyConnection, c: &Campaign) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO review_campaigns (id, closed, deadline, opened_at, data) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET closed = excluded.closed, data = excluded.data",
    )
    .bind(c.id.to_string())
    .bind(i64::from(c.closed_at.is_some()))
    .bind(c.deadline.unix_timestamp())
    .bind(c.opened_at.unix_timestamp())
    .bind(encode(c))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn campaign(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<Campaign>> {
    one(
        conn,
        "SELECT data FROM review_campaigns WHERE id = $1",
        &id.to_string(),
    )
    .await
}

/// The newest campaigns first, at most `limit`.
pub async fn campaigns(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<Campaign>> {
    let rows = sqlx::query("SELECT data FROM review_campaigns ORDER BY opened_at DESC, id LIMIT $1")
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Campaigns not closed yet, oldest deadline first.
pub async fn unclosed_campaigns(conn: &mut AnyConnection) -> StoreResult<Vec<Campaign>> {
    let rows = sqlx::query("SELECT data FROM review_campaigns WHERE closed = 0 ORDER BY deadline, id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Campaigns opened at or before `at` whose deadline is after it (open then, unless closed early).
pub async fn campaigns_overlapping(
    conn: &mut AnyConnection,
    at: OffsetDateTime,
) -> StoreResult<Vec<Campaign>> {
    let rows = sqlx::query(
        "SELECT data FROM review_campaigns WHERE opened_at <= $1 AND deadline > $1 ORDER BY opened_at, id",
    )
    .bind(at.unix_timestamp())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| decode(r, "data")).collect()
}

/// Whether a campaign's deadline has passed without it being closed (the sweep's cheap look).
pub async fn any_campaign_due(conn: &mut AnyConnection, now: OffsetDateTime) -> StoreResult<bool> {
    let row = sqlx::query("SELECT id FROM review_campaigns WHERE closed = 0 AND deadline <= $1 LIMIT 1")
        .bind(now.unix_timestamp())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// A new campaign's items, in multi-row inserts.
pub async fn insert_review_items(conn: &mut AnyConnection, items: &[ReviewItem]) -> StoreResult<()> {
    insert_rows(
        conn,
        "review_items (id, campaign, answered, data)",
        4,
        items,
        |q, i| {
            q.bind(i.id.to_string())
                .bind(i.campaign.to_string())
                .bind(i64::from(i.answer.is_some()))
                .bind(encode(i))
        },
    )
    .await
}

pub async fn put_review_item(conn: &mut AnyConnection, item: &ReviewItem) -> StoreResult<()> {
    sqlx::query("UPDATE review_items SET answered = $1, data = $2 WHERE id = $3")
        .bind(i64::from(item.answer.is_some()))
        .bind(encode(item))
        .bind(item.id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn review_item(conn: &mut AnyConnection, id: Uuid) -> StoreResult<Option<ReviewItem>> {
    one(
        conn,
        "SELECT data FROM review_items WHERE id = $1",
        &id.to_string(),
    )
    .await
}

/// Every item of a campaign, by person then entitlement.
pub async fn review_items(conn: &mut AnyConnection, campaign: Uuid) -> StoreResult<Vec<ReviewItem>> {
    let mut items: Vec<ReviewItem> = all_by(
        conn,
        "SELECT data FROM review_items WHERE campaign = $1",
        &campaign.to_string(),
    )
    .await?;
    items.sort_by(|a, b| (&a.person, &a.entitlement).cmp(&(&b.person, &b.entitlement)));
    Ok(items)
}

/// The unanswered items of a campaign.
pub async fn unanswered_review_items(
    conn: &mut AnyConnection,
    campaign: Uuid,
) -> StoreResult<Vec<ReviewItem>> {
    all_by(
        conn,
        "SELECT data FROM review_items WHERE campaign = $1 AND answered = 0",
        &campaign.to_string(),
    )
    .await
}

/// How many items of `campaign` are answered, and how many in all.
pub async fn review_progress(conn: &mut AnyConnection, campaign: Uuid) -> StoreResult<(u64, u64)> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT COUNT(CASE WHEN answered = 1 THEN 1 END) AS answered, COUNT(*) AS total \
         FROM review_items WHERE campaign = $1",
    )
    .bind(campaign.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let answered: i64 = row.try_get("answered")?;
    let total: i64 = row.try_get("total")?;
    Ok((answered.max(0) as u64, total.max(0) as u64))
}

/// When `person` was last granted anything, for reviewers judging whether access is still used.
pub async fn last_grant_issued(
    conn: &mut AnyConnection,
    person: &str,
) -> StoreResult<Option<OffsetDateTime>> {
    use sqlx::Row;
    let row = sqlx::query("SELECT MAX(issued_at) AS at FROM grants WHERE person = $1")
        .bind(person)
        .fetch_one(&mut *conn)
        .await?;
    let at: Option<i64> = row.try_get("at")?;
    at.map(super::repo::instant).transpose()
}
