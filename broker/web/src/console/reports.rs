//! The reports page: this week's figures (active contractors and accounts, the share of just-in-time
//! access, the average grant, requests approved, denied and expired, access ended early and by
//! ticket close, stale accounts) and the last 12 weeks as a chart with its table.

use super::pages::{layout, when, Signed};
use super::visitor::Visitor;
use super::{admitted, page, PageError};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use daypass_broker_core::domain::directory::Role;
use daypass_proto::api::AccessReport;
use maud::{html, Markup};

const PATH: &str = "/console/reports";
const ROLES: [Role; 3] = [Role::Admin, Role::Auditor, Role::Approver];
const WEEKS: i64 = 12;

/// The chart's drawing area, in SVG units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

fn hours(seconds: f64) -> String {
    daypass_proto::duration::spoken_duration(seconds.round() as i64)
}

fn figures(r: &AccessReport) -> Markup {
    html! {
        dl class="figures" {
            dt { "Active contractors" } dd { (r.active_contractors) }
            dt { "Active accounts" } dd { (r.active_accounts) }
            dt { "Grants issued" } dd { (r.grants_issued) }
            dt { "Just-in-time share (grants of 24 h or less)" } dd { (percent(r.just_in_time_share)) }
            dt { "Average grant" } dd { (hours(r.average_grant_seconds)) }
            dt { "Requests approved / denied / expired" } dd { (r.requests_approved) " / " (r.requests_denied) " / " (r.requests_expired) }
            dt { "Access ended early (of which by ticket close)" } dd { (r.grants_revoked) " (" (r.grants_ended_by_ticket_close) ")" }
            dt { "Stale contractor accounts (no request in 30 days)" } dd { (r.stale_accounts) }
            dt { "Access reviews open (items unanswered)" } dd { (r.reviews_open) " (" (r.review_items_waiting) ")" }
            dt { "Access suspended for posture / resumed" } dd { (r.grants_suspended) " / " (r.grants_resumed) }
            dt { "Time to onboard (invite → first access)" } dd {
                @if r.onboarded == 0 { "nobody got their first access" } @else {
                    "median " (hours(r.onboarding_median_seconds)) ", longest "
                    (hours(r.onboarding_max_seconds)) " (" (r.onboarded) " people)"
                }
            }
            dt { "Anomaly alerts (incidents)" } dd {
                (r.alerts_by_rule.values().sum::<u64>())
                @for (rule, n) in r.alerts_by_rule.iter().filter(|(_, n)| **n > 0) { " · " (rule) ": " (n) }
            }
        }
    }
}

/// Grants issued per week as bars, labelled; the table below carries the same numbers.
fn chart(weeks: &[AccessReport]) -> Markup {
    let most = weeks.iter().map(|w| w.grants_issued).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / weeks.len().max(1) as f64;
    let total: u64 = weeks.iter().map(|w| w.grants_issued).sum();
    let label = format!(
        "Grants issued per week over the last {} weeks: {total} in all, at most {most} in one week",
        weeks.len()
    );
    html! {
        figure {
            svg class="chart" viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 20.0) } role="img" aria-label=(label) {
                @for (i, w) in weeks.iter().enumerate() {
                    @let h = (w.grants_issued as f64 / most) * HEIGHT;
                    @let x = i as f64 * slot + slot * 0.15;
                    rect x=(x) y=(HEIGHT - h) width=(slot * 0.7) height=(h) fill="#1a5fb4" {}
                    text x=(x + slot * 0.35) y=(HEIGHT + 15.0) text-anchor="middle" font-size="11" fill="#1b1f24" { (w.grants_issued) }
                }
            }
            figcaption { "Grants issued per week, oldest on the left." }
        }
    }
}

fn trend(weeks: &[AccessReport]) -> Markup {
    html! {
        table id="weeks" {
            thead { tr {
                th scope="col" { "Week ending" } th scope="col" { "Grants" } th scope="col" { "Just-in-time" }
                th scope="col" { "Average" } th scope="col" { "Approved" } th scope="col" { "Denied" } th scope="col" { "Expired" }
                th scope="col" { "Ended early" } th scope="col" { "By ticket close" }
            } }
            tbody {
                @for w in weeks.iter().rev() {
                    tr {
                        td { (when(w.to)) } td { (w.grants_issued) } td { (percent(w.just_in_time_share)) }
                        td { (hours(w.average_grant_seconds)) } td { (w.requests_approved) } td { (w.requests_denied) }
                        td { (w.requests_expired) } td { (w.grants_revoked) } td { (w.grants_ended_by_ticket_close) }
                    }
                }
            }
        }
    }
}

fn reports_page(who: &Signed, weeks: &[AccessReport]) -> Markup {
    let body = html! {
        h1 { "Reports" }
        @if let Some(this) = weeks.last() {
            h2 { "This week (" (when(this.from)) " to " (when(this.to)) ")" }
            (figures(this))
        }
        h2 { "The last " (WEEKS) " weeks" }
        (chart(weeks))
        (trend(weeks))
    };
    layout("Reports", Some((who, PATH)), body)
}

pub async fn reports(State(s): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let who = admitted(
        &visitor,
        &ROLES,
        PATH,
        "The reports are for admins, auditors and approvers.",
    )?;
    let weeks = s.broker.weekly_reports(WEEKS).await?;
    Ok(page(reports_page(&who, &weeks)))
}
