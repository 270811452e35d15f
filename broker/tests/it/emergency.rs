//! The emergency stop: every live contractor grant ends at once, what waits is denied, requests are
//! refused until it is lifted, and lifting restores requests, not grants; from the console it takes
//! two admins with fresh passkey confirmations.

use crate::on_both_databases;
use crate::support::{ask, console_admin, spec, Db, Harness};
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::emergency::{StopRefusal, StopScope, StopState, PROPOSAL_LIFETIME};
use daypass_broker_core::{Caller, Forbidden, PersonSpec, ServiceError, VerifyOutcome};
use daypass_proto::api::{GrantStatus, RequestStatus};

fn stopped(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Forbidden(Forbidden::EmergencyStop(_)))
}

async fn add_admin(h: &Harness, id: &str) {
    h.broker
        .put_person("test", spec(id, &[Role::Admin], &[]))
        .await
        .unwrap();
}

async fn an_emergency_stop_ends_contractor_grants_and_refuses_requests_until_lifted(db: Db) {
    let h = Harness::new(db).await;
    let ida = Caller::Person(h.person("ida").await);
    let grant = h.granted("db", "OPS-1", "1h").await;
    let waiting = h.request("prod", "OPS-2", "1h").await;
    assert_eq!(waiting.status, RequestStatus::Pending);
    let revision = h.broker.gateway_state("gw1").await.unwrap().revision;

    let stop = h
        .broker
        .emergency_stop_now("cli:root", StopScope::Everyone, "credential leak at a supplier")
        .await
        .unwrap();
    assert_eq!(stop.grants_ended, 1);
    assert_eq!(stop.state(h.broker.now()), StopState::InForce);

    let ended = h.broker.grant_view(&ida, grant).await.unwrap();
    assert_eq!(ended.status, GrantStatus::Revoked);
    let why = ended.end_reason.unwrap();
    assert!(
        why.contains("emergency stop") && why.contains("credential leak"),
        "{why}"
    );
    let state = h.broker.gateway_state("gw1").await.unwrap();
    assert!(state.grants.is_empty(), "the gateway is told to drop it");
    assert!(state.revision > revision);
    let denied = h.broker.request_view(&ida, waiting.id).await.unwrap();
    assert_eq!(denied.status, RequestStatus::Denied);

    // Refused with what, since when and why; not counted as the person's own refusals.
    let ana = h.person("ana").await;
    let refused = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap_err();
    assert!(stopped(&refused), "{refused}");
    let text = refused.to_string();
    assert!(
        text.contains("every contractor") && text.contains("credential leak") && text.contains("lifts"),
        "{text}"
    );

    // Staff are not contractors: their standing is untouched (ida can still read and act).
    let actions = h.actions().await;
    assert!(actions.iter().any(|a| a == "emergency.stopped"), "{actions:?}");

    let lifted = h
        .broker
        .lift_emergency_stop_as("cli:root", None, "supplier rotated every key")
        .await
        .unwrap();
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0].state(h.broker.now()), StopState::Lifted);
    // Requests again; the old grant stays ended.
    h.granted("db", "OPS-1", "1h").await;
    let old = h.broker.grant_view(&ida, grant).await.unwrap();
    assert_eq!(old.status, GrantStatus::Revoked);
    let again = h
        .broker
        .lift_emergency_stop_as("cli:root", None, "twice")
        .await
        .unwrap_err();
    assert!(matches!(again, ServiceError::NotFound(_)), "{again}");
    assert!(matches!(
        h.broker.verify_audit().await.unwrap(),
        VerifyOutcome::Intact(_)
    ));
}

async fn a_company_stop_leaves_other_companies_alone(db: Db) {
    let h = Harness::new(db).await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let stop = h
        .broker
        .emergency_stop_now(
            "cli:root",
            StopScope::Company("Initech".into()),
            "Initech laptop stolen",
        )
        .await
        .unwrap();
    assert_eq!(stop.grants_ended, 0);
    let ida = Caller::Person(h.person("ida").await);
    assert_eq!(
        h.broker.grant_view(&ida, grant).await.unwrap().status,
        GrantStatus::Active
    );
    h.granted("db", "OPS-1", "1h").await;
    // The company as the directory spells it, in any case.
    h.broker
        .emergency_stop_now(
            "cli:root",
            StopScope::Company("acme contracting".into()),
            "Acme too",
        )
        .await
        .unwrap();
    let ana = h.person("ana").await;
    let refused = h
        .broker
        .create_request(&ana, ask("db", "OPS-1", "1h"))
        .await
        .unwrap_err();
    assert!(stopped(&refused), "{refused}");
}

