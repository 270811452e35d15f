//! Continuous verification: a grant that posture gated is held while its device's reports fail or
//! stop, released by a compliant report, and never lengthened; gateways are told at once.

use crate::posture::{ask_from_desk, broker_requiring, broker_with, report_now, report_now_with};
use crate::support::{Db, Harness};
use daypass_broker_core::Caller;
use daypass_posture::facts::{FirewallFacts, Observed};
use daypass_proto::api::{GrantStatus, GrantView};
use time::Duration;
use uuid::Uuid;

pub(crate) fn firewall_off(facts: &mut daypass_posture::facts::Facts) {
    facts.firewall = Observed::seen(FirewallFacts { enabled: false }, ["ufw: inactive".to_string()]);
}

async fn view(h: &Harness, grant: Uuid) -> GrantView {
    let ana = h.person("ana").await;
    h.broker.grant_view(&Caller::Person(ana), grant).await.unwrap()
}

/// Ana's desktop, compliant, granted staging's database (gated by its tag).
async fn watched_grant(h: &Harness) -> Uuid {
    report_now(h).await;
    let ana = h.person("ana").await;
    let granted = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    granted.grant_id.expect("auto-approved on a compliant report")
}

async fn evidence_actions(h: &Harness, grant: Uuid) -> Vec<String> {
    let bundle = h.broker.evidence_unchecked(grant).await.unwrap();
    bundle.audit.into_iter().map(|e| e.action).collect()
}

async fn a_failing_report_holds_the_grant_and_a_compliant_one_releases_it(db: Db) {
    let h = broker_requiring(db, true, &["db:staging"]).await;
    let grant = watched_grant(&h).await;
    let before = view(&h, grant).await;
    assert_eq!(before.status, GrantStatus::Active);
    assert_eq!(
        before.posture_recheck_seconds,
        Some(300),
        "the device is told how often"
    );
    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert_eq!(state.grants.len(), 1);

    h.clock.advance(Duration::minutes(1));
    report_now_with(&h, firewall_off).await;
    let held = view(&h, grant).await;
    assert_eq!(held.status, GrantStatus::Suspended);
    let why = held.suspension.expect("a held grant says why");
    assert_eq!(why.reason, "posture_failed");
    assert!(
        why.detail.contains("firewall (for the organisation's policy)"),
        "{}",
        why.detail
    );
    assert!(why.fix.contains("Turn on the firewall"), "{}", why.fix);
    let metrics = h.broker.metrics_text().await.unwrap();
    for line in [
        "daypass_grants_live 1",
        "daypass_grants_suspended 1",
        "daypass_grant_holds_total{action=\"grant.suspended\"} 1",
        "daypass_access_requests_total{outcome=\"granted\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let dropped = h.broker.gateway_state("gw1").await.unwrap();
    assert!(
        dropped.grants.is_empty(),
        "the gateway is told to let nothing through"
    );
    assert!(
        dropped.revision > state.revision,
        "the gateway is woken by a new revision"
    );

    // Still failing: the same spell, not a second one.
    h.clock.advance(Duration::minutes(1));
    report_now_with(&h, firewall_off).await;
    assert_eq!(view(&h, grant).await.status, GrantStatus::Suspended);

    h.clock.advance(Duration::minutes(1));
    report_now(&h).await;
    let resumed = view(&h, grant).await;
    assert_eq!(resumed.status, GrantStatus::Active);
    assert!(resumed.suspension.is_none());
    assert_eq!(
        resumed.grant.not_after, before.grant.not_after,
        "resuming never extends"
    );
    assert_eq!(
        resumed.signed.signature, before.signed.signature,
        "the signed grant is the same"
    );
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);

    let actions = evidence_actions(&h, grant).await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(
        (count("grant.suspended"), count("grant.resumed")),
        (1, 1),
        "{actions:?}"
    );
    let week = h.broker.report(7).await.unwrap();
    assert_eq!((week.grants_suspended, week.grants_resumed), (1, 1));

    // A compliant report after the end brings nothing back.
    h.clock.advance(Duration::hours(1));
    report_now_with(&h, firewall_off).await;
    report_now(&h).await;
    assert_eq!(view(&h, grant).await.status, GrantStatus::Expired);
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

async fn a_silent_device_is_held_until_it_reports(db: Db) {
    let h = broker_requiring(db, true, &["db:staging"]).await;
    let grant = watched_grant(&h).await;
    // Two intervals (10 minutes) of silence are allowed; the sweep looks for silence every 30 s.
    h.clock.advance(Duration::minutes(10));
    assert!(h.broker.sweep().await.unwrap().grants_held_for_silence.is_empty());
    h.clock.advance(Duration::seconds(1));
    assert!(
        h.broker.sweep().await.unwrap().grants_held_for_silence.is_empty(),
        "looked 1 s ago"
    );
    h.clock.advance(Duration::seconds(29));
    let swept = h.broker.sweep().await.unwrap();
    assert_eq!(swept.grants_held_for_silence, vec![grant]);
    let held = view(&h, grant).await;
    assert_eq!(held.status, GrantStatus::Suspended);
    assert_eq!(held.suspension.unwrap().reason, "posture_silent");
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
    assert!(h.broker.sweep().await.unwrap().is_empty(), "held once");

    // A failing report keeps it held, now for what failed; a compliant one releases it.
    report_now_with(&h, firewall_off).await;
    assert_eq!(view(&h, grant).await.suspension.unwrap().reason, "posture_failed");
    report_now(&h).await;
    assert_eq!(view(&h, grant).await.status, GrantStatus::Active);
    let actions = evidence_actions(&h, grant).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "grant.suspended").count(),
        1,
        "{actions:?}"
    );
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);
}

