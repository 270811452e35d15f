//! Anomaly rules that act: a burst of refusals, posture getting worse and a request right after a
//! suspension raise alerts (audited, counted, on the metrics), take the action the admin chose, and
//! staff acknowledge and close them; closing releases the grants an alert held.

use crate::posture::{ask_from_desk, broker_configured, broker_with, report_now, report_now_with};
use crate::support::{ask, Db, Harness, Options};
use daypass_broker_core::domain::anomaly::{Action, AlertState, Rule};
use daypass_broker_core::{Caller, ServiceError};
use daypass_posture::facts::{FirewallFacts, Observed};
use daypass_proto::api::GrantStatus;

async fn staff(h: &Harness, id: &str) -> Caller {
    Caller::Person(h.person(id).await)
}

async fn refuse(h: &Harness, times: usize) {
    let ana = h.person("ana").await;
    for _ in 0..times {
        let refused = h.broker.create_request(&ana, ask("db", "OPS-404", "1h")).await;
        assert!(refused.is_err(), "an unknown ticket is refused");
    }
}

async fn a_burst_of_refusals_holds_the_persons_grants_until_an_admin_closes_the_alert(db: Db) {
    let mut opts = Options::default();
    opts.settings.anomaly.burst_threshold = 3;
    opts.settings
        .anomaly
        .actions
        .insert(Rule::RefusalBurst, Action::SuspendGrants);
    let h = Harness::with(db, opts).await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let ida = staff(&h, "ida").await;

    refuse(&h, 2).await;
    assert!(
        h.broker.alert_list(&ida, true).await.unwrap().is_empty(),
        "two refusals are no burst"
    );
    refuse(&h, 1).await;
    let alerts = h.broker.alert_list(&ida, true).await.unwrap();
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(
        (alert.rule, alert.action, alert.person.as_str()),
        (Rule::RefusalBurst, Action::SuspendGrants, "ana")
    );
    assert_eq!(alert.held_grants, vec![grant]);
    let held = h.broker.grant_view(&ida, grant).await.unwrap();
    assert_eq!(held.status, GrantStatus::Suspended);
    assert_eq!(held.suspension.unwrap().reason, "anomaly");
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());

    // More refusals within the hour raise nothing new.
    refuse(&h, 3).await;
    assert_eq!(h.broker.alert_list(&ida, true).await.unwrap().len(), 1);

    // Staff acknowledge with a note; only an admin closes, with a note; the grant resumes.
    let acked = h
        .broker
        .acknowledge_alert(&ida, alert.id, "  calling ana  ")
        .await
        .unwrap();
    assert!(matches!(acked.state, AlertState::Acknowledged { ref note, .. } if note == "calling ana"));
    let blank = h.broker.close_alert(&ida, alert.id, " ").await.unwrap_err();
    assert!(matches!(blank, ServiceError::Invalid(_)), "{blank}");
    let approver = staff(&h, "ben").await;
    assert!(matches!(
        h.broker.close_alert(&approver, alert.id, "fine").await,
        Err(ServiceError::Forbidden(_))
    ));
    let closed = h
        .broker
        .close_alert(&ida, alert.id, "ana mistyped the ticket")
        .await
        .unwrap();
    assert!(matches!(closed.state, AlertState::Closed { .. }));
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Active
    );
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);
    assert!(matches!(
        h.broker.close_alert(&ida, alert.id, "again").await,
        Err(ServiceError::Conflict(_))
    ));

    let actions = h.actions().await;
    for a in [
        "alert.raised",
        "grant.suspended",
        "alert.acknowledged",
        "grant.resumed",
        "alert.closed",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    let week = h.broker.report(7).await.unwrap();
    assert_eq!(week.alerts_by_rule.get("refusal_burst"), Some(&1));
    let metrics = h.broker.metrics_text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "daypass_alerts_total{rule=\"refusal_burst\"} 1"),
        "{metrics}"
    );
}

