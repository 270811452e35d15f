//! Access scenarios through the service layer, on SQLite and PostgreSQL, with time moved by hand.

use crate::support::{ask, Db, Harness, T0};
use daypass_broker_core::domain::policy::ApprovalRefusal;
use daypass_broker_core::domain::request::RequestRefusal;
use daypass_broker_core::domain::ticket::TicketProblem;
use daypass_broker_core::{Conflict, InvalidInput, Missing, ServiceError};
use daypass_proto::api::{GrantStatus, RequestStatus, StateSeal};
use std::time::Duration as StdDuration;
use time::Duration;

async fn auto_approved_grant_is_signed_and_expires_at_the_second(db: Db) {
    let h = Harness::new(db).await;
    let view = h.request("db", "OPS-1", "1h").await;
    assert_eq!(view.status, RequestStatus::Granted);
    let gid = view.grant_id.expect("auto-approved request has a grant");

    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert_eq!(state.grants.len(), 1);
    let grant = state.grants[0]
        .verify(&h.key.verifying_key())
        .expect("grant signed by the broker key");
    assert_eq!((grant.id, grant.not_after), (gid, T0 + Duration::hours(1)));
    assert_eq!(grant.device.tunnel_address, "100.96.0.2/32");
    assert_eq!(grant.resources[0].address, "10.20.0.10/32");

    h.clock.advance(Duration::hours(1) - Duration::seconds(1));
    assert!(h.broker.sweep().await.unwrap().grants_expired.is_empty());
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.broker.sweep().await.unwrap().grants_expired, vec![gid]);
    let after = h.broker.gateway_state("gw1").await.unwrap();
    assert!(after.grants.is_empty());
    assert!(
        after.revision > state.revision,
        "expiry bumps the gateway revision"
    );
    let actions = h.actions().await;
    assert!(actions.ends_with(&["grant.expired".to_string()]), "{actions:?}");
    assert!(
        h.broker.sweep().await.unwrap().is_empty(),
        "expiry is recorded once"
    );
}

async fn prod_needs_two_distinct_approvers_never_the_requester(db: Db) {
    let h = Harness::new(db).await;
    let ana = h.person("ana").await;
    let view = h.request("prod", "OPS-2", "1h").await;
    assert_eq!(
        (view.status, view.approvals_required),
        (RequestStatus::Pending, 2)
    );
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());

    // The requester, even made an approver in the right group, is refused.
    let mut ana_approver = ana.clone();
    ana_approver
        .roles
        .insert(daypass_broker_core::domain::directory::Role::Approver);
    ana_approver.groups.insert("approvers".into());
    let own = h
        .broker
        .approve(&ana_approver, view.id, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(own, ServiceError::Approval(ApprovalRefusal::OwnRequest)),
        "{own}"
    );
    let outsider = h
        .broker
        .approve(&h.person("dan").await, view.id, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            outsider,
            ServiceError::Approval(ApprovalRefusal::NotInGroup { .. })
        ),
        "{outsider}"
    );

    let ben = h.person("ben").await;
    assert_eq!(
        h.broker.approve(&ben, view.id, None, None).await.unwrap().status,
        RequestStatus::Pending
    );
    assert!(h
        .broker
        .approve(&ben, view.id, None, None)
        .await
        .unwrap_err()
        .to_string()
        .contains("already approved"));
    let done = h
        .broker
        .approve(&h.person("cy").await, view.id, Some("ok".into()), None)
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Granted);
    let gv = h
        .broker
        .grant_view(&daypass_broker_core::Caller::Person(ana), done.grant_id.unwrap())
        .await
        .unwrap();
    assert_eq!(gv.grant.approvals, vec!["ben".to_string(), "cy".to_string()]);
}

async fn pending_request_expires_after_an_hour(db: Db) {
    let h = Harness::new(db).await;
    let view = h.request("prod", "OPS-2", "1h").await;
    h.clock.advance(Duration::hours(1));
    assert_eq!(h.broker.sweep().await.unwrap().requests_expired, vec![view.id]);
    let late = h
        .broker
        .approve(&h.person("ben").await, view.id, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(late, ServiceError::Request(RequestRefusal::Expired(id, _)) if id == view.id),
        "{late}"
    );
}