/// A grant written before grants kept their device in a column of their own: opening the database
/// fills it in, so the silence check (which asks the database for unheard devices) still tells a
/// device that reports from one that went quiet.
async fn a_grant_from_an_older_database_is_held_only_when_its_device_goes_quiet(db: Db) {
    let h = broker_requiring(db, true, &["db:staging"]).await;
    let grant = watched_grant(&h).await;
    h.upgrade_from_older(&[
        "ALTER TABLE grants DROP COLUMN device",
        "DELETE FROM meta WHERE key = 'grant_devices_filled'",
    ])
    .await;
    let mut conn = h.database().await;
    let device: Option<String> = sqlx::query_scalar("SELECT device FROM grants WHERE id = $1")
        .bind(grant.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(device.as_deref(), Some("ana-desk"));

    // Heard from 9 minutes in: not silent 10.5 minutes in, though the grant is older than the silence.
    h.clock.advance(Duration::minutes(9));
    report_now(&h).await;
    h.clock.advance(Duration::seconds(90));
    assert!(h.broker.sweep().await.unwrap().grants_held_for_silence.is_empty());
    assert_eq!(view(&h, grant).await.status, GrantStatus::Active);
    // Quiet for 11 minutes since: held.
    h.clock.advance(Duration::minutes(9) + Duration::seconds(30));
    assert_eq!(
        h.broker.sweep().await.unwrap().grants_held_for_silence,
        vec![grant]
    );
}

async fn only_grants_posture_gated_are_watched(db: Db) {
    // Auto-approved on a compliant report: watched by the organisation's policy alone.
    let h = broker_with(db, true, |s| s.auto_approve_requires_report = true).await;
    let grant = watched_grant(&h).await;
    report_now_with(&h, firewall_off).await;
    assert_eq!(view(&h, grant).await.status, GrantStatus::Suspended);

    // Neither a gating tag nor auto-approval on a report: the device's posture does not hold it.
    let h = broker_with(db, true, |_| {}).await;
    let grant = watched_grant(&h).await;
    assert_eq!(view(&h, grant).await.posture_recheck_seconds, None);
    report_now_with(&h, firewall_off).await;
    h.clock.advance(Duration::minutes(30));
    assert!(h.broker.sweep().await.unwrap().grants_held_for_silence.is_empty());
    assert_eq!(view(&h, grant).await.status, GrantStatus::Active);
}

crate::on_both_databases!(
    a_failing_report_holds_the_grant_and_a_compliant_one_releases_it,
    a_silent_device_is_held_until_it_reports,
    a_grant_from_an_older_database_is_held_only_when_its_device_goes_quiet,
    only_grants_posture_gated_are_watched,
);
