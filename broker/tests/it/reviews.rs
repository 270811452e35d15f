//! Access reviews: a campaign's items go to the approvers of each entitlement's policy (never the
//! person), removals take effect at once (live grants and waiting requests they carried end), the
//! deadline removes or flags what nobody answered, bulk keeps need a fresh passkey and are all or
//! nothing, and the evidence file verifies with the broker's key and names who decided what.

use crate::on_both_databases;
use crate::support::{ask, console_admin, Db, Harness};
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::review::{OnDeadline, Outcome, ReviewRefusal, ReviewScope, Verdict};
use daypass_broker_core::{
    Caller, CampaignSpec, DeskItem, Forbidden, InvalidInput, ServiceError, VerifyOutcome,
};
use daypass_proto::api::{GrantStatus, RequestStatus};
use daypass_proto::signed::SignatureError;
use time::Duration;

fn spec(name: &str, scope: ReviewScope, deadline: time::OffsetDateTime, on: OnDeadline) -> CampaignSpec {
    CampaignSpec {
        name: name.into(),
        scope,
        deadline,
        on_deadline: on,
    }
}

async fn desk(h: &Harness, reviewer: &str) -> Vec<DeskItem> {
    h.broker.review_desk(&h.person(reviewer).await).await.unwrap()
}

/// The id of the item about `entitlement` on `reviewer`'s desk.
async fn item(h: &Harness, reviewer: &str, entitlement: &str) -> uuid::Uuid {
    desk(h, reviewer)
        .await
        .into_iter()
        .find(|d| d.item.entitlement == entitlement)
        .unwrap_or_else(|| panic!("{entitlement} is not on {reviewer}'s desk"))
        .item
        .id
}

fn person(p: daypass_broker_core::domain::directory::Person) -> Caller {
    Caller::Person(p)
}

async fn reviewers_keep_or_remove_and_a_removal_ends_the_access_it_carried(db: Db) {
    let h = Harness::new(db).await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let waiting = h.request("prod", "OPS-2", "1h").await;
    let revision = h.broker.gateway_state("gw1").await.unwrap().revision;
    let deadline = h.broker.now() + Duration::days(14);
    let opened = h
        .broker
        .open_review_as(
            "cli:root",
            spec("Q1", ReviewScope::Contractors, deadline, OnDeadline::Remove),
        )
        .await
        .unwrap();
    assert_eq!(
        opened.total, 2,
        "ana's two standing entitlements: dba and ana-prod"
    );

    // The approvers of the policies (group "approvers") see them; not dan (outside the group),
    // not the admin, not ana.
    let on_ben: Vec<String> = desk(&h, "ben")
        .await
        .into_iter()
        .map(|d| d.item.entitlement)
        .collect();
    assert_eq!(on_ben, ["ana-prod", "dba"]);
    assert!(
        desk(&h, "ben").await.iter().all(|d| d.last_granted.is_some()),
        "ana was granted db"
    );
    for nobody in ["dan", "ida", "ana"] {
        assert!(desk(&h, nobody).await.is_empty(), "{nobody}");
    }
    let dba = item(&h, "ben", "dba").await;
    let prod = item(&h, "ben", "ana-prod").await;
    let dan = person(h.person("dan").await);
    let refused = h
        .broker
        .answer_review(&dan, dba, Verdict::Keep, "fine")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Review(ReviewRefusal::NotInGroup { .. })),
        "{refused}"
    );
    let ben = person(h.person("ben").await);
    let cy = person(h.person("cy").await);
    let unreasoned = h
        .broker
        .answer_review(&ben, dba, Verdict::Remove, " ")
        .await
        .unwrap_err();
    assert!(
        matches!(unreasoned, ServiceError::Review(ReviewRefusal::Reason)),
        "{unreasoned}"
    );

    // Removing dba ends ana's live db grant at once (and tells the gateway); ana-prod is kept, so
    // her waiting prod request still waits.
    let removed = h
        .broker
        .answer_review(&ben, dba, Verdict::Remove, "the migration is over")
        .await
        .unwrap();
    assert_eq!(removed.outcome(), Outcome::Removed);
    h.broker
        .answer_review(&cy, prod, Verdict::Keep, "on call until March")
        .await
        .unwrap();
    let twice = h
        .broker
        .answer_review(&cy, dba, Verdict::Keep, "oops")
        .await
        .unwrap_err();
    assert!(
        matches!(twice, ServiceError::Review(ReviewRefusal::AlreadyAnswered { .. })),
        "{twice}"
    );
    let ida = person(h.person("ida").await);
    let ended = h.broker.grant_view(&ida, grant).await.unwrap();
    assert_eq!(ended.status, GrantStatus::Revoked);
    let why = ended.end_reason.unwrap();
    assert!(
        why.contains("access review") && why.contains("migration is over"),
        "{why}"
    );
    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert!(state.grants.is_empty() && state.revision > revision);
    let still = h.broker.request_view(&ida, waiting.id).await.unwrap();
    assert_eq!(still.status, RequestStatus::Pending);

    // ana may no longer request db; her group still carries the entitlement for others.
    let ana = h.person("ana").await;
    assert!(ana.entitlements_removed.contains("dba"));
    let refused = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::NotEntitled(_)), "{refused}");
    assert!(desk(&h, "ben").await.is_empty(), "all answered");

    // An admin saving ana's record keeps the removal; restoring gives it back (the grant stays ended).
    h.broker
        .put_person("test", crate::support::spec("ana", &[Role::Contractor], &["dba"]))
        .await
        .unwrap();
    assert!(h.person("ana").await.entitlements_removed.contains("dba"));
    h.broker
        .restore_entitlement_as("cli:root", "ana", "dba", "removed by mistake")
        .await
        .unwrap();
    let again = h
        .broker
        .restore_entitlement_as("cli:root", "ana", "dba", "twice")
        .await
        .unwrap_err();
    assert!(matches!(again, ServiceError::NotFound(_)), "{again}");
    h.granted("db", "OPS-1", "1h").await;
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Revoked
    );

    // The evidence verifies with the broker's key and says who decided what; altered, it does not.
    let signed = h.broker.signed_review_evidence(opened.campaign.id).await.unwrap();
    let evidence = signed.verify(&h.broker.verifying_key()).unwrap();
    assert!(!evidence.closed);
    assert_eq!(evidence.outcomes.get("kept"), Some(&1));
    assert_eq!(evidence.outcomes.get("removed"), Some(&1));
    let by: Vec<_> = evidence
        .items
        .iter()
        .map(|i| {
            (
                i.entitlement.as_str(),
                i.reviewed_by.as_deref(),
                i.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("ana-prod", Some("person:cy"), Some("on call until March")),
            ("dba", Some("person:ben"), Some("the migration is over")),
        ]
    );
    assert_eq!(evidence.audit_head_seq, h.audit_head().await);
    let mut altered = signed.clone();
    let mut payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &signed.payload).unwrap(),
    )
    .unwrap();
    payload["items"][1]["outcome"] = "kept".into();
    altered.payload = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        serde_json::to_vec(&payload).unwrap(),
    );
    assert_eq!(
        altered.verify(&h.broker.verifying_key()).unwrap_err(),
        SignatureError::BadSignature
    );

    let actions = h.actions().await;
    for action in [
        "review.opened",
        "review.answered",
        "entitlement.removed",
        "entitlement.restored",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    assert!(matches!(
        h.broker.verify_audit().await.unwrap(),
        VerifyOutcome::Intact(_)
    ));
}

