//! Anomaly rules as pure judgements: which behaviour is unusual (requests at hours the person never
//! works, bursts of refusals, a device's posture getting worse, a request right after a suspension,
//! a connection from a new country or network, one grant's key from two endpoints) and what the
//! admin chose to do about each (alert, demand a passkey step-up, suspend
//! the person's grants, disable the account). The service gathers the history and acts.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A request at an hour outside both the configured working hours and the person's own.
    OffHours,
    /// Many refused requests in a short time (probing for access).
    RefusalBurst,
    /// A device that complied now does not.
    PostureWorse,
    /// A request soon after one of the person's grants was suspended.
    RequestAfterSuspension,
    /// A device connected from a country the person never connected from.
    NewCountry,
    /// A device connected from a network (an IPv4 /24, an IPv6 /48) the person never used.
    NewNetwork,
    /// One grant's key was seen from two endpoints (a copied key, or a roaming laptop).
    TwoEndpoints,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::OffHours,
        Rule::RefusalBurst,
        Rule::PostureWorse,
        Rule::RequestAfterSuspension,
        Rule::NewCountry,
        Rule::NewNetwork,
        Rule::TwoEndpoints,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::OffHours => "off_hours",
            Rule::RefusalBurst => "refusal_burst",
            Rule::PostureWorse => "posture_worse",
            Rule::RequestAfterSuspension => "request_after_suspension",
            Rule::NewCountry => "new_country",
            Rule::NewNetwork => "new_network",
            Rule::TwoEndpoints => "two_endpoints",
        }
    }

    /// What a rule does unless the admin chose otherwise: alert only (conservative), but a new
    /// country asks for a fresh passkey with the next request.
    pub fn default_action(self) -> Action {
        match self {
            Rule::NewCountry => Action::StepUp,
            _ => Action::Alert,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens when a rule fires; every action also raises the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Alert,
    /// The person's next request needs a fresh passkey confirmation.
    StepUp,
    /// The person's live grants are held until an admin closes the alert.
    SuspendGrants,
    /// The account is disabled (its grants end, its sessions stop).
    DisableAccount,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Alert => "alert",
            Action::StepUp => "step-up",
            Action::SuspendGrants => "suspend-grants",
            Action::DisableAccount => "disable-account",
        })
    }
}

/// One alert: what fired, about whom, what was done, and where staff are with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: uuid::Uuid,
    pub rule: Rule,
    pub person: String,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// What was seen, in words.
    pub detail: String,
    pub action: Action,
    /// Grants the alert holds (action `suspend-grants`), released when it is closed.
    #[serde(default)]
    pub held_grants: Vec<uuid::Uuid>,
    pub state: AlertState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged {
        by: String,
        note: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    Closed {
        by: String,
        note: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl AlertState {
    pub fn name(&self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged { .. } => "acknowledged",
            AlertState::Closed { .. } => "closed",
        }
    }
}

/// Hours of the day (UTC) as `[from, to)`, wrapping past midnight when `from > to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub from: u8,
    pub to: u8,
}

impl Hours {
    /// `"07-19"`.
    pub fn parse(text: &str) -> Result<Hours, String> {
        let bad = || format!("{text:?} is not hours such as \"07-19\" (UTC, from-to, 0-24)");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let (from, to): (u8, u8) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if from > 23 || to > 24 || from == to {
            return Err(bad());
        }
        Ok(Hours { from, to })
    }

    pub fn contains(self, hour: u8) -> bool {
        if self.from < self.to {
            (self.from..self.to).contains(&hour)
        } else {
            hour >= self.from || hour < self.to
        }
    }
}

/// The person's own working hours, learned: the hours of day (UTC) of their earlier requests.
/// Too little history (fewer than `MIN_HISTORY` requests) teaches nothing.
pub const MIN_HISTORY: usize = 10;

/// What a person's earlier requests teach about their hours: how many there were, and the hours
/// of day (UTC) they were made at (a count per hour is all a database needs to send).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoursSeen {
    requests: usize,
    at_hour: [bool; 24],
}

