//! The weekly figures an access owner watches, for one window or week by week.

use super::{Broker, ServiceResult};
use crate::domain::directory::Role;
use crate::domain::grant::EndReason;
use crate::store::{self, AuditRead};
use daypass_proto::api::{AccessReport, RequestStatus};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// Grants of at most this length count as just-in-time; longer ones are standing access in disguise.
const JUST_IN_TIME_MAX: Duration = Duration::hours(24);
/// An active contractor account without a request for this long is stale.
const STALE_AFTER: Duration = Duration::days(30);

impl Broker {
    /// Figures for the window `[now - days, now]`.
    pub async fn report(&self, days: i64) -> ServiceResult<AccessReport> {
        let to = self.now();
        self.report_between(to - Duration::days(days.max(1)), to).await
    }

    /// The figures of each of the last `weeks` weeks, oldest first (the last ends now).
    pub async fn weekly_reports(&self, weeks: i64) -> ServiceResult<Vec<AccessReport>> {
        let now = self.now();
        let mut out = Vec::new();
        for back in (0..weeks.clamp(1, 104)).rev() {
            let to = now - Duration::weeks(back);
            out.push(self.report_between(to - Duration::weeks(1), to).await?);
        }
        Ok(out)
    }

    /// Figures for the window `[from, to]`.
    async fn report_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> ServiceResult<AccessReport> {
        let mut conn = self.store().read().await?;
        let people = store::people(&mut conn).await?;
        let grants = store::grants_overlapping(&mut conn, from, to).await?;
        let mut alerts_by_rule = BTreeMap::new();
        for alert in store::alerts_between(&mut conn, from, to).await? {
            *alerts_by_rule
                .entry(alert.rule.name().to_string())
                .or_insert(0u64) += 1;
        }
        // One read covers both the window and the staleness look-back.
        let since = store::requests_since(&mut conn, from.min(to - STALE_AFTER)).await?;
        let requests: Vec<_> = since
            .iter()
            .filter(|r| r.created_at >= from && r.created_at <= to)
            .collect();
        let asked_lately = |person: &str| {
            since
                .iter()
                .any(|r| r.requester == person && r.created_at >= to - STALE_AFTER && r.created_at <= to)
        };
        let stale_accounts = people
            .iter()
            .filter(|p| p.is_active(to) && p.has_role(Role::Contractor) && !asked_lately(&p.id))
            .count() as u64;

        let issued: Vec<_> = grants
            .iter()
            .filter(|g| g.grant.not_before >= from && g.grant.not_before <= to)
            .collect();
        let lengths: Vec<i64> = issued
            .iter()
            .map(|g| {
                (g.ended.as_ref().map_or(g.grant.not_after, |e| e.at) - g.grant.not_before).whole_seconds()
            })
            .collect();
        let jit = issued
            .iter()
            .filter(|g| g.grant.not_after - g.grant.not_before <= JUST_IN_TIME_MAX)
            .count();
        let ended_in_window = |reason: Option<EndReason>| {
            grants
                .iter()
                .filter_map(|g| g.ended.as_ref())
                .filter(|e| e.at >= from && e.at <= to && e.reason != EndReason::Expired)
                .filter(|e| reason.is_none_or(|r| e.reason == r))
                .count() as u64
        };
        let within = |at: OffsetDateTime| at >= from && at <= to;
        let spells = || grants.iter().flat_map(|g| &g.suspensions);
        let grants_suspended = spells().filter(|s| within(s.since)).count() as u64;
        let grants_resumed = spells().filter(|s| s.resumed_at.is_some_and(within)).count() as u64;
        let count_status = |s: RequestStatus| requests.iter().filter(|r| r.status(to) == s).count() as u64;
        let mut per_resource = BTreeMap::new();
        for g in &issued {
            for r in &g.grant.resources {
                *per_resource.entry(r.name.clone()).or_insert(0u64) += 1;
            }
        }
        let onboarding = onboarding_seconds(&mut conn, from, to).await?;
        let (reviews_open, review_items_waiting) = open_reviews(&mut conn, to).await?;
        Ok(AccessReport {
            from,
            to,
            active_contractors: people
                .iter()
                .filter(|p| p.is_active(to) && p.has_role(Role::Contractor))
                .count() as u64,
            active_accounts: people.iter().filter(|p| p.is_active(to)).count() as u64,
            grants_issued: issued.len() as u64,
            just_in_time_share: ratio(jit as f64, issued.len() as f64),
            average_grant_seconds: ratio(lengths.iter().sum::<i64>() as f64, lengths.len() as f64),
            requests_approved: count_status(RequestStatus::Granted),
            requests_denied: count_status(RequestStatus::Denied),
            requests_expired: count_status(RequestStatus::Expired),
            grants_revoked: ended_in_window(None),
            grants_ended_by_ticket_close: ended_in_window(Some(EndReason::TicketClosed)),
            grants_per_resource: per_resource,
            stale_accounts,
            grants_suspended,
            grants_resumed,
            alerts_by_rule,
            onboarded: onboarding.len() as u64,
            onboarding_median_seconds: median(&onboarding),
            onboarding_max_seconds: onboarding.last().copied().unwrap_or(0.0),
            reviews_open,
            review_items_waiting,
        })
    }
}

/// The review campaigns open at `at`, and how many of their items were unanswered then.
async fn open_reviews(conn: &mut sqlx::AnyConnection, at: OffsetDateTime) -> ServiceResult<(u64, u64)> {
    let campaigns: Vec<_> = store::campaigns_overlapping(conn, at)
        .await?
        .into_iter()
        .filter(|c| c.closed_at.is_none_or(|closed| closed > at))
        .collect();
    let mut waiting = 0u64;
    for c in &campaigns {
        let items = store::review_items(conn, c.id).await?;
        waiting += items
            .iter()
            .filter(|i| i.answer.as_ref().is_none_or(|a| a.at > at))
            .count() as u64;
    }
    Ok((campaigns.len() as u64, waiting))
}

/// Time to onboard of each person whose first access came in `[from, to]`: from their first
/// invite to their first grant, in seconds, shortest first.
async fn onboarding_seconds(
    conn: &mut sqlx::AnyConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> ServiceResult<Vec<f64>> {
    let invited: BTreeMap<String, OffsetDateTime> =
        AuditRead::first_invites(conn).await?.into_iter().collect();
    let mut out: Vec<f64> = store::first_grants(conn)
        .await?
        .into_iter()
        .filter(|(_, first)| *first >= from && *first <= to)
        .filter_map(|(person, first)| {
            let invite = invited.get(&person)?;
            (first >= *invite).then(|| (first - *invite).as_seconds_f64())
        })
        .collect();
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// The median of sorted `values` (0 when there are none).
fn median(values: &[f64]) -> f64 {
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}
