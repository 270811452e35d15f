//! Tamper tests: every kind of edit to the stored audit chain is caught and named; and the
//! `audit verify` command's exit code says so.

use crate::support::{Db, Harness};
use daypass_broker_core::VerifyOutcome;
use std::process::Command;

async fn chain_with_entries(db: Db) -> Harness {
    let h = Harness::new(db).await;
    for _ in 0..3 {
        h.request("db", "OPS-1", "1h").await;
    }
    h
}

async fn problem(h: &Harness) -> String {
    match h.broker.verify_audit().await.unwrap() {
        VerifyOutcome::Broken(b) => b.to_string(),
        VerifyOutcome::Intact(s) => panic!("tampering went unnoticed: {s:?}"),
    }
}

async fn intact_chain_verifies_with_checkpoint(db: Db) {
    let h = chain_with_entries(db).await;
    assert!(h.broker.checkpoint_audit().await.unwrap());
    assert!(
        !h.broker.checkpoint_audit().await.unwrap(),
        "no new checkpoint without new entries"
    );
    match h.broker.verify_audit().await.unwrap() {
        VerifyOutcome::Intact(s) => {
            assert_eq!((s.entries, s.checkpoints_verified), (h.audit_head().await, 1))
        }
        broken => panic!("{broken:?}"),
    }
}

async fn edited_entry_is_named(db: Db) {
    let h = chain_with_entries(db).await;
    h.exec("UPDATE audit_log SET details = '{\"reason\":\"nothing to see\"}' WHERE seq = 7")
        .await;
    assert_eq!(
        problem(&h).await,
        "entry 7: contents do not match its hash (the entry was edited)"
    );
}

async fn edited_actor_is_named(db: Db) {
    let h = chain_with_entries(db).await;
    h.exec("UPDATE audit_log SET actor = 'person:ben' WHERE seq = 3")
        .await;
    assert!(problem(&h).await.starts_with("entry 3: contents do not match"));
}

async fn deleted_entry_is_named(db: Db) {
    let h = chain_with_entries(db).await;
    h.exec("DELETE FROM audit_log WHERE seq = 10").await;
    assert!(problem(&h).await.starts_with("entry 10 is missing"));
}

async fn deletion_with_renumbering_breaks_the_link(db: Db) {
    let h = chain_with_entries(db).await;
    h.exec("DELETE FROM audit_log WHERE seq = 10").await;
    h.exec("UPDATE audit_log SET seq = seq - 1 WHERE seq > 10").await;
    assert!(
        problem(&h).await.starts_with("entry 10 does not follow entry 9"),
        "{}",
        problem(&h).await
    );
}

async fn reordered_entries_are_caught(db: Db) {
    let h = chain_with_entries(db).await;
    h.exec("UPDATE audit_log SET seq = -1 WHERE seq = 5").await;
    h.exec("UPDATE audit_log SET seq = 5 WHERE seq = 6").await;
    h.exec("UPDATE audit_log SET seq = 6 WHERE seq = -1").await;
    assert!(problem(&h).await.starts_with("entry 5 does not follow entry 4"));
}

async fn truncation_is_caught_even_with_the_head_rewound(db: Db) {
    let h = chain_with_entries(db).await;
    h.broker.checkpoint_audit().await.unwrap();
    let head = h.audit_head().await;
    h.exec(&format!("DELETE FROM audit_log WHERE seq > {}", head - 3))
        .await;
    assert!(problem(&h).await.contains("truncated"));
    // The attacker also rewinds the head row: the signed checkpoint still remembers the length.
    h.exec(&format!(
        "UPDATE audit_head SET seq = {s}, hash = (SELECT hash FROM audit_log WHERE seq = {s})",
        s = head - 3
    ))
    .await;
    let p = problem(&h).await;
    assert!(
        p.contains("signed checkpoint covers entry") && p.contains("truncated"),
        "{p}"
    );
}

async fn forged_checkpoint_is_caught(db: Db) {
    let h = chain_with_entries(db).await;
    h.broker.checkpoint_audit().await.unwrap();
    h.exec("UPDATE audit_checkpoints SET hash = 'ab'").await;
    assert!(problem(&h).await.contains("signature does not verify"));
}

