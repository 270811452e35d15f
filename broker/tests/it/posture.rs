//! Posture at the broker: nonces, device-signed reports verified against the enrolled key, the
//! broker's own evaluation, rejections on record, and who may read a device's history.

use crate::support::{Db, Harness, Options, OTHER_WG_KEY};
use base64::Engine as _;
use daypass_broker_core::{Caller, Conflict, DeviceSpec, Forbidden, ServiceError};
use daypass_posture::baseline::{Baseline, ReleaseBaseline};
use daypass_posture::facts::OsFamily;
use daypass_posture::probes::collect;
use daypass_posture::signed_report::{self, Attestation, ReportClaims};
use daypass_posture::system::FixtureSystem;
use daypass_proto::Signed;
use ed25519_dalek::SigningKey;
use time::macros::datetime;

fn device_key() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

pub(crate) fn baseline_key() -> SigningKey {
    SigningKey::from_bytes(&[12u8; 32])
}

pub(crate) fn signed_baseline() -> Signed<Baseline> {
    Signed::sign(
        &Baseline {
            issued_at: datetime!(2026-11-01 00:00 UTC),
            valid_until: datetime!(2026-12-31 00:00 UTC),
            grace_days: 14,
            releases: vec![ReleaseBaseline {
                family: OsFamily::Linux,
                name: "ubuntu".into(),
                release: "24.04".into(),
                supported_until: Some(datetime!(2029-05-31 00:00 UTC)),
                minimum: None,
                minimum_since: datetime!(2026-11-01 00:00 UTC),
                source: None,
            }],
        },
        &baseline_key(),
    )
}

/// A broker (with or without a baseline) where ana's desktop has a report-signing key enrolled.
pub(crate) async fn broker(db: Db, with_baseline: bool) -> Harness {
    broker_requiring(db, with_baseline, &[]).await
}

pub(crate) async fn broker_requiring(db: Db, with_baseline: bool, required_tags: &[&str]) -> Harness {
    broker_with(db, with_baseline, |s| {
        s.required_tags = required_tags.iter().map(|t| t.to_string()).collect();
    })
    .await
}

pub(crate) async fn broker_with(
    db: Db,
    with_baseline: bool,
    configure: impl FnOnce(&mut daypass_broker_core::PostureSettings),
) -> Harness {
    broker_configured(db, with_baseline, |s| configure(&mut s.posture)).await
}

/// As `broker_with`, with any of the broker's settings.
pub(crate) async fn broker_configured(
    db: Db,
    with_baseline: bool,
    configure: impl FnOnce(&mut daypass_broker_core::BrokerSettings),
) -> Harness {
    let mut opts = Options::default();
    configure(&mut opts.settings);
    if with_baseline {
        opts.settings.posture.baseline = Some((signed_baseline(), baseline_key().verifying_key()));
    }
    let h = Harness::with(db, opts).await;
    let report_key =
        base64::engine::general_purpose::STANDARD.encode(device_key().verifying_key().as_bytes());
    h.broker
        .add_device(
            "test",
            DeviceSpec {
                id: "ana-desk".into(),
                person: "ana".into(),
                name: "desk".into(),
                wireguard_public_key: OTHER_WG_KEY.into(),
                report_public_key: Some(report_key),
            },
        )
        .await
        .unwrap();
    h
}

/// Facts from the Ubuntu LVM-on-LUKS fixture, answering `nonce`.
fn claims(nonce: &str) -> ReportClaims {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../posture/tests/fixtures/ubuntu-24.04-lvm-on-luks"
    );
    ReportClaims {
        device: "ana-desk".into(),
        nonce: nonce.into(),
        facts: collect(&FixtureSystem::open(std::path::Path::new(dir)).unwrap()),
        baseline_digest: None,
        attestation: Attestation::Software,
    }
}

async fn fresh_report(h: &Harness) -> Signed<ReportClaims> {
    fresh_report_with(h, |_| {}).await
}

/// A fresh report of the fixture's facts as `edit` changes them.
async fn fresh_report_with(
    h: &Harness,
    edit: impl FnOnce(&mut daypass_posture::facts::Facts),
) -> Signed<ReportClaims> {
    let nonce = h
        .broker
        .posture_nonce(&h.person("ana").await, "ana-desk")
        .await
        .unwrap();
    let mut claims = claims(&nonce.nonce);
    edit(&mut claims.facts);
    signed_report::sign(&claims, &device_key())
}

