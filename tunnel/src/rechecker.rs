//! Posture during a grant: while the broker watches the grant's device, a fresh signed report every
//! interval the broker set, and one at once when a fact the contractor can switch off (disk
//! encryption, EDR, firewall, screen lock) changes. The probes are sampled every few seconds for
//! that (the package-manager answers stay cached), so turning the firewall back on resumes a held
//! grant within seconds, without waiting for the interval.

use crate::broker::Broker;
use crate::errands::Errands;
use daypass_posture::facts::{Facts, Observed};
use daypass_proto::ipc;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often the watched facts are sampled between reports.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// The facts whose change is reported at once: what the contractor can switch off. Compared by
/// value (their evidence wording may vary between two samples of the same state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFacts(Vec<Option<String>>);

impl WatchedFacts {
    pub fn of(facts: &Facts) -> Self {
        fn value<T: serde::Serialize>(o: &Observed<T>) -> Option<String> {
            match o {
                Observed::Seen { value, .. } => serde_json::to_string(value).ok(),
                Observed::Unknown { .. } => None,
            }
        }
        WatchedFacts(vec![
            value(&facts.disk_encryption),
            value(&facts.edr),
            value(&facts.firewall),
            value(&facts.screen_lock),
        ])
    }
}

/// Whether a report is due: never sent for this grant, the interval has passed (by the wall clock,
/// so a laptop waking from sleep reports at once), or a watched fact changed since the last one.
pub fn report_due(
    last: Option<&(OffsetDateTime, WatchedFacts)>,
    now_facts: &WatchedFacts,
    every: Duration,
    now: OffsetDateTime,
) -> bool {
    match last {
        None => true,
        Some((at, sent)) => now - *at >= every || sent != now_facts,
    }
}

/// Runs for the service's life; `every` is the broker's interval for the grant in force, or `None`
/// when no watched grant is.
pub async fn run<B: Broker>(errands: Arc<Errands<B>>, mut every: watch::Receiver<Option<Duration>>) {
    let mut last: Option<(OffsetDateTime, WatchedFacts)> = None;
    loop {
        let interval = *every.borrow_and_update();
        match interval {
            None => last = None,
            Some(interval) => {
                if let Some(sent) = check_once(&errands, last.as_ref(), interval).await {
                    last = Some(sent);
                }
            }
        }
        let wait = interval.map_or(Duration::MAX, |i| i.min(SAMPLE_EVERY));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = every.changed() => if changed.is_err() { return },
        }
    }
}

/// Samples the facts and sends a report when one is due; what was sent, if it was.
async fn check_once<B: Broker>(
    errands: &Errands<B>,
    last: Option<&(OffsetDateTime, WatchedFacts)>,
    every: Duration,
) -> Option<(OffsetDateTime, WatchedFacts)> {
    let facts = match errands.facts().await {
        Ok(facts) => facts,
        Err(r) => {
            tracing::warn!(error = %r.message, "the posture re-check could not run");
            return None;
        }
    };
    let watched = WatchedFacts::of(&facts);
    let now = crate::clock::now();
    if !report_due(last, &watched, every, now) {
        return None;
    }
    let token: SecretString = errands.token().ok()?;
    match errands.send_report(&token, facts).await {
        Ok(report) => {
            tracing::info!(
                compliant = report.compliant,
                "posture re-checked during the grant"
            );
            let _ = errands.events.send(ipc::Event::Posture {
                compliant: report.compliant,
            });
            Some((now, watched))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the posture re-check was not taken; trying again shortly");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_posture::facts::FirewallFacts;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn facts(firewall: bool, evidence: &str) -> WatchedFacts {
        let f = Facts {
            schema: daypass_posture::facts::FACTS_SCHEMA,
            collected_at: T,
            os: Observed::unknown("not asked"),
            disk_encryption: Observed::unknown("not asked"),
            edr: Observed::unknown("not asked"),
            updates: Observed::unknown("not asked"),
            firewall: Observed::seen(FirewallFacts { enabled: firewall }, [evidence.to_string()]),
            screen_lock: Observed::unknown("not asked"),
        };
        WatchedFacts::of(&f)
    }

    #[test]
    fn a_report_is_due_first_at_each_interval_and_when_a_watched_fact_changes() {
        let every = Duration::from_secs(300);
        let on = facts(true, "nft: drop");
        assert!(report_due(None, &on, every, T));
        let last = (T, on.clone());
        assert!(!report_due(
            Some(&last),
            &on,
            every,
            T + time::Duration::minutes(4)
        ));
        assert!(report_due(
            Some(&last),
            &on,
            every,
            T + time::Duration::minutes(5)
        ));
        assert!(report_due(
            Some(&last),
            &facts(false, "nft: accept"),
            every,
            T + time::Duration::seconds(10)
        ));
        // The same state in other words is no change.
        assert!(!report_due(
            Some(&last),
            &facts(true, "ufw: active"),
            every,
            T + time::Duration::seconds(10)
        ));
        // A clock that jumped (sleep, resume) makes it due at once.
        assert!(report_due(Some(&last), &on, every, T + time::Duration::hours(3)));
    }
}
