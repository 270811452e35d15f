//! Access reviews: a campaign asks, by a deadline, whether each standing entitlement of each person
//! in its scope should stay. Each item goes to the approvers of the entitlement's policy (never the
//! person themselves), who keep or remove it with a reason; what is unanswered at the deadline is
//! removed, or kept and flagged, as the campaign says.

use super::directory::{Person, Role};
use super::entitlement::{Entitlement, Selector};
use super::policy::ApprovalPolicy;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The longest reason or campaign name kept.
pub const MAX_TEXT_CHARS: usize = 500;

/// The shortest time a campaign gives its reviewers.
pub const SHORTEST_CAMPAIGN: Duration = Duration::hours(1);

/// Whose standing access a campaign reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum ReviewScope {
    /// Everyone holding the contractor role.
    Contractors,
    /// Everyone of one company (as the directory spells it, any case).
    Company(String),
    /// Everyone in one group.
    Group(String),
}

impl ReviewScope {
    pub fn covers(&self, person: &Person) -> bool {
        match self {
            ReviewScope::Contractors => person.has_role(Role::Contractor),
            ReviewScope::Company(c) => person.company.eq_ignore_ascii_case(c),
            ReviewScope::Group(g) => person.groups.contains(g),
        }
    }
}

impl fmt::Display for ReviewScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReviewScope::Contractors => f.write_str("contractors"),
            ReviewScope::Company(c) => write!(f, "company:{c}"),
            ReviewScope::Group(g) => write!(f, "group:{g}"),
        }
    }
}

impl FromStr for ReviewScope {
    type Err = String;
    /// `contractors`, `company:NAME` or `group:NAME`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad review scope {s:?}: write contractors, company:NAME or group:NAME");
        match s.trim().split_once(':') {
            None if s.trim() == "contractors" => Ok(ReviewScope::Contractors),
            Some(("company", c)) if !c.trim().is_empty() => Ok(ReviewScope::Company(c.trim().into())),
            Some(("group", g)) if !g.trim().is_empty() => Ok(ReviewScope::Group(g.trim().into())),
            _ => Err(bad()),
        }
    }
}

/// What happens to an item nobody answered by the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDeadline {
    /// The entitlement is taken from the person (the safe default).
    Remove,
    /// The entitlement stays, and the item is flagged in the evidence for follow-up.
    KeepAndFlag,
}

impl fmt::Display for OnDeadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnDeadline::Remove => "remove",
            OnDeadline::KeepAndFlag => "keep-and-flag",
        })
    }
}

impl OnDeadline {
    /// What becomes of the unanswered items, in words: "removed", "kept and flagged".
    pub fn in_words(self) -> &'static str {
        match self {
            OnDeadline::Remove => "removed",
            OnDeadline::KeepAndFlag => "kept and flagged",
        }
    }
}

impl FromStr for OnDeadline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "remove" => Ok(OnDeadline::Remove),
            "keep-and-flag" => Ok(OnDeadline::KeepAndFlag),
            other => Err(format!(
                "bad deadline outcome {other:?}: write remove or keep-and-flag"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub scope: ReviewScope,
    pub on_deadline: OnDeadline,
    /// The actor who opened it (`person:…` from the console, `cli:…` from the CLI).
    pub opened_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// How many items it opened with.
    pub items: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// `broker` at the deadline, or the actor who closed it early.
    pub closed_by: Option<String>,
}

/// Why a campaign cannot be opened or closed, or an item answered, as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("give the campaign a name (at most {MAX_TEXT_CHARS} characters), e.g. \"Q1 2027 contractors\"")]
    Name,
    #[error("the deadline must be at least an hour from now: reviewers need time to answer")]
    Deadline,
    #[error("this review campaign closed at {0}: its answers are final")]
    Closed(OffsetDateTime),
    #[error("nobody reviews their own access: another approver must answer this item")]
    OwnAccess,
    #[error("your account is disabled or your contract has ended")]
    AccountInactive,
    #[error("{0} does not hold the approver role: reviews go to the approvers of each entitlement's policy")]
    NotAnApprover(String),
    #[error("{reviewer} is not in approver group {group:?}, which reviews this entitlement's policy")]
    NotInGroup { reviewer: String, group: String },
    #[error("{by} already answered this item ({verdict}): answers are final")]
    AlreadyAnswered { by: String, verdict: Verdict },
    #[error("give a reason (at most {MAX_TEXT_CHARS} characters): auditors read it")]
    Reason,
}