async fn closing_the_ticket_ends_its_grants_at_once(db: Db) {
    let h = Harness::new(db).await;
    let ana = h.person("ana").await;
    let g1 = h.granted("db", "OPS-1", "2h").await;
    let g2 = h.granted("db", "OPS-2", "2h").await;
    let mut t = daypass_broker_core::domain::ticket::Ticket {
        key: "OPS-1".into(),
        summary: "work".into(),
        status: "Done".into(),
        done: true,
        assignee: Some("ana".into()),
        url: None,
    };
    h.broker.put_builtin_ticket("test", t.clone()).await.unwrap();
    let live: Vec<_> = h
        .broker
        .gateway_state("gw1")
        .await
        .unwrap()
        .grants
        .iter()
        .map(|s| s.verify(&h.key.verifying_key()).unwrap().id)
        .collect();
    assert_eq!(live, vec![g2], "only the grant on the still-open ticket remains");
    let caller = daypass_broker_core::Caller::Person(ana.clone());
    let ended = h.broker.grant_view(&caller, g1).await.unwrap();
    assert_eq!(ended.status, GrantStatus::Revoked);
    assert!(ended.end_reason.unwrap().starts_with("ticket closed"));
    // A closed ticket also refuses new requests, and the refusal is on record.
    let before = h.count("requests").await;
    let refused = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ServiceError::Ticket(TicketProblem::Closed { key, status }) if key == "OPS-1" && status == "Done"),
        "{refused}"
    );
    assert_eq!(h.count("requests").await, before);
    assert_eq!(
        h.actions().await.last().map(String::as_str),
        Some("request.refused")
    );
    // Reassigning the other ticket ends its grant too (the requester must stay the assignee).
    t.key = "OPS-2".into();
    t.status = "In Progress".into();
    t.done = false;
    t.assignee = Some("ben".into());
    h.broker.put_builtin_ticket("test", t).await.unwrap();
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

/// Ana's contract now ends at `end` (the rest of her record as it is).
async fn set_anas_contract_end(h: &Harness, end: time::OffsetDateTime) {
    let ana = h.person("ana").await;
    h.broker
        .put_person(
            "test",
            daypass_broker_core::PersonSpec {
                id: ana.id.clone(),
                name: ana.name.clone(),
                email: ana.email.clone(),
                company: ana.company.clone(),
                roles: ana.roles.clone(),
                groups: ana.groups.clone(),
                contract_end: Some(end),
                ticket_identities: Default::default(),
            },
        )
        .await
        .unwrap();
}

async fn contract_end_and_disable_end_access(db: Db) {
    let h = Harness::new(db).await;
    // Contract ends in 30 minutes: a 2 h grant is cut to the contract end, and the sweep ends it there.
    set_anas_contract_end(&h, T0 + Duration::minutes(30)).await;
    let ana = h.person("ana").await;
    let gid = h.granted("db", "OPS-1", "2h").await;
    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert_eq!(
        state.grants[0].verify(&h.key.verifying_key()).unwrap().not_after,
        T0 + Duration::minutes(30)
    );
    h.clock.advance(Duration::minutes(30));
    assert_eq!(h.broker.sweep().await.unwrap().grants_expired, vec![gid]);
    let refused = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::Forbidden(_)), "{refused}");

    // Disabling ends live grants in the same change.
    let h = Harness::new(db).await;
    h.request("db", "OPS-1", "2h").await;
    h.broker
        .set_person_disabled("test", "ana", true, "contract terminated")
        .await
        .unwrap();
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
    assert!(h.actions().await.iter().any(|a| a == "grant.ended"));
}

/// A contract that ends after a grant was issued (so the grant was not cut to it): the sweep ends the
/// grant at the contract's end, for that reason.
async fn a_contract_shortened_after_a_grant_ends_it_at_the_contracts_end(db: Db) {
    let h = Harness::new(db).await;
    let gid = h.granted("db", "OPS-1", "2h").await;
    set_anas_contract_end(&h, T0 + Duration::minutes(10)).await;
    h.clock.advance(Duration::minutes(10) - Duration::seconds(1));
    assert!(
        h.broker.sweep().await.unwrap().is_empty(),
        "a second before the end"
    );
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);
    h.clock.advance(Duration::seconds(1));
    let swept = h.broker.sweep().await.unwrap();
    assert_eq!(swept.grants_ended_by_account, vec![gid]);
    assert!(swept.grants_expired.is_empty());
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