async fn a_device_that_stops_complying_alerts_and_a_disable_action_ends_the_account(db: Db) {
    let h = broker_configured(db, true, |s| {
        s.posture.required_tags = ["db:staging".to_string()].into();
        s.anomaly
            .actions
            .insert(Rule::PostureWorse, Action::DisableAccount);
    })
    .await;
    report_now(&h).await;
    let ana = h.person("ana").await;
    let grant = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap()
        .grant_id
        .unwrap();
    report_now_with(&h, |f| {
        f.firewall = Observed::seen(FirewallFacts { enabled: false }, ["ufw: inactive".to_string()])
    })
    .await;
    let ida = staff(&h, "ida").await;
    let alerts = h.broker.alert_list(&ida, false).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, Rule::PostureWorse);
    assert!(alerts[0].detail.contains("firewall"), "{}", alerts[0].detail);
    assert!(
        h.person("ana").await.disabled,
        "the admin chose to disable the account"
    );
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Revoked
    );
}

async fn a_request_right_after_a_suspension_alerts(db: Db) {
    let h = broker_with(db, true, |s| s.required_tags = ["db:staging".to_string()].into()).await;
    let ana = h.person("ana").await;
    report_now(&h).await;
    h.broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    report_now_with(&h, |f| {
        f.firewall = Observed::seen(FirewallFacts { enabled: false }, ["ufw: inactive".to_string()])
    })
    .await;
    // Refused (the device fails its checks), and unusual right after the hold.
    let _ = h.broker.create_request(&ana, ask_from_desk("db", "OPS-2")).await;
    let ida = staff(&h, "ida").await;
    let rules: Vec<Rule> = h
        .broker
        .alert_list(&ida, false)
        .await
        .unwrap()
        .iter()
        .map(|a| a.rule)
        .collect();
    assert!(rules.contains(&Rule::PostureWorse), "{rules:?}");
    let prod = h
        .broker
        .create_request(&ana, ask_from_desk("prod", "OPS-2"))
        .await
        .unwrap();
    assert_eq!(prod.status, daypass_proto::api::RequestStatus::Pending);
    let rules: Vec<Rule> = h
        .broker
        .alert_list(&ida, false)
        .await
        .unwrap()
        .iter()
        .map(|a| a.rule)
        .collect();
    assert!(rules.contains(&Rule::RequestAfterSuspension), "{rules:?}");
}

async fn connects_from_a_new_country_or_network_or_two_addresses_alert(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countries.mmdb");
    std::fs::write(
        &file,
        crate::mmdb::country_db(&[("198.51.100.0/24", "DE"), ("203.0.113.0/24", "BR")]),
    )
    .unwrap();
    let mut opts = Options::default();
    opts.settings.anomaly.countries = Some(std::sync::Arc::new(
        daypass_broker_core::CountryDb::open(&file).unwrap(),
    ));
    let h = Harness::with(db, opts).await;
    let ida = staff(&h, "ida").await;
    let connect = |grant, from: &str| daypass_proto::api::GatewayConnect {
        grant,
        at: crate::support::T0,
        endpoint: Some(from.to_string()),
    };
    let rules = || async {
        h.broker
            .alert_list(&ida, false)
            .await
            .unwrap()
            .iter()
            .map(|a| a.rule)
            .collect::<Vec<_>>()
    };

    // The first place a person connects from is where they are: nothing unusual yet.
    let first = h.granted("db", "OPS-1", "1h").await;
    h.broker
        .record_connects("gw1", &[connect(first, "198.51.100.7:51820")])
        .await
        .unwrap();
    assert!(rules().await.is_empty());

    // Another grant, from another network in another country: both alert; a new country asks for
    // a passkey with the next request (its default action).
    let second = h.granted("db", "OPS-2", "1h").await;
    h.broker
        .record_connects("gw1", &[connect(second, "203.0.113.9:40000")])
        .await
        .unwrap();
    let seen = rules().await;
    assert!(
        seen.contains(&Rule::NewCountry) && seen.contains(&Rule::NewNetwork),
        "{seen:?}"
    );
    assert!(h.person("ana").await.step_up_demanded_by.is_some());
    let alerts = h.broker.alert_list(&ida, false).await.unwrap();
    let country = alerts.iter().find(|a| a.rule == Rule::NewCountry).unwrap();
    assert!(country.detail.contains("country BR"), "{}", country.detail);

    // The same grant's key from a second address.
    h.broker
        .record_connects("gw1", &[connect(second, "198.51.100.7:51820")])
        .await
        .unwrap();
    assert!(rules().await.contains(&Rule::TwoEndpoints));
    let evidence = h.broker.evidence_unchecked(second).await.unwrap();
    assert!(evidence
        .audit
        .iter()
        .any(|e| e.action == "grant.connected" && e.details["endpoint"] == "203.0.113.9:40000"));
    // An address that is not one is recorded as given and compared with nothing.
    h.broker
        .record_connects("gw1", &[connect(first, "somewhere")])
        .await
        .unwrap();
}