async fn the_deadline_removes_or_flags_what_nobody_answered(db: Db) {
    let h = Harness::new(db).await;
    let grant = h.granted("db", "OPS-1", "8h").await;
    let now = h.broker.now();
    let flagging = h
        .broker
        .open_review_as(
            "cli:root",
            spec(
                "Acme",
                ReviewScope::Company("acme contracting".into()),
                now + Duration::hours(1),
                OnDeadline::KeepAndFlag,
            ),
        )
        .await
        .unwrap();
    let removing = h
        .broker
        .open_review_as(
            "cli:root",
            spec(
                "dba group",
                ReviewScope::Group("dba".into()),
                now + Duration::hours(2),
                OnDeadline::Remove,
            ),
        )
        .await
        .unwrap();
    assert_eq!((flagging.total, removing.total), (2, 2));
    let report = h.broker.report(7).await.unwrap();
    assert_eq!((report.reviews_open, report.review_items_waiting), (2, 4));
    assert!(
        h.broker.close_due_reviews().await.unwrap().is_empty(),
        "nothing is due yet"
    );

    // The first deadline: kept and flagged; ana keeps her access.
    h.clock.advance(Duration::hours(1));
    assert_eq!(
        h.broker.close_due_reviews().await.unwrap(),
        [flagging.campaign.id]
    );
    let ida = person(h.person("ida").await);
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Active
    );
    let evidence = h
        .broker
        .signed_review_evidence(flagging.campaign.id)
        .await
        .unwrap()
        .verify(&h.broker.verifying_key())
        .unwrap();
    assert!(evidence.closed);
    assert_eq!(
        evidence.outcomes.get("kept and flagged at the deadline"),
        Some(&2)
    );
    let report = h.broker.report(7).await.unwrap();
    assert_eq!((report.reviews_open, report.review_items_waiting), (1, 2));

    // An answer after the close is refused.
    let closed_item = {
        let mut conn = h.database().await;
        let row: (String,) = sqlx::query_as("SELECT id FROM review_items WHERE campaign = $1 LIMIT 1")
            .bind(flagging.campaign.id.to_string())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        uuid::Uuid::parse_str(&row.0).unwrap()
    };
    let ben = person(h.person("ben").await);
    let late = h
        .broker
        .answer_review(&ben, closed_item, Verdict::Keep, "late")
        .await
        .unwrap_err();
    assert!(
        matches!(late, ServiceError::Review(ReviewRefusal::Closed(_))),
        "{late}"
    );

    // The second deadline removes both: the live grant ends, a request waiting then is denied.
    h.clock.advance(Duration::minutes(30));
    let waiting = h.request("prod", "OPS-2", "1h").await;
    h.clock.advance(Duration::minutes(30));
    assert_eq!(
        h.broker.close_due_reviews().await.unwrap(),
        [removing.campaign.id]
    );
    assert!(
        h.broker.close_due_reviews().await.unwrap().is_empty(),
        "closed once"
    );
    let ended = h.broker.grant_view(&ida, grant).await.unwrap();
    assert!(ended.end_reason.unwrap().contains("unanswered"));
    assert_eq!(
        h.broker.request_view(&ida, waiting.id).await.unwrap().status,
        RequestStatus::Denied
    );
    let ana = h.person("ana").await;
    assert_eq!(ana.entitlements_removed.len(), 2);
    let report = h.broker.report(7).await.unwrap();
    assert_eq!((report.reviews_open, report.review_items_waiting), (0, 0));
    let listed = h.broker.recent_review_campaigns().await.unwrap();
    assert!(listed
        .iter()
        .all(|c| c.campaign.closed_by.as_deref() == Some("broker")));
    assert!(matches!(
        h.broker.verify_audit().await.unwrap(),
        VerifyOutcome::Intact(_)
    ));
}