/// Auditors' filters: exact actor, action and subject, a time window, newest first, a limit.
async fn the_log_is_searched_newest_first(db: Db) {
    use daypass_broker_core::{AuditFilter, Caller};
    let h = chain_with_entries(db).await;
    let auditor = Caller::Person(h.person("aud").await);
    let search = |filter: AuditFilter, limit: i64| {
        let (broker, auditor) = (h.broker.clone(), auditor.clone());
        async move { broker.audit_entries(&auditor, &filter, limit).await.unwrap() }
    };
    let created = AuditFilter {
        action: "request.created".into(),
        ..Default::default()
    };
    let found = search(created.clone(), 100).await;
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|e| e.action == "request.created"));
    assert!(found.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert_eq!(search(created, 2).await.len(), 2);
    let by_subject = AuditFilter {
        subject: found[0].subject.clone(),
        ..Default::default()
    };
    let about = search(by_subject, 100).await;
    assert!(!about.is_empty() && about.iter().all(|e| e.subject == found[0].subject));
    let later = AuditFilter {
        from: Some(found[0].at + time::Duration::seconds(1)),
        ..Default::default()
    };
    assert!(search(later, 100).await.is_empty());
    let nobody = AuditFilter {
        actor: "person:nobody".into(),
        ..Default::default()
    };
    assert!(search(nobody, 100).await.is_empty());
}

/// Whoever can write to the database can cut the tail together with its checkpoints and rewind the
/// head: the database alone then looks intact. A witness outside it still knows better.
async fn truncation_with_the_checkpoints_removed_is_caught_by_a_witness(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let witness_file = dir.path().join("checkpoints.jsonl");
    let mut opts = crate::support::Options::default();
    opts.settings.audit_witness = daypass_broker_core::AuditWitness::new(Some(witness_file.clone()), true);
    let h = Harness::with(db, opts).await;
    for _ in 0..3 {
        h.request("db", "OPS-1", "1h").await;
    }
    assert!(h.broker.checkpoint_audit().await.unwrap());
    let head = h.audit_head().await;
    let cut = head - 3;
    h.exec(&format!("DELETE FROM audit_log WHERE seq > {cut}")).await;
    h.exec("DELETE FROM audit_checkpoints").await;
    h.exec(&format!(
        "UPDATE audit_head SET seq = {cut}, hash = (SELECT hash FROM audit_log WHERE seq = {cut})"
    ))
    .await;
    assert!(
        matches!(h.broker.verify_audit().await.unwrap(), VerifyOutcome::Intact(_)),
        "the database alone cannot tell"
    );
    let witnessed = daypass_broker_core::read_checkpoints(&witness_file).unwrap();
    assert_eq!(witnessed.len(), 1);
    match h.broker.verify_audit_against(witnessed).await.unwrap() {
        VerifyOutcome::Broken(b) => assert!(b.to_string().contains("truncated"), "{b}"),
        VerifyOutcome::Intact(s) => panic!("the witness was ignored: {s:?}"),
    }
}

crate::on_both_databases!(
    truncation_with_the_checkpoints_removed_is_caught_by_a_witness,
    intact_chain_verifies_with_checkpoint,
    the_log_is_searched_newest_first,
    edited_entry_is_named,
    edited_actor_is_named,
    deleted_entry_is_named,
    deletion_with_renumbering_breaks_the_link,
    reordered_entries_are_caught,
    truncation_is_caught_even_with_the_head_rewound,
    forged_checkpoint_is_caught,
);

fn broker_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_daypass-broker"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("DAYPASS_LOG", "warn")
        .output()
        .expect("run daypass-broker")
}