async fn refused_sign_ins_count_towards_a_burst(db: Db) {
    let mut opts = Options::default();
    opts.settings.anomaly.burst_threshold = 3;
    let h = Harness::with(db, opts).await;
    // Ana has no passkey: each sign-in is refused (the caller gets a decoy challenge, the log the truth).
    for _ in 0..2 {
        h.broker.sign_in_start("ana", None).await.unwrap();
    }
    let ida = staff(&h, "ida").await;
    assert!(h.broker.alert_list(&ida, true).await.unwrap().is_empty());
    refuse(&h, 1).await;
    let alerts = h.broker.alert_list(&ida, true).await.unwrap();
    assert_eq!(alerts.len(), 1, "two refused sign-ins and a refused request");
    assert!(
        alerts[0].detail.contains("3 refused requests or sign-ins"),
        "{}",
        alerts[0].detail
    );
    // Nobody is alerted about for names that do not exist.
    for _ in 0..4 {
        h.broker.sign_in_start("nobody", None).await.unwrap();
    }
    assert_eq!(h.broker.alert_list(&ida, true).await.unwrap().len(), 1);
}

/// A person's usual hours are learned from their earlier requests (counted by hour of day in the
/// database): outside working hours, asking at an hour they asked at often before is ordinary, and
/// an hour they never asked at alerts. Too little history teaches nothing.
async fn usual_hours_are_learned_from_the_persons_earlier_requests(db: Db) {
    use daypass_broker_core::domain::anomaly::{Hours, MIN_HISTORY};
    let mut opts = Options::default();
    // The test asks at noon and at 3 pm (T0 is noon UTC): both outside these working hours.
    opts.settings.anomaly.working_hours = Some(Hours::parse("00-06").unwrap());
    let h = Harness::with(db, opts).await;
    let ana = h.person("ana").await;
    let ida = staff(&h, "ida").await;
    let off_hours_alerts = || async {
        let alerts = h.broker.alert_list(&ida, false).await.unwrap();
        alerts.iter().filter(|a| a.rule == Rule::OffHours).count()
    };
    // Each day at noon, until there is enough history: each alerts (a day apart, past the quiet hour).
    for day in 0..MIN_HISTORY {
        h.broker
            .create_request(&ana, ask("db", "OPS-1", "1h"))
            .await
            .unwrap();
        assert_eq!(off_hours_alerts().await, day + 1, "no history yet on day {day}");
        h.clock.advance(time::Duration::days(1));
    }
    h.broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap();
    assert_eq!(
        off_hours_alerts().await,
        MIN_HISTORY,
        "noon is this person's usual hour now"
    );
    h.clock.advance(time::Duration::hours(3));
    h.broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap();
    assert_eq!(off_hours_alerts().await, MIN_HISTORY + 1, "3 pm is not");
}

crate::on_both_databases!(
    usual_hours_are_learned_from_the_persons_earlier_requests,
    refused_sign_ins_count_towards_a_burst,
    connects_from_a_new_country_or_network_or_two_addresses_alert,
    a_burst_of_refusals_holds_the_persons_grants_until_an_admin_closes_the_alert,
    a_device_that_stops_complying_alerts_and_a_disable_action_ends_the_account,
    a_request_right_after_a_suspension_alerts,
);