/// A contract end written before people kept their account's end in a column of their own:
/// opening the database fills it in, so the sweep (which asks the database for ended accounts)
/// still ends the grant at the contract's end.
async fn a_contract_end_from_an_older_database_still_ends_the_grant(db: Db) {
    let h = Harness::new(db).await;
    let gid = h.granted("db", "OPS-1", "2h").await;
    set_anas_contract_end(&h, T0 + Duration::minutes(10)).await;
    h.upgrade_from_older(&[
        "DROP INDEX people_ends_at",
        "ALTER TABLE people DROP COLUMN ends_at",
        "DELETE FROM meta WHERE key = 'account_ends_filled'",
    ])
    .await;
    h.clock.advance(Duration::minutes(10));
    assert_eq!(h.broker.sweep().await.unwrap().grants_ended_by_account, vec![gid]);
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

async fn a_database_from_before_the_directory_count_gets_it_and_still_refuses_a_revoked_device(db: Db) {
    let h = Harness::new(db).await;
    h.upgrade_from_older(&["ALTER TABLE audit_head DROP COLUMN directory_revision"])
        .await;
    h.granted("db", "OPS-1", "1h").await;
    h.broker
        .revoke_device("test", "ana-laptop", "laptop stolen")
        .await
        .unwrap();
    let refused = h.refused("db", "OPS-2", "1h").await;
    assert!(
        matches!(&refused, ServiceError::NotFound(Missing::NotYourDevice(d)) if d == "ana-laptop"),
        "{refused}"
    );
}

async fn malformed_requests_write_nothing(db: Db) {
    let h = Harness::new(db).await;
    let ana = h.person("ana").await;
    let head = h.audit_head().await;
    // The duration's own wording (what is wrong with it) is the feature: it is checked too.
    let cases = [
        (ask("db", "OPS 1", "1h"), "ticket key"),
        (ask("db", "OPS-1", "forever"), "duration"),
        (ask("db", "OPS-1", "0m"), "zero"),
        (
            daypass_proto::api::CreateAccessRequest {
                reason: "  ".into(),
                ..ask("db", "OPS-1", "1h")
            },
            "reason",
        ),
    ];
    for (body, expected) in cases {
        let err = h.broker.create_request(&ana, body).await.unwrap_err();
        let ServiceError::Invalid(why) = &err else {
            panic!("{err} should be invalid input")
        };
        match expected {
            "ticket key" => assert!(matches!(why, InvalidInput::TicketKey(_)), "{err}"),
            "reason" => assert!(matches!(why, InvalidInput::Reason(_)), "{err}"),
            _ => assert!(
                matches!(why, InvalidInput::Duration(m) if m.contains(expected)),
                "{err} should be a {expected} duration"
            ),
        }
    }
    // Someone else's device is well-formed input naming nothing of the requester's.
    let foreign_device = daypass_proto::api::CreateAccessRequest {
        device: "bens-laptop".into(),
        ..ask("db", "OPS-1", "1h")
    };
    let err = h.broker.create_request(&ana, foreign_device).await.unwrap_err();
    assert!(
        matches!(&err, ServiceError::NotFound(Missing::NotYourDevice(d)) if d == "bens-laptop"),
        "{err}"
    );
    assert_eq!(h.audit_head().await, head, "nothing audited");
    assert_eq!(h.count("requests").await, 0);
    assert_eq!(h.count("grants").await, 0);
}

async fn not_entitled_names_the_missing_entitlement(db: Db) {
    let h = Harness::new(db).await;
    let ben = h.person("ben").await;
    h.broker
        .add_device(
            "test",
            daypass_broker_core::DeviceSpec {
                id: "ben-laptop".into(),
                person: "ben".into(),
                name: "l".into(),
                wireguard_public_key: crate::support::OTHER_WG_KEY.into(),
                report_public_key: None,
            },
        )
        .await
        .unwrap();
    let body = daypass_proto::api::CreateAccessRequest {
        device: "ben-laptop".into(),
        ..ask("db", "OPS-1", "1h")
    };
    let err = h.broker.create_request(&ben, body).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("ben has no entitlement for resource \"db\""),
        "{err}"
    );
}

async fn replicas_sharing_a_database_keep_one_intact_chain(db: Db) {
    let h = Harness::new(db).await;
    let other = h.replica().await;
    let ana = h.person("ana").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let b = if i % 2 == 0 {
            h.broker.clone()
        } else {
            other.clone()
        };
        let ana = ana.clone();
        tasks.push(tokio::spawn(async move {
            b.create_request(&ana, ask("db", "OPS-1", "1h")).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, RequestStatus::Granted);
    }
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 20);
    match h.broker.verify_audit().await.unwrap() {
        daypass_broker_core::VerifyOutcome::Intact(s) => assert!(s.entries > 20 * 4),
        broken => panic!("{broken:?}"),
    }
}