#[tokio::test]
async fn admin_cli_builds_an_organisation_and_audit_verify_exit_code_tracks_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = broker_cli(d, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&[
        "admin",
        "person",
        "add",
        "ana",
        "--name",
        "Ana",
        "--email",
        "ana@acme.test",
        "--role",
        "contractor",
        "--group",
        "dba",
        "--contract-end",
        "2099-01-31",
    ]);
    ok(&[
        "admin",
        "gateway",
        "add",
        "gw1",
        "--endpoint",
        "127.0.0.1:51820",
        "--wireguard-key",
        crate::support::WG_KEY,
    ]);
    ok(&[
        "admin",
        "resource",
        "add",
        "db",
        "--address",
        "10.0.0.5",
        "--ports",
        "5432",
        "--tag",
        "db:staging",
        "--gateway",
        "gw1",
    ]);
    ok(&[
        "admin",
        "policy",
        "set",
        "low",
        "--auto-approve",
        "--unless-tag",
        "env:prod",
        "--approvals",
        "1",
    ]);
    ok(&[
        "admin",
        "entitlement",
        "add",
        "dba",
        "--subject",
        "group:dba",
        "--selector",
        "tag:db:staging",
        "--max",
        "4h",
        "--policy",
        "low",
    ]);
    ok(&[
        "admin",
        "ticket",
        "set",
        "OPS-1",
        "--assignee",
        "ana",
        "--status",
        "In Progress",
    ]);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "admin", "resource", "list"])).unwrap();
    assert_eq!(listed[0]["address"], "10.0.0.5/32");
    let token: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "admin", "token", "issue", "ana"])).unwrap();
    assert!(token["token"].as_str().unwrap().starts_with("dpt_"));

    // Bad input: a clear message, exit code non-zero, nothing written.
    let bad = broker_cli(
        d,
        &[
            "admin",
            "resource",
            "add",
            "x",
            "--address",
            "db.internal",
            "--ports",
            "1",
            "--gateway",
            "gw1",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("give an IP address"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let missing_gw = broker_cli(
        d,
        &[
            "admin",
            "resource",
            "add",
            "x",
            "--address",
            "10.0.0.9",
            "--ports",
            "1",
            "--gateway",
            "nope",
        ],
    );
    assert!(String::from_utf8_lossy(&missing_gw.stderr).contains("no gateway \"nope\""));

    assert!(ok(&["audit", "verify"]).contains("audit log intact"));
    let export = ok(&["audit", "export", "--format", "jsonl"]);
    // person, gateway, resource, policy, entitlement, ticket, token: the two refused commands wrote nothing.
    assert_eq!(export.lines().count(), 7, "{export}");
    let syslog = ok(&["audit", "export", "--format", "syslog"]);
    assert!(syslog.lines().all(|l| l.starts_with("<85>1 ")));

    let mut conn =
        crate::support::database(&format!("sqlite://{}?mode=rwc", d.join("broker.db").display())).await;
    sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
    let broken = broker_cli(d, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stdout).contains("entry 2: contents do not match its hash"));
}

#[test]
fn audit_verify_holds_the_log_to_a_witness_file_and_warns_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("broker.toml");
    let witness = d.join("checkpoints.jsonl");
    std::fs::write(
        &config,
        format!("audit_witness_file = {:?}\n", witness.display().to_string()),
    )
    .unwrap();
    let run = |args: &[&str]| broker_cli(d, args);
    let text = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let add = run(&[
        "admin",
        "person",
        "add",
        "ana",
        "--name",
        "Ana",
        "--email",
        "a@x.test",
        "--role",
        "contractor",
    ]);
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let unwitnessed = run(&["audit", "verify"]);
    assert!(unwitnessed.status.success());
    assert!(
        text(&unwitnessed).contains("warning: no checkpoint is kept outside the database"),
        "{}",
        text(&unwitnessed)
    );
    let config = config.to_str().unwrap();
    let signed = run(&["--config", config, "audit", "checkpoint"]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert_eq!(std::fs::read_to_string(&witness).unwrap().lines().count(), 1);
    let witnessed = run(&[
        "--config",
        config,
        "audit",
        "verify",
        "--checkpoints",
        witness.to_str().unwrap(),
    ]);
    assert!(witnessed.status.success(), "{}", text(&witnessed));
    assert!(!text(&witnessed).contains("warning"), "{}", text(&witnessed));
    let missing = run(&[
        "audit",
        "verify",
        "--checkpoints",
        d.join("nope").to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("reading"),
        "{:?}",
        missing
    );
}