async fn from_the_console_a_stop_takes_two_admins_with_fresh_passkeys(db: Db) {
    let h = Harness::new(db).await;
    add_admin(&h, "zoe").await;
    let grant = h.granted("db", "OPS-1", "1h").await;
    let now = h.broker.now();
    let ida = console_admin(h.person("ida").await, now, 1);
    let stale_ida = console_admin(h.person("ida").await, now, 60);
    let zoe = console_admin(h.person("zoe").await, now, 1);
    let auditor = console_admin(h.person("aud").await, now, 1);

    let refused = h
        .broker
        .propose_emergency_stop(&stale_ida, StopScope::Everyone, "breach")
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ServiceError::Forbidden(Forbidden::EmergencyNeedsStepUp(_))
        ),
        "{refused}"
    );
    let refused = h
        .broker
        .propose_emergency_stop(&auditor, StopScope::Everyone, "breach")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden(Forbidden::RoleNeeded(_))),
        "{refused}"
    );
    let refused = h
        .broker
        .propose_emergency_stop(&ida, StopScope::Everyone, " ")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Stop(StopRefusal::Reason)),
        "{refused}"
    );

    let proposal = h
        .broker
        .propose_emergency_stop(&ida, StopScope::Everyone, "breach")
        .await
        .unwrap();
    // A proposal alone changes nothing.
    h.granted("db", "OPS-1", "1h").await;
    let own = h
        .broker
        .confirm_emergency_stop(&ida, proposal.id)
        .await
        .unwrap_err();
    assert!(
        matches!(own, ServiceError::Stop(StopRefusal::OwnProposal)),
        "{own}"
    );
    let not_admin = h
        .broker
        .confirm_emergency_stop(&auditor, proposal.id)
        .await
        .unwrap_err();
    assert!(
        matches!(not_admin, ServiceError::Forbidden(Forbidden::RoleNeeded(_))),
        "{not_admin}"
    );

    let stop = h.broker.confirm_emergency_stop(&zoe, proposal.id).await.unwrap();
    assert_eq!(stop.grants_ended, 2);
    assert_eq!(stop.started_by.as_deref(), Some("person:zoe"));
    let viewer = Caller::Person(h.person("ida").await);
    assert_eq!(
        h.broker.grant_view(&viewer, grant).await.unwrap().status,
        GrantStatus::Revoked
    );
    let twice = h
        .broker
        .confirm_emergency_stop(&zoe, proposal.id)
        .await
        .unwrap_err();
    assert!(
        matches!(twice, ServiceError::Stop(StopRefusal::NotProposed("in_force"))),
        "{twice}"
    );
    // Auditors see the stops; lifting needs a fresh confirmation too.
    assert_eq!(h.broker.emergency_stops(&auditor).await.unwrap().len(), 1);
    let refused = h
        .broker
        .lift_emergency_stop(&stale_ida, Some(stop.id), "contained")
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ServiceError::Forbidden(Forbidden::EmergencyNeedsStepUp(_))
        ),
        "{refused}"
    );
    h.broker
        .lift_emergency_stop(&ida, Some(stop.id), "contained")
        .await
        .unwrap();

    // A proposal nobody confirms in time lapses.
    let late = h
        .broker
        .propose_emergency_stop(&ida, StopScope::Everyone, "maybe")
        .await
        .unwrap();
    h.clock.advance(PROPOSAL_LIFETIME);
    let zoe = console_admin(h.person("zoe").await, h.broker.now(), 1);
    let lapsed = h.broker.confirm_emergency_stop(&zoe, late.id).await.unwrap_err();
    assert!(
        matches!(lapsed, ServiceError::Stop(StopRefusal::NotProposed("lapsed"))),
        "{lapsed}"
    );
    h.granted("db", "OPS-1", "1h").await;
    let actions = h.actions().await;
    for action in ["emergency.proposed", "emergency.stopped", "emergency.lifted"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

/// A request waiting when its requester comes under a stop (moved into a stopped company) is not
/// granted by its last approval.
async fn an_approval_under_a_stop_grants_nothing(db: Db) {
    let h = Harness::new(db).await;
    let waiting = h.request("prod", "OPS-2", "1h").await;
    h.broker
        .emergency_stop_now("cli:root", StopScope::Company("Initech".into()), "Initech breach")
        .await
        .unwrap();
    let ana = h.person("ana").await;
    let moved = PersonSpec {
        company: "Initech".into(),
        ..spec("ana", &[Role::Contractor], &["dba"])
    };
    h.broker.put_person("test", moved).await.unwrap();
    assert_eq!(h.person("ana").await.company, "Initech", "{ana:?}");
    let (ben, cy) = (h.person("ben").await, h.person("cy").await);
    h.broker.approve(&ben, waiting.id, None, None).await.unwrap();
    let last = h.broker.approve(&cy, waiting.id, None, None).await.unwrap();
    assert_eq!(last.status, RequestStatus::Denied);
    assert!(last.grant_id.is_none());
    let why = last.denial_reason.unwrap();
    assert!(
        why.contains("emergency stop") && why.contains("Initech breach"),
        "{why}"
    );
}

on_both_databases!(
    an_emergency_stop_ends_contractor_grants_and_refuses_requests_until_lifted,
    a_company_stop_leaves_other_companies_alone,
    from_the_console_a_stop_takes_two_admins_with_fresh_passkeys,
    an_approval_under_a_stop_grants_nothing,
);