/// More changes at once than the pool has connections, each reading on a second connection while
/// it holds the audit head (as some do): they queue before taking a connection, so none waits for
/// a connection until the pool gives up (a stalled one fails with the pool's acquire timeout).
async fn more_changes_at_once_than_pooled_connections_do_not_stall(db: Db) {
    let h = Harness::new(db).await;
    let store = daypass_broker_core::Store::open(&h.url).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let change = store.change().await?;
                let mut read = store.read().await?;
                sqlx::query("SELECT 1").execute(&mut *read).await?;
                drop(read);
                change.commit().await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

/// Passkey ceremonies started at once, more than the pool has connections: each gives back the
/// connection it read with before it waits for the writer's turn to keep the ceremony, so none
/// waits for a connection until the pool gives up.
async fn more_ceremonies_at_once_than_pooled_connections_do_not_stall(db: Db) {
    use daypass_broker_core::domain::directory::Role;
    let h = Harness::new(db).await;
    let mut codes = Vec::new();
    for i in 0..40 {
        let id = format!("new{i}");
        let spec = crate::support::spec(&id, &[Role::Contractor], &[]);
        h.broker.put_person("admin", spec).await.unwrap();
        codes.push(h.broker.invite("admin", &id, Duration::hours(1)).await.unwrap().0);
    }
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let b = h.broker.clone();
            tokio::spawn(async move { b.enroll_start(&code, None).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

async fn revocation_wakes_gateway_subscribers(db: Db) {
    let h = Harness::new(db).await;
    let gid = h.request("db", "OPS-1", "1h").await.grant_id.unwrap();
    let mut wake = h.broker.gateway_changes();
    h.broker
        .revoke(&h.person("ida").await, gid, "done early")
        .await
        .unwrap();
    let name = tokio::time::timeout(StdDuration::from_secs(5), wake.recv())
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(name, "gw1");
    let again = h
        .broker
        .revoke(&h.person("ida").await, gid, "twice")
        .await
        .unwrap_err();
    assert!(matches!(again, ServiceError::Conflict(_)), "{again}");
    let no_reason = h
        .broker
        .revoke(&h.person("ida").await, gid, " ")
        .await
        .unwrap_err();
    assert!(matches!(no_reason, ServiceError::Invalid(_)));
    let not_allowed = h
        .broker
        .revoke(&h.person("ana").await, gid, "x")
        .await
        .unwrap_err();
    assert!(matches!(not_allowed, ServiceError::Forbidden(_)));
}

async fn report_counts_the_week(db: Db) {
    let h = Harness::new(db).await;
    h.request("db", "OPS-1", "1h").await;
    let denied = h.request("prod", "OPS-2", "1h").await;
    h.broker
        .deny(&h.person("ben").await, denied.id, "not this week")
        .await
        .unwrap();
    h.request("prod", "OPS-2", "1h").await;
    h.clock.advance(Duration::hours(2));
    h.broker.sweep().await.unwrap();
    let r = h.broker.report(7).await.unwrap();
    assert_eq!(
        (
            r.grants_issued,
            r.requests_approved,
            r.requests_denied,
            r.requests_expired
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(r.average_grant_seconds, 3600.0);
    assert_eq!(r.just_in_time_share, 1.0);
    assert_eq!(r.grants_per_resource.get("db"), Some(&1));
    assert_eq!(r.active_contractors, 1);
}

/// Time to onboard: from a person's first invite to their first access, for those whose first
/// access came in the window (later grants and re-invites do not count again).
async fn report_measures_time_to_onboard(db: Db) {
    let h = Harness::new(db).await;
    let none = h.broker.report(7).await.unwrap();
    assert_eq!((none.onboarded, none.onboarding_median_seconds), (0, 0.0));
    h.broker.invite("test", "ana", Duration::hours(72)).await.unwrap();
    h.clock.advance(Duration::hours(3));
    h.broker.invite("test", "ana", Duration::hours(72)).await.unwrap();
    h.granted("db", "OPS-1", "1h").await;
    h.clock.advance(Duration::hours(2));
    h.granted("db", "OPS-1", "1h").await;
    let r = h.broker.report(7).await.unwrap();
    assert_eq!(r.onboarded, 1);
    assert_eq!(r.onboarding_median_seconds, 3.0 * 3600.0);
    assert_eq!(r.onboarding_max_seconds, 3.0 * 3600.0);
    h.clock.advance(Duration::days(8));
    let later = h.broker.report(7).await.unwrap();
    assert_eq!(later.onboarded, 0, "her first access was before this week");
}

async fn evidence_tells_the_whole_story(db: Db) {
    let h = Harness::new(db).await;
    let v = h.request("prod", "OPS-2", "1h").await;
    h.broker
        .approve(&h.person("ben").await, v.id, None, None)
        .await
        .unwrap();
    let gid = h
        .broker
        .approve(&h.person("cy").await, v.id, None, None)
        .await
        .unwrap()
        .grant_id
        .unwrap();
    h.broker
        .revoke(&h.person("ida").await, gid, "work finished")
        .await
        .unwrap();
    let e = h.broker.evidence_unchecked(gid).await.unwrap();
    let actions: Vec<_> = e.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "request.created",
            "ticket.checked",
            "request.awaiting_approval",
            "request.approved",
            "request.approved",
            "ticket.checked",
            "grant.issued",
            "grant.ended"
        ]
    );
    assert_eq!(e.ticket_at_decision.unwrap().key, "OPS-2");
    assert_eq!(e.grant.end_reason.as_deref(), Some("revoked: work finished"));
}

async fn ticket_closed_before_the_last_approval_means_no_grant(db: Db) {
    let h = Harness::new(db).await;
    let view = h.request("prod", "OPS-2", "1h").await;
    h.broker
        .approve(&h.person("ben").await, view.id, None, None)
        .await
        .unwrap();
    let done = daypass_broker_core::domain::ticket::Ticket {
        key: "OPS-2".into(),
        summary: "work".into(),
        status: "Done".into(),
        done: true,
        assignee: Some("ana".into()),
        url: None,
    };
    h.broker.put_builtin_ticket("test", done).await.unwrap();
    let last = h
        .broker
        .approve(&h.person("cy").await, view.id, None, None)
        .await
        .unwrap();
    assert_eq!(last.status, RequestStatus::Denied);
    assert_eq!(
        last.denial_reason.as_deref(),
        Some("approved, but not granted: ticket OPS-2 is Done: access needs an open ticket")
    );
    assert_eq!(h.count("grants").await, 0);
}

async fn revoked_device_loses_its_grants_and_gets_no_more(db: Db) {
    let h = Harness::new(db).await;
    let gid = h.granted("db", "OPS-1", "1h").await;
    let pending = h.request("prod", "OPS-2", "1h").await;
    let no_reason = h
        .broker
        .revoke_device("test", "ana-laptop", " ")
        .await
        .unwrap_err();
    assert!(matches!(no_reason, ServiceError::Invalid(_)));
    h.broker
        .revoke_device("test", "ana-laptop", "laptop stolen")
        .await
        .unwrap();
    let caller = daypass_broker_core::Caller::Person(h.person("ana").await);
    let ended = h.broker.grant_view(&caller, gid).await.unwrap();
    assert_eq!(ended.status, GrantStatus::Revoked);
    assert!(ended
        .end_reason
        .unwrap()
        .contains("device ana-laptop revoked: laptop stolen"));
    let refused = h.refused("db", "OPS-1", "1h").await;
    assert!(
        matches!(&refused, ServiceError::NotFound(Missing::NotYourDevice(d)) if d == "ana-laptop"),
        "{refused}"
    );
    // A request that was waiting for approval is not granted to the revoked device.
    h.broker
        .approve(&h.person("ben").await, pending.id, None, None)
        .await
        .unwrap();
    let last = h
        .broker
        .approve(&h.person("cy").await, pending.id, None, None)
        .await
        .unwrap();
    assert_eq!(last.status, RequestStatus::Denied);
    assert!(last
        .denial_reason
        .unwrap()
        .contains("device ana-laptop was revoked"));
}

/// A gateway's report of a device connecting lands in the grant's evidence; a report about another
/// gateway's grant, or at a time outside the grant, is refused and nothing of it is kept.
async fn connects_reach_the_evidence_only_from_the_grants_own_gateway(db: Db) {
    use daypass_proto::api::GatewayConnect;
    let h = Harness::new(db).await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let at = T0 + Duration::seconds(5);
    h.clock.advance(Duration::seconds(10));
    let foreign = h
        .broker
        .record_connects(
            "gw-other",
            &[GatewayConnect {
                grant,
                at,
                endpoint: None,
            }],
        )
        .await
        .unwrap_err();
    assert!(matches!(foreign, ServiceError::Forbidden(_)), "{foreign}");
    let before = GatewayConnect {
        grant,
        at: T0 - Duration::hours(1),
        endpoint: None,
    };
    let fine = GatewayConnect {
        grant,
        at,
        endpoint: None,
    };
    let refused = h.broker.record_connects("gw1", &[fine.clone(), before]).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(_))), "{refused:?}");
    let connected = |e: &daypass_broker_core::domain::audit::AuditEntry| e.action == "grant.connected";
    let evidence = h.broker.evidence_unchecked(grant).await.unwrap();
    assert!(
        !evidence.audit.iter().any(connected),
        "nothing of a refused batch is kept"
    );
    assert_eq!(h.broker.record_connects("gw1", &[fine]).await.unwrap(), 1);
    let evidence = h.broker.evidence_unchecked(grant).await.unwrap();
    let entry = evidence.audit.iter().find(|e| connected(e)).expect("the connect");
    assert_eq!(entry.actor, "gateway:gw1");
    assert_eq!(entry.details["at"], at.unix_timestamp());
}

async fn a_wireguard_key_belongs_to_one_live_device(db: Db) {
    let h = Harness::new(db).await;
    let twin = |id: &str| daypass_broker_core::DeviceSpec {
        id: id.into(),
        person: "ben".into(),
        name: "twin".into(),
        wireguard_public_key: format!(" {} ", crate::support::WG_KEY),
        report_public_key: None,
    };
    let refused = h.broker.add_device("test", twin("ben-laptop")).await.unwrap_err();
    assert!(
        matches!(&refused, ServiceError::Conflict(Conflict::WireguardKeyInUse(d)) if d == "ana-laptop"),
        "{refused}"
    );
    h.broker
        .revoke_device("test", "ana-laptop", "replaced")
        .await
        .unwrap();
    h.broker
        .add_device("test", twin("ben-laptop"))
        .await
        .expect("a revoked device's key is free again");
}

/// A grant whose device was revoked (or whose account ended) without the grant being ended — a
/// write that raced the revocation — is never handed to the gateway.
async fn the_gateway_is_never_told_to_admit_a_revoked_device(db: Db) {
    let h = Harness::new(db).await;
    h.granted("db", "OPS-1", "1h").await;
    assert_eq!(h.broker.gateway_state("gw1").await.unwrap().grants.len(), 1);
    let mut laptop = h.broker.devices_of("ana").await.unwrap().remove(0);
    laptop.revoked = true;
    let data = serde_json::to_string(&laptop).unwrap().replace('\'', "''");
    h.exec(&format!(
        "UPDATE devices SET data = '{data}' WHERE id = 'ana-laptop'"
    ))
    .await;
    assert!(h.broker.gateway_state("gw1").await.unwrap().grants.is_empty());
}

/// The state as a whole is signed: its gateway, epoch and revision, when, and which grants.
async fn gateway_states_are_sealed_whole(db: Db) {
    let h = Harness::new(db).await;
    let gid = h.granted("db", "OPS-1", "1h").await;
    let state = h.broker.gateway_state("gw1").await.unwrap();
    let seal = state.seal.verify(&h.key.verifying_key()).unwrap();
    assert_eq!(
        (
            seal.gateway.as_str(),
            seal.epoch,
            seal.revision,
            seal.issued_at,
            seal.grants
        ),
        ("gw1", 0, state.revision, h.broker.now(), vec![gid])
    );
    h.broker
        .revoke(&h.person("ida").await, gid, "done")
        .await
        .unwrap();
    let after = h.broker.gateway_state("gw1").await.unwrap();
    let seal = after.seal.verify(&h.key.verifying_key()).unwrap();
    assert!(seal.revision > state.revision && seal.grants.is_empty());
}

/// A person may have ten requests waiting at once; the eleventh is refused until one is decided or lapses.
async fn waiting_requests_are_capped_per_person(db: Db) {
    let h = Harness::new(db).await;
    let ana = h.person("ana").await;
    for _ in 0..10 {
        h.request("prod", "OPS-2", "1h").await;
    }
    let refused = h
        .broker
        .create_request(&ana, ask("prod", "OPS-2", "1h"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Conflict(Conflict::TooManyWaiting(10))),
        "{refused}"
    );
    let granted = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap();
    assert_eq!(
        granted.status,
        RequestStatus::Granted,
        "auto-approved requests never wait"
    );
    h.clock.advance(Duration::hours(2));
    h.broker
        .create_request(&ana, ask("prod", "OPS-2", "1h"))
        .await
        .unwrap();
}

/// What a gateway stream sends after its first whole state: per revision, the grants added and
/// ended, sealed as the state they lead to; a stream whose revision the log no longer reaches gets
/// the whole state again.
async fn gateway_deltas_lead_to_the_whole_state(db: Db) {
    use daypass_broker_core::{StreamHeld, StreamNext};
    let h = Harness::new(db).await;
    let (first, mut held) = h.broker.gateway_state_held("gw1").await.unwrap();
    assert!(first.grants.is_empty());
    assert!(matches!(
        h.broker.gateway_next("gw1", &mut held).await.unwrap(),
        StreamNext::Unchanged
    ));
    let same_as_whole = |held: &StreamHeld, seal: &daypass_proto::Signed<StateSeal>| {
        let seal = seal.verify(&h.broker.verifying_key()).unwrap();
        assert_eq!(seal.revision, held.revision);
        assert_eq!(seal.digest, Some(daypass_proto::api::grants_digest(&held.grants)));
    };

    // ana has a second device: the delta reads each grant's holder with all their devices.
    h.broker
        .add_device(
            "test",
            daypass_broker_core::DeviceSpec {
                id: "ana-desktop".into(),
                person: "ana".into(),
                name: "desktop".into(),
                wireguard_public_key: crate::support::OTHER_WG_KEY.into(),
                report_public_key: None,
            },
        )
        .await
        .unwrap();
    let gid = h.granted("db", "OPS-1", "1h").await;
    let StreamNext::Delta(d) = h.broker.gateway_next("gw1", &mut held).await.unwrap() else {
        panic!("a new grant is a delta")
    };
    assert_eq!(
        (d.base_revision, d.added.len(), d.ended.len()),
        (first.revision, 1, 0)
    );
    assert_eq!(d.added[0].verify(&h.broker.verifying_key()).unwrap().id, gid);
    same_as_whole(&held, &d.seal);
    let whole = h.broker.gateway_state("gw1").await.unwrap();
    assert_eq!(whole.revision, held.revision);
    assert_eq!(
        whole.seal.verify(&h.broker.verifying_key()).unwrap().grants,
        held.grants.iter().copied().collect::<Vec<_>>()
    );

    h.broker
        .revoke(&h.person("ida").await, gid, "done early")
        .await
        .unwrap();
    let StreamNext::Delta(d) = h.broker.gateway_next("gw1", &mut held).await.unwrap() else {
        panic!("a revocation is a delta")
    };
    assert_eq!((d.added.len(), d.ended.clone()), (0, vec![gid]));
    same_as_whole(&held, &d.seal);
    assert!(held.grants.is_empty());

    // A stream left behind for longer than the log keeps: the whole state.
    let behind = held.clone();
    h.granted("db", "OPS-1", "1h").await;
    h.clock.advance(Duration::days(2));
    h.broker.sweep().await.unwrap();
    h.granted("db", "OPS-1", "1h").await;
    let mut late = behind;
    let StreamNext::Full(state) = h.broker.gateway_next("gw1", &mut late).await.unwrap() else {
        panic!("a gap in the log means the whole state")
    };
    assert_eq!((state.grants.len(), late.grants.len()), (1, 1));
    assert_eq!(late.revision, state.revision);
}

/// Leaving a group ends at once the live access only that group's entitlement allowed (waiting
/// requests for it are denied the same way); access the person holds otherwise stays.
async fn leaving_a_group_ends_the_access_only_it_allowed(db: Db) {
    use daypass_broker_core::domain::directory::Role;
    let h = Harness::new(db).await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let waiting_prod = h.request("prod", "OPS-2", "1h").await;
    let ida = daypass_broker_core::Caller::Person(h.person("ida").await);
    // Another change to ana (a new group) ends nothing.
    let spec = |groups: &[&str]| crate::support::spec("ana", &[Role::Contractor], groups);
    h.broker.put_person("test", spec(&["dba", "wiki"])).await.unwrap();
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Active
    );
    h.broker.put_person("scim:okta", spec(&["wiki"])).await.unwrap();
    let ended = h.broker.grant_view(&ida, grant).await.unwrap();
    assert_eq!(ended.status, GrantStatus::Revoked);
    assert!(ended.end_reason.unwrap().contains("no longer in group dba"));
    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert!(state.grants.is_empty(), "the gateway is told to drop it");
    let prod = h.broker.request_view(&ida, waiting_prod.id).await.unwrap();
    assert_eq!(
        prod.status,
        RequestStatus::Pending,
        "ana-prod is hers, not the group's"
    );
    let refused = h.refused("db", "OPS-1", "1h").await;
    assert!(matches!(refused, ServiceError::NotEntitled(_)), "{refused}");
}