async fn console_changes_need_the_right_role_and_a_fresh_passkey_and_bulk_keeps_are_all_or_nothing(db: Db) {
    let h = Harness::new(db).await;
    let now = h.broker.now();
    let deadline = now + Duration::days(7);
    let campaign = || spec("Q1", ReviewScope::Contractors, deadline, OnDeadline::Remove);
    let stale_ida = console_admin(h.person("ida").await, now, 60);
    let refused = h.broker.open_review(&stale_ida, campaign()).await.unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::ReviewNeedsStepUp(_))),
        "{refused}"
    );
    let auditor = console_admin(h.person("aud").await, now, 1);
    let refused = h.broker.open_review(&auditor, campaign()).await.unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::RoleNeeded(_))),
        "{refused}"
    );
    let ida = console_admin(h.person("ida").await, now, 1);
    let soon = spec(
        "Q1",
        ReviewScope::Contractors,
        now + Duration::minutes(30),
        OnDeadline::Remove,
    );
    let refused = h.broker.open_review(&ida, soon).await.unwrap_err();
    assert!(
        matches!(refused, ServiceError::Review(ReviewRefusal::Deadline)),
        "{refused}"
    );
    let opened = h.broker.open_review(&ida, campaign()).await.unwrap();
    assert_eq!(h.broker.review_campaigns(&auditor).await.unwrap().len(), 1);

    let ids: Vec<uuid::Uuid> = desk(&h, "ben").await.iter().map(|d| d.item.id).collect();
    let stale_ben = console_admin(h.person("ben").await, now, 60);
    let refused = h
        .broker
        .keep_reviews_in_bulk(&stale_ben, &ids, "still needed")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::ReviewNeedsStepUp(_))),
        "{refused}"
    );
    let ben = console_admin(h.person("ben").await, now, 1);
    let none = h
        .broker
        .keep_reviews_in_bulk(&ben, &[], "still needed")
        .await
        .unwrap_err();
    assert!(
        matches!(none, ServiceError::Invalid(InvalidInput::BulkSize(_))),
        "{none}"
    );
    // One item ben may not answer (already answered by cy) refuses the batch: nothing is written.
    let cy = person(h.person("cy").await);
    h.broker
        .answer_review(&cy, ids[1], Verdict::Keep, "needed")
        .await
        .unwrap();
    let refused = h
        .broker
        .keep_reviews_in_bulk(&ben, &ids, "still needed")
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ServiceError::Review(ReviewRefusal::AlreadyAnswered { .. })
        ),
        "{refused}"
    );
    let progress = &h.broker.recent_review_campaigns().await.unwrap()[0];
    assert_eq!((progress.answered, progress.total), (1, 2));
    assert_eq!(
        h.broker
            .keep_reviews_in_bulk(&ben, &ids[..1], "still needed")
            .await
            .unwrap(),
        1
    );
    let evidence = h
        .broker
        .signed_review_evidence(opened.campaign.id)
        .await
        .unwrap()
        .verify(&h.broker.verifying_key())
        .unwrap();
    assert_eq!(evidence.outcomes.get("kept"), Some(&2));
    assert_eq!(evidence.items.iter().filter(|i| i.bulk).count(), 1);

    // Closing early needs an admin's fresh confirmation too.
    let refused = h
        .broker
        .close_review(&stale_ida, opened.campaign.id)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::ReviewNeedsStepUp(_))),
        "{refused}"
    );
    let closed = h.broker.close_review(&ida, opened.campaign.id).await.unwrap();
    assert_eq!(closed.closed_by.as_deref(), Some("person:ida"));
    let twice = h.broker.close_review(&ida, opened.campaign.id).await.unwrap_err();
    assert!(
        matches!(twice, ServiceError::Review(ReviewRefusal::Closed(_))),
        "{twice}"
    );
}

on_both_databases!(
    reviewers_keep_or_remove_and_a_removal_ends_the_access_it_carried,
    the_deadline_removes_or_flags_what_nobody_answered,
    console_changes_need_the_right_role_and_a_fresh_passkey_and_bulk_keeps_are_all_or_nothing,
);