/// Ana's desktop reports its posture now (fresh nonce, signed); the broker's record.
pub(crate) async fn report_now(h: &Harness) -> daypass_broker_core::PostureRecord {
    report_now_with(h, |_| {}).await
}

/// Ana's desktop reports the fixture's facts as `edit` changes them (a firewall turned off, …).
pub(crate) async fn report_now_with(
    h: &Harness,
    edit: impl FnOnce(&mut daypass_posture::facts::Facts),
) -> daypass_broker_core::PostureRecord {
    let ana = h.person("ana").await;
    h.broker
        .receive_posture(&ana, "ana-desk", &fresh_report_with(h, edit).await)
        .await
        .unwrap()
}

/// Asks for `resource` from ana's desktop (the device with a report key).
pub(crate) fn ask_from_desk(resource: &str, ticket: &str) -> daypass_proto::api::CreateAccessRequest {
    daypass_proto::api::CreateAccessRequest {
        device: "ana-desk".into(),
        ..crate::support::ask(resource, ticket, "1h")
    }
}

async fn broker_evaluates_the_facts_itself(db: Db) {
    // Without a baseline the patch checks are unknown, and the default policy fails closed.
    let h = broker(db, false).await;
    let record = report_now(&h).await;
    assert!(!record.report.compliant);
    assert_eq!(record.report.baseline_digest, None);
    // With the organisation's signed baseline the same facts comply.
    let h = broker(db, true).await;
    let record = report_now(&h).await;
    assert!(record.report.compliant, "{:#?}", record.report);
    assert!(record.report.baseline_digest.is_some());
    assert_eq!(
        h.actions().await.last().map(String::as_str),
        Some("posture.reported")
    );
}

async fn replayed_tampered_or_foreign_reports_are_refused_and_recorded(db: Db) {
    let h = broker(db, true).await;
    let ana = h.person("ana").await;
    let report = fresh_report(&h).await;
    h.broker.receive_posture(&ana, "ana-desk", &report).await.unwrap();
    let replay = h
        .broker
        .receive_posture(&ana, "ana-desk", &report)
        .await
        .unwrap_err();
    assert!(
        matches!(replay, ServiceError::Forbidden(Forbidden::PostureReport(ref m)) if m.contains("already used")),
        "{replay}"
    );

    let mut tampered = fresh_report(&h).await;
    let mut changed: ReportClaims = tampered.verify(&device_key().verifying_key()).unwrap();
    changed.facts.firewall = daypass_posture::facts::Observed::unknown("edited");
    tampered.payload =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&changed).unwrap());
    let err = h
        .broker
        .receive_posture(&ana, "ana-desk", &tampered)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");

    let nonce = h.broker.posture_nonce(&ana, "ana-desk").await.unwrap();
    let stranger = signed_report::sign(&claims(&nonce.nonce), &SigningKey::from_bytes(&[99u8; 32]));
    assert!(matches!(
        h.broker.receive_posture(&ana, "ana-desk", &stranger).await,
        Err(ServiceError::Forbidden(_))
    ));

    let late = fresh_report(&h).await;
    h.clock.advance(time::Duration::minutes(5));
    let err = h
        .broker
        .receive_posture(&ana, "ana-desk", &late)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");

    let rejected = h
        .actions()
        .await
        .iter()
        .filter(|a| *a == "posture.rejected")
        .count();
    assert_eq!(rejected, 4, "every refused report is on record");
}

async fn devices_without_a_report_key_or_of_someone_else_are_refused(db: Db) {
    let h = broker(db, false).await;
    let ana = h.person("ana").await;
    let err = h
        .broker
        .posture_nonce(&h.person("ben").await, "ana-desk")
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(_)), "{err}");
    let nonce = h.broker.posture_nonce(&ana, "ana-laptop").await.unwrap();
    let mut c = claims(&nonce.nonce);
    c.device = "ana-laptop".into();
    let err = h
        .broker
        .receive_posture(&ana, "ana-laptop", &signed_report::sign(&c, &device_key()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict(Conflict::NoReportKey(ref d)) if d == "ana-laptop"),
        "{err}"
    );
}