/// Each broker keeps a copy of the access matrix: a change made through another broker on the same
/// database is in this broker's very next decision.
async fn a_matrix_change_on_another_broker_is_in_the_next_decision(db: Db) {
    use daypass_broker_core::domain::entitlement::Entitlement;
    let h = Harness::new(db).await;
    let other = h.replica().await;
    h.granted("db", "OPS-1", "1h").await;
    let dba = |policy: &str| Entitlement {
        id: "dba".into(),
        subject: "group:dba".parse().unwrap(),
        selector: "tag:db:staging".parse().unwrap(),
        max_duration_seconds: 8 * 3600,
        policy: policy.into(),
    };
    other.put_entitlement("person:ida", dba("two")).await.unwrap();
    let waiting = h.request("db", "OPS-2", "1h").await;
    assert_eq!(
        (waiting.status, waiting.grant_id),
        (RequestStatus::Pending, None),
        "the group's entitlement now needs two approvals"
    );
    other.remove_entitlement("person:ida", "dba").await.unwrap();
    let refused = h.refused("db", "OPS-1", "2h").await;
    assert!(matches!(refused, ServiceError::NotEntitled(_)), "{refused}");
    other
        .put_entitlement("person:ida", dba("low-risk"))
        .await
        .unwrap();
    h.granted("db", "OPS-1", "2h").await;
}