fn check_text(text: &str, refusal: ReviewRefusal) -> Result<String, ReviewRefusal> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(refusal);
    }
    Ok(text.to_string())
}

impl Campaign {
    pub fn open(
        name: &str,
        scope: ReviewScope,
        deadline: OffsetDateTime,
        on_deadline: OnDeadline,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Self, ReviewRefusal> {
        if deadline < now + SHORTEST_CAMPAIGN {
            return Err(ReviewRefusal::Deadline);
        }
        Ok(Campaign {
            id: Uuid::new_v4(),
            name: check_text(name, ReviewRefusal::Name)?,
            scope,
            on_deadline,
            opened_by: actor.to_string(),
            opened_at: now,
            deadline,
            items: 0,
            closed_at: None,
            closed_by: None,
        })
    }

    /// Whether reviewers may still answer.
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.closed_at.is_none() && now < self.deadline
    }

    /// Whether the deadline passed and the campaign waits to be closed.
    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.closed_at.is_none() && now >= self.deadline
    }

    /// Closes it: at the deadline (`broker`) or early (an admin); answers are final from then on.
    pub fn close(&mut self, actor: &str, now: OffsetDateTime) -> Result<(), ReviewRefusal> {
        if let Some(at) = self.closed_at {
            return Err(ReviewRefusal::Closed(at));
        }
        self.closed_at = Some(now);
        self.closed_by = Some(actor.to_string());
        Ok(())
    }

    /// One item per standing entitlement of each person in scope whose account is active now.
    pub fn items_for(
        &self,
        people: &[Person],
        matrix: &[Entitlement],
        policies: &[ApprovalPolicy],
        now: OffsetDateTime,
    ) -> Vec<ReviewItem> {
        let mut items = Vec::new();
        for person in people.iter().filter(|p| self.scope.covers(p) && p.is_active(now)) {
            for e in matrix.iter().filter(|e| e.is_for(person)) {
                let reviewer_group = policies
                    .iter()
                    .find(|p| p.name == e.policy)
                    .and_then(|p| p.approver_group.clone());
                items.push(ReviewItem {
                    id: Uuid::new_v4(),
                    campaign: self.id,
                    person: person.id.clone(),
                    person_name: person.name.clone(),
                    company: person.company.clone(),
                    entitlement: e.id.clone(),
                    selector: e.selector.clone(),
                    max_duration_seconds: e.max_duration_seconds,
                    policy: e.policy.clone(),
                    reviewer_group,
                    answer: None,
                    at_deadline: None,
                });
            }
        }
        items
    }
}

/// A reviewer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Remove,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Keep => "keep",
            Verdict::Remove => "remove",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub verdict: Verdict,
    pub reason: String,
    /// `person:…`
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Kept with others in one bulk answer (after a passkey confirmation).
    pub bulk: bool,
}

/// Where an item ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Waiting,
    Kept,
    Removed,
    /// Unanswered at the deadline, and removed.
    RemovedAtDeadline,
    /// Unanswered at the deadline, kept, and flagged for follow-up.
    FlaggedAtDeadline,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Waiting => "waiting",
            Outcome::Kept => "kept",
            Outcome::Removed => "removed",
            Outcome::RemovedAtDeadline => "removed at the deadline",
            Outcome::FlaggedAtDeadline => "kept and flagged at the deadline",
        }
    }
}

/// One standing entitlement of one person, as the campaign found it when it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub id: Uuid,
    pub campaign: Uuid,
    pub person: String,
    pub person_name: String,
    pub company: String,
    pub entitlement: String,
    pub selector: Selector,
    pub max_duration_seconds: i64,
    pub policy: String,
    /// Reviewers are approvers, of this group when the policy names one.
    pub reviewer_group: Option<String>,
    pub answer: Option<Answer>,
    /// What the deadline did, when nobody answered.
    pub at_deadline: Option<OnDeadline>,
}