impl HoursSeen {
    /// Learned from the instants of the requests.
    pub fn of(times: &[OffsetDateTime]) -> HoursSeen {
        let mut seen = HoursSeen::default();
        for t in times {
            seen.add(t.hour(), 1);
        }
        seen
    }

    /// Adds `count` requests made at `hour` of day (an hour past 23 counts, but teaches no hour).
    pub fn add(&mut self, hour: u8, count: usize) {
        self.requests += count;
        if let Some(seen) = self.at_hour.get_mut(usize::from(hour)) {
            *seen |= count > 0;
        }
    }
}

/// Whether a request at `at` is at an unusual hour: outside the configured working hours (when
/// set) and at an hour the person has never asked at before, given enough history. With neither
/// working hours nor enough history nothing is unusual.
pub fn is_off_hours(at: OffsetDateTime, working: Option<Hours>, earlier: &HoursSeen) -> bool {
    let hour = at.hour();
    if working.is_some_and(|w| w.contains(hour)) {
        return false;
    }
    let learned = earlier.requests >= MIN_HISTORY;
    if !learned {
        return working.is_some();
    }
    !earlier.at_hour[usize::from(hour)]
}

/// Where a connection came from, as the rules compare places: the network (an IPv4 /24, an IPv6
/// /48) of the endpoint's address.
pub fn network_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Whether `refusals` (instants of refused requests) hold a burst: `threshold` within `window`
/// ending at `now`.
pub fn is_burst(
    refusals: &[OffsetDateTime],
    threshold: usize,
    window: Duration,
    now: OffsetDateTime,
) -> bool {
    refusals
        .iter()
        .filter(|t| now - **t <= window && **t <= now)
        .count()
        >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn hours_parse_and_wrap_past_midnight() {
        let day = Hours::parse("07-19").unwrap();
        assert!(day.contains(7) && day.contains(18) && !day.contains(19) && !day.contains(3));
        let night = Hours::parse("22-06").unwrap();
        assert!(night.contains(23) && night.contains(0) && night.contains(5) && !night.contains(12));
        for bad in ["7", "07-07", "25-03", "a-b"] {
            assert!(Hours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn off_hours_uses_the_working_hours_then_the_persons_own() {
        let at = |h: u8| datetime!(2026-12-01 00:00 UTC).replace_hour(h).unwrap();
        let working = Some(Hours::parse("08-18").unwrap());
        let none = HoursSeen::default();
        // No history: only the configured hours say anything.
        assert!(!is_off_hours(at(10), working, &none));
        assert!(is_off_hours(at(3), working, &none));
        assert!(!is_off_hours(at(3), None, &none));
        // A person who always works at night: 3 am is their usual hour.
        let nights = HoursSeen::of(&(0..12).map(|d| at(3) - Duration::days(d + 1)).collect::<Vec<_>>());
        let mut counted = HoursSeen::default();
        counted.add(3, 12);
        assert_eq!(nights, counted, "a count per hour teaches what the instants do");
        assert!(!is_off_hours(at(3), working, &nights));
        assert!(is_off_hours(at(21), working, &nights));
        assert!(is_off_hours(at(21), None, &nights));
        assert!(
            !is_off_hours(at(12), working, &nights),
            "inside working hours is never unusual"
        );
    }

    #[test]
    fn networks_are_a_v4_slash_24_or_a_v6_slash_48() {
        assert_eq!(network_of("198.51.100.7".parse().unwrap()), "198.51.100.0/24");
        assert_eq!(network_of("2001:db8:1:2::9".parse().unwrap()), "2001:db8:1::/48");
    }

    #[test]
    fn a_burst_is_enough_refusals_inside_the_window() {
        let now = datetime!(2026-12-01 12:00 UTC);
        let ago = |m: i64| now - Duration::minutes(m);
        let w = Duration::minutes(10);
        assert!(is_burst(&[ago(1), ago(2), ago(3), ago(4), ago(9)], 5, w, now));
        assert!(!is_burst(&[ago(1), ago(2), ago(3), ago(4), ago(11)], 5, w, now));
    }
}