crate::on_both_databases!(
    leaving_a_group_ends_the_access_only_it_allowed,
    a_matrix_change_on_another_broker_is_in_the_next_decision,
    report_measures_time_to_onboard,
    waiting_requests_are_capped_per_person,
    gateway_deltas_lead_to_the_whole_state,
    gateway_states_are_sealed_whole,
    the_gateway_is_never_told_to_admit_a_revoked_device,
    a_wireguard_key_belongs_to_one_live_device,
    revoked_device_loses_its_grants_and_gets_no_more,
    connects_reach_the_evidence_only_from_the_grants_own_gateway,
    ticket_closed_before_the_last_approval_means_no_grant,
    auto_approved_grant_is_signed_and_expires_at_the_second,
    prod_needs_two_distinct_approvers_never_the_requester,
    pending_request_expires_after_an_hour,
    closing_the_ticket_ends_its_grants_at_once,
    contract_end_and_disable_end_access,
    a_contract_shortened_after_a_grant_ends_it_at_the_contracts_end,
    a_contract_end_from_an_older_database_still_ends_the_grant,
    a_database_from_before_the_directory_count_gets_it_and_still_refuses_a_revoked_device,
    malformed_requests_write_nothing,
    not_entitled_names_the_missing_entitlement,
    replicas_sharing_a_database_keep_one_intact_chain,
    more_changes_at_once_than_pooled_connections_do_not_stall,
    more_ceremonies_at_once_than_pooled_connections_do_not_stall,
    revocation_wakes_gateway_subscribers,
    report_counts_the_week,
    evidence_tells_the_whole_story,
);