impl ReviewItem {
    /// Whether `reviewer` may answer this item: an active approver (in the policy's approver group,
    /// when it names one) who is not the person whose access it is.
    pub fn may_review(&self, reviewer: &Person, now: OffsetDateTime) -> Result<(), ReviewRefusal> {
        if reviewer.id == self.person {
            return Err(ReviewRefusal::OwnAccess);
        }
        if !reviewer.is_active(now) {
            return Err(ReviewRefusal::AccountInactive);
        }
        if !reviewer.has_role(Role::Approver) {
            return Err(ReviewRefusal::NotAnApprover(reviewer.id.clone()));
        }
        match &self.reviewer_group {
            Some(group) if !reviewer.groups.contains(group) => Err(ReviewRefusal::NotInGroup {
                reviewer: reviewer.id.clone(),
                group: group.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Records `reviewer`'s answer: the campaign open, the item unanswered, the reviewer allowed,
    /// a reason given.
    pub fn answer(
        &mut self,
        campaign: &Campaign,
        reviewer: &Person,
        verdict: Verdict,
        reason: &str,
        bulk: bool,
        now: OffsetDateTime,
    ) -> Result<(), ReviewRefusal> {
        if !campaign.is_open(now) {
            return Err(ReviewRefusal::Closed(
                campaign.closed_at.unwrap_or(campaign.deadline),
            ));
        }
        if let Some(a) = &self.answer {
            return Err(ReviewRefusal::AlreadyAnswered {
                by: a.by.clone(),
                verdict: a.verdict,
            });
        }
        self.may_review(reviewer, now)?;
        self.answer = Some(Answer {
            verdict,
            reason: check_text(reason, ReviewRefusal::Reason)?,
            by: format!("person:{}", reviewer.id),
            at: now,
            bulk,
        });
        Ok(())
    }

    /// At the close: an unanswered item takes the campaign's deadline outcome (true when it did).
    pub fn settle(&mut self, on_deadline: OnDeadline) -> bool {
        if self.answer.is_some() || self.at_deadline.is_some() {
            return false;
        }
        self.at_deadline = Some(on_deadline);
        true
    }

    pub fn outcome(&self) -> Outcome {
        match (&self.answer, self.at_deadline) {
            (Some(a), _) if a.verdict == Verdict::Keep => Outcome::Kept,
            (Some(_), _) => Outcome::Removed,
            (None, Some(OnDeadline::Remove)) => Outcome::RemovedAtDeadline,
            (None, Some(OnDeadline::KeepAndFlag)) => Outcome::FlaggedAtDeadline,
            (None, None) => Outcome::Waiting,
        }
    }

    /// Whether the entitlement is taken from the person (by an answer or the deadline).
    pub fn removes(&self) -> bool {
        matches!(self.outcome(), Outcome::Removed | Outcome::RemovedAtDeadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::person;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-06 09:00 UTC);

    fn entitlement(id: &str, subject: &str, policy: &str) -> Entitlement {
        Entitlement {
            id: id.into(),
            subject: subject.parse().unwrap(),
            selector: "resource:db".parse().unwrap(),
            max_duration_seconds: 3600,
            policy: policy.into(),
        }
    }

    fn policy(name: &str, group: Option<&str>) -> ApprovalPolicy {
        ApprovalPolicy {
            name: name.into(),
            auto_approve: None,
            approvals_required: 1,
            approver_group: group.map(String::from),
        }
    }

    fn campaign(scope: ReviewScope, on: OnDeadline) -> Campaign {
        Campaign::open("Q1", scope, T0 + Duration::days(14), on, "person:ida", T0).unwrap()
    }

    fn contractor(id: &str, company: &str, groups: &[&str]) -> Person {
        Person {
            company: company.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..person(id, &[Role::Contractor])
        }
    }

    #[test]
    fn scopes_parse_and_cover_contractors_companies_or_groups() {
        let ana = contractor("ana", "Acme", &["dba"]);
        let admin = person("ida", &[Role::Admin]);
        assert_eq!("contractors".parse(), Ok(ReviewScope::Contractors));
        let company: ReviewScope = "company: acme".parse().unwrap();
        let group: ReviewScope = "group:dba".parse().unwrap();
        assert!(ReviewScope::Contractors.covers(&ana) && !ReviewScope::Contractors.covers(&admin));
        assert!(company.covers(&ana) && group.covers(&ana) && !group.covers(&admin));
        for bad in ["", "everyone", "company:", "group: "] {
            assert!(bad.parse::<ReviewScope>().is_err(), "{bad}");
        }
        assert_eq!(company.to_string().parse(), Ok(company));
    }

    #[test]
    fn a_campaign_needs_a_name_and_a_deadline_an_hour_away() {
        let open = |name: &str, deadline| {
            Campaign::open(
                name,
                ReviewScope::Contractors,
                deadline,
                OnDeadline::Remove,
                "cli:root",
                T0,
            )
        };
        assert_eq!(open(" ", T0 + Duration::days(1)), Err(ReviewRefusal::Name));
        assert_eq!(
            open("Q1", T0 + Duration::minutes(59)),
            Err(ReviewRefusal::Deadline)
        );
        let mut c = open("Q1", T0 + Duration::hours(1)).unwrap();
        assert!(c.is_open(T0) && !c.is_due(T0));
        assert!(!c.is_open(c.deadline) && c.is_due(c.deadline));
        c.close("broker", c.deadline).unwrap();
        assert!(!c.is_due(c.deadline));
        assert_eq!(
            c.close("broker", c.deadline),
            Err(ReviewRefusal::Closed(c.deadline))
        );
    }

    #[test]
    fn items_cover_each_standing_entitlement_of_active_people_in_scope_with_their_reviewers() {
        let ana = contractor("ana", "Acme", &["dba"]);
        let mut bob = contractor("bob", "Acme", &["dba"]);
        bob.entitlements_removed.insert("dba-db".into());
        let mut gone = contractor("gone", "Acme", &["dba"]);
        gone.disabled = true;
        let other = contractor("eve", "Initech", &["dba"]);
        let matrix = [
            entitlement("dba-db", "group:dba", "strict"),
            entitlement("ana-wiki", "person:ana", "loose"),
        ];
        let policies = [policy("strict", Some("db-owners")), policy("loose", None)];
        let c = campaign(ReviewScope::Company("Acme".into()), OnDeadline::Remove);
        let items = c.items_for(&[ana, bob, gone, other], &matrix, &policies, T0);
        let found: Vec<_> = items
            .iter()
            .map(|i| {
                (
                    i.person.as_str(),
                    i.entitlement.as_str(),
                    i.reviewer_group.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [("ana", "dba-db", Some("db-owners")), ("ana", "ana-wiki", None)],
            "bob's removed entitlement, the disabled account and the other company are not reviewed"
        );
        assert!(items
            .iter()
            .all(|i| i.campaign == c.id && i.outcome() == Outcome::Waiting));
    }

    #[test]
    fn reviewers_are_the_policys_approvers_never_the_person() {
        let c = campaign(ReviewScope::Contractors, OnDeadline::Remove);
        let mut ana = contractor("ana", "Acme", &["db-owners"]);
        ana.roles.insert(Role::Approver);
        let matrix = [entitlement("e", "person:ana", "strict")];
        let mut item = c.items_for(
            &[ana.clone()],
            &matrix,
            &[policy("strict", Some("db-owners"))],
            T0,
        )[0]
        .clone();
        let mut olga = person("olga", &[Role::Approver]);
        let ida = person("ida", &[Role::Admin]);
        assert_eq!(item.may_review(&ana, T0), Err(ReviewRefusal::OwnAccess));
        assert_eq!(
            item.may_review(&ida, T0),
            Err(ReviewRefusal::NotAnApprover("ida".into()))
        );
        assert!(matches!(
            item.may_review(&olga, T0),
            Err(ReviewRefusal::NotInGroup { .. })
        ));
        olga.groups.insert("db-owners".into());
        assert_eq!(
            item.answer(&c, &olga, Verdict::Keep, " ", false, T0),
            Err(ReviewRefusal::Reason)
        );
        item.answer(&c, &olga, Verdict::Remove, "project over", false, T0)
            .unwrap();
        assert!(item.removes());
        assert_eq!(item.answer.as_ref().unwrap().by, "person:olga");
        assert!(matches!(
            item.answer(&c, &olga, Verdict::Keep, "oops", false, T0),
            Err(ReviewRefusal::AlreadyAnswered {
                verdict: Verdict::Remove,
                ..
            })
        ));
        assert!(
            !item.settle(OnDeadline::KeepAndFlag),
            "an answered item keeps its answer"
        );
        assert_eq!(item.outcome(), Outcome::Removed);
    }

    #[test]
    fn a_closed_campaign_takes_no_answers_and_settles_the_unanswered() {
        let c = campaign(ReviewScope::Contractors, OnDeadline::KeepAndFlag);
        let ana = contractor("ana", "Acme", &[]);
        let matrix = [entitlement("e", "person:ana", "loose")];
        let mut item = c.items_for(&[ana], &matrix, &[policy("loose", None)], T0)[0].clone();
        let olga = person("olga", &[Role::Approver]);
        assert_eq!(
            item.answer(&c, &olga, Verdict::Keep, "still needed", true, c.deadline),
            Err(ReviewRefusal::Closed(c.deadline))
        );
        assert!(item.settle(c.on_deadline));
        assert_eq!(item.outcome(), Outcome::FlaggedAtDeadline);
        assert!(!item.removes());
        let mut removed = item.clone();
        removed.at_deadline = None;
        assert!(removed.settle(OnDeadline::Remove) && removed.removes());
    }
}