async fn history_is_for_the_owner_and_staff(db: Db) {
    let h = broker(db, true).await;
    let ana = h.person("ana").await;
    for _ in 0..2 {
        let report = fresh_report(&h).await;
        h.broker.receive_posture(&ana, "ana-desk", &report).await.unwrap();
        h.clock.advance(time::Duration::minutes(1));
    }
    let own = h
        .broker
        .device_posture(&Caller::Person(ana), "ana-desk", 10)
        .await
        .unwrap();
    assert_eq!(own.len(), 2);
    assert!(own[0].received_at > own[1].received_at, "newest first");
    let auditor = h.person("aud").await;
    assert_eq!(
        h.broker
            .device_posture(&Caller::Person(auditor), "ana-desk", 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let other = h
        .broker
        .device_posture(&Caller::Person(h.person("ben").await), "ana-desk", 10)
        .await;
    assert!(other.is_ok(), "approvers read posture to decide");
    h.broker
        .put_person(
            "test",
            daypass_broker_core::PersonSpec {
                id: "zoe".into(),
                name: "Zoe".into(),
                email: "zoe@example.com".into(),
                company: "Other Co".into(),
                roles: [daypass_broker_core::domain::directory::Role::Contractor].into(),
                groups: Default::default(),
                contract_end: None,
                ticket_identities: Default::default(),
            },
        )
        .await
        .unwrap();
    let stranger = h
        .broker
        .device_posture(&Caller::Person(h.person("zoe").await), "ana-desk", 10)
        .await
        .unwrap_err();
    assert!(matches!(stranger, ServiceError::NotFound(_)));
}

async fn tagged_resources_need_a_fresh_compliant_report(db: Db) {
    let h = broker_requiring(db, true, &["db:staging"]).await;
    let ana = h.person("ana").await;
    // The app shows which checks gate which resource.
    let entitled = h.broker.entitlements_of(&ana).await.unwrap();
    let gates = |name: &str| {
        entitled
            .iter()
            .find(|e| e.resource == name)
            .map(|e| e.posture_checks.clone())
            .unwrap()
    };
    assert!(
        gates("db").contains(&"disk encryption".to_string()),
        "{:?}",
        gates("db")
    );
    assert!(gates("prod").is_empty(), "{:?}", gates("prod"));
    let none = posture_refusal(&h).await;
    assert!(none.contains("there is none"), "{none}");
    assert_eq!(
        h.actions().await.last().map(String::as_str),
        Some("request.refused")
    );

    let report = report_now(&h).await;
    let judged = granted_on(&h, "OPS-1").await;
    assert_eq!((judged.id, judged.report.compliant), (report.id, true));

    h.clock.advance(time::Duration::minutes(16));
    let stale = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap_err();
    assert!(stale.to_string().contains("older than 15 minutes"), "{stale}");

    // Resources without a listed tag are not gated.
    let prod = h
        .broker
        .create_request(&ana, ask_from_desk("prod", "OPS-2"))
        .await
        .unwrap();
    assert_eq!(prod.status, daypass_proto::api::RequestStatus::Pending);
}

/// Why ana's request for `db` from her desktop was refused for its posture.
async fn posture_refusal(h: &Harness) -> String {
    let ana = h.person("ana").await;
    match h.broker.create_request(&ana, ask_from_desk("db", "OPS-1")).await {
        Err(ServiceError::Posture { reason }) => reason,
        other => panic!("not refused for its posture: {other:?}"),
    }
}

/// Ana's request for `db` from her desktop, granted: the posture report its grant rested on.
async fn granted_on(h: &Harness, ticket: &str) -> daypass_broker_core::PostureRecord {
    let ana = h.person("ana").await;
    let granted = h
        .broker
        .create_request(&ana, ask_from_desk("db", ticket))
        .await
        .unwrap();
    let evidence = h
        .broker
        .evidence_unchecked(granted.grant_id.unwrap())
        .await
        .unwrap();
    evidence
        .posture_at_decision
        .expect("the report the grant rested on")
}

/// A broker keeps the report it decoded for its device's next decision: a newer report, failing or
/// passing, is what the decision after it is judged on.
async fn each_decision_is_judged_on_the_device_s_latest_report(db: Db) {
    let h = broker_requiring(db, true, &["db:staging"]).await;
    let first = report_now(&h).await;
    // The second decision's report is the copy the first one kept.
    for ticket in ["OPS-1", "OPS-2"] {
        assert_eq!(granted_on(&h, ticket).await.id, first.id, "{ticket}");
    }
    h.clock.advance(time::Duration::minutes(1));
    report_now_with(&h, crate::verification::firewall_off).await;
    let refused = posture_refusal(&h).await;
    assert!(refused.contains("firewall"), "{refused}");
    h.clock.advance(time::Duration::minutes(1));
    let fixed = report_now(&h).await;
    assert_eq!(granted_on(&h, "OPS-2").await.id, fixed.id);
}

async fn a_failing_report_names_what_to_fix(db: Db) {
    // No baseline: the patch checks cannot be judged, so the report does not comply.
    let h = broker_requiring(db, false, &["db:staging"]).await;
    let ana = h.person("ana").await;
    report_now(&h).await;
    let err = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap_err();
    let m = err.to_string();
    assert!(
        m.contains("does not meet the security requirements") && m.contains("operating system updates"),
        "{m}"
    );
}

async fn helpdesk_lists_devices_failing_a_check(db: Db) {
    let h = broker(db, false).await;
    report_now(&h).await;
    h.clock.advance(time::Duration::minutes(1));
    report_now(&h).await;
    let staff = Caller::Person(h.person("aud").await);
    let patch = h
        .broker
        .devices_failing(&staff, daypass_posture::policy::Check::OsPatch)
        .await
        .unwrap();
    assert_eq!(patch.len(), 1, "one entry per device, from its latest report");
    assert_eq!(patch[0].device, "ana-desk");
    assert_eq!(
        patch[0].received_at,
        crate::support::T0 + time::Duration::minutes(1)
    );
    let disk = h
        .broker
        .devices_failing(&staff, daypass_posture::policy::Check::DiskEncryption)
        .await
        .unwrap();
    assert!(disk.is_empty(), "the fixture's disk is encrypted");
    let contractor = Caller::Person(h.person("ana").await);
    assert!(matches!(
        h.broker
            .devices_failing(&contractor, daypass_posture::policy::Check::OsPatch)
            .await,
        Err(ServiceError::Forbidden(_))
    ));
}

async fn production_can_demand_more_than_the_organisation(db: Db) {
    // The fixture locks after 300 s: fine for the organisation (900 s), too slow for env:prod (120 s).
    let strict = daypass_posture::policy::Policy {
        max_idle_seconds: 120,
        ..Default::default()
    };
    let h = broker_with(db, true, |s| {
        s.tag_policies.insert("env:prod".into(), strict);
    })
    .await;
    let ana = h.person("ana").await;
    report_now(&h).await;
    let err = h
        .broker
        .create_request(&ana, ask_from_desk("prod", "OPS-2"))
        .await
        .unwrap_err();
    let m = err.to_string();
    assert!(matches!(err, ServiceError::Posture { .. }), "{m}");
    assert!(m.contains("screen lock (for the policy for env:prod)"), "{m}");
    assert!(
        !m.contains("organisation"),
        "the organisation's policy passes: {m}"
    );
    // Staging is not tagged env:prod: the same device may ask for it.
    let db_request = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    assert!(db_request.grant_id.is_some());
}

async fn auto_approval_needs_a_fresh_compliant_report(db: Db) {
    let h = broker_with(db, true, |s| s.auto_approve_requires_report = true).await;
    let ana = h.person("ana").await;
    // No report yet: the low-risk request waits for approvers, who are told why.
    let waiting = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    assert_eq!(waiting.status, daypass_proto::api::RequestStatus::Pending);
    let mut why = String::new();
    h.broker
        .export_audit(|e| {
            if e.action == "request.awaiting_approval" {
                why = e.details["why"].to_string();
            }
            Ok(())
        })
        .await
        .unwrap();
    assert!(
        why.contains("auto-approval needs a fresh, compliant posture report"),
        "{why}"
    );

    let record = report_now(&h).await;
    let granted = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    let grant = granted
        .grant_id
        .expect("auto-approved with a fresh compliant report");
    // The grant's evidence names the report the decision rested on.
    let bundle = h.broker.evidence_unchecked(grant).await.unwrap();
    assert!(
        serde_json::to_string(&bundle)
            .unwrap()
            .contains(&record.id.to_string()),
        "the evidence bundle carries the posture report id"
    );

    // Stale again: back to approvers.
    h.clock.advance(time::Duration::minutes(16));
    let stale = h
        .broker
        .create_request(&ana, ask_from_desk("db", "OPS-1"))
        .await
        .unwrap();
    assert_eq!(stale.status, daypass_proto::api::RequestStatus::Pending);
}

crate::on_both_databases!(
    production_can_demand_more_than_the_organisation,
    auto_approval_needs_a_fresh_compliant_report,
    helpdesk_lists_devices_failing_a_check,
    tagged_resources_need_a_fresh_compliant_report,
    each_decision_is_judged_on_the_device_s_latest_report,
    a_failing_report_names_what_to_fix,
    broker_evaluates_the_facts_itself,
    replayed_tampered_or_foreign_reports_are_refused_and_recorded,
    devices_without_a_report_key_or_of_someone_else_are_refused,
    history_is_for_the_owner_and_staff,
);