/// Reads' connections go back to their pool without a round trip, so a dropped one is found by
/// its next query: when the server ends them all (a restart, an admin's terminate), one read fails
/// with a retryable error and every read after it gets a working connection, not the next dead one.
#[tokio::test]
async fn postgres_reads_recover_at_once_when_the_server_ends_their_connections() {
    use daypass_broker_core::{Store, StoreError};
    async fn read_one(store: &Store) -> Result<i64, StoreError> {
        let mut conn = store.read().await?;
        Ok(sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&mut *conn)
            .await?)
    }
    let h = Harness::new(Db::Postgres).await;
    let store = Store::open(&h.url).await.unwrap();
    // Three connections, used and back in the pool.
    let held = futures::future::join_all((0..3).map(|_| store.read())).await;
    for conn in held {
        let mut conn = conn.unwrap();
        sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
    }
    let mut admin = crate::support::database(&h.url).await;
    let others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let ended: Vec<bool> = sqlx::query_scalar(&format!("SELECT pg_terminate_backend(pid) {others}"))
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert!(ended.len() >= 3, "{ended:?}");
    while sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) {others}"))
        .fetch_one(&mut admin)
        .await
        .unwrap()
        > 0
    {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }

    if let Err(e) = read_one(&store).await {
        assert!(e.is_transient(), "a lost connection is retryable: {e}");
    }
    for _ in 0..5 {
        assert_eq!(read_one(&store).await.expect("a working connection"), 1);
    }
}

/// Brokers sharing PostgreSQL: a revocation made on one wakes the gateway streams held by another.
#[tokio::test]
async fn postgres_revocation_on_one_broker_wakes_gateway_streams_on_another() {
    let h = Harness::new(Db::Postgres).await;
    let other = h.replica().await;
    other.listen_for_other_brokers().await.unwrap();
    let mut wake = other.gateway_changes();
    let gid = h.granted("db", "OPS-1", "1h").await;
    // The grant itself was announced too; wait for the revocation's announcement specifically.
    h.broker
        .revoke(&h.person("ida").await, gid, "incident")
        .await
        .unwrap();
    let revision_after = h.broker.gateway_state("gw1").await.unwrap().revision;
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(5);
    loop {
        let name = tokio::time::timeout_at(deadline, wake.recv())
            .await
            .expect("woken by the other broker")
            .unwrap();
        assert_eq!(name, "gw1");
        if other.gateway_state("gw1").await.unwrap().revision == revision_after {
            break;
        }
    }
    assert!(other.gateway_state("gw1").await.unwrap().grants.is_empty());
}
