//! Benchmark: the broker at a company's size on SQLite — 100,000 people, 1,000,000 audit entries,
//! 1,000 live grants — how long opening it takes (as `serve` does at start), one sweep (the
//! every-second one, and the one every 30 s that also looks for silent devices), the weekly report,
//! a gateway's whole state, the console's people list and verifying the whole audit chain.
//! Run: `cargo bench -p daypass-broker --bench size`

#[path = "support/org.rs"]
mod org;

use anyhow::Result;
use daypass_broker_core::VerifyOutcome;
use daypass_proto::api::{CreateAccessRequest, GatewayConnect};
use std::time::{Duration, Instant};

const PEOPLE: usize = 100_000;
const AUDIT: usize = 1_000_000;
const GRANTS: usize = 1_000;
/// Audit entries are added as gateways add them: connects, this many to a report.
const CONNECTS_PER_REPORT: usize = 1_000;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
async fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("size.db");
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let broker = org::open_broker(&path, key.clone()).await?;
    org::seed_org(&broker, &[("gw1", "db", "10.20.0.10")]).await?;

    let t = Instant::now();
    for i in GRANTS..PEOPLE {
        org::person(&broker, &format!("p{i:06}")).await?;
    }
    let mut grants = Vec::with_capacity(GRANTS);
    for i in 0..GRANTS {
        let id = format!("p{i:06}");
        org::contractor(
            &broker,
            &id,
            &format!("T-{i}"),
            &[(format!("{id}-dev"), org::device_key(i))],
        )
        .await?;
        let person = broker.person(&id).await?.expect("just added");
        let view = broker
            .create_request(
                &person,
                CreateAccessRequest {
                    device: format!("{id}-dev"),
                    resources: vec!["db".into()],
                    ticket: format!("T-{i}"),
                    reason: "benchmark".into(),
                    duration: "8h".into(),
                },
            )
            .await?;
        grants.push(view.grant_id.expect("auto-approved"));
    }
    println!(
        "seeded {PEOPLE} people, {GRANTS} of them with a device and a live grant, in {:.0} s",
        secs(t.elapsed())
    );
    let t = Instant::now();
    for report in 0..AUDIT / CONNECTS_PER_REPORT {
        let now = time::OffsetDateTime::now_utc();
        let connects: Vec<GatewayConnect> = (0..CONNECTS_PER_REPORT)
            .map(|c| GatewayConnect {
                grant: grants[(report * CONNECTS_PER_REPORT + c) % GRANTS],
                at: now,
                endpoint: None,
            })
            .collect();
        broker.record_connects("gw1", &connects).await?;
    }
    println!(
        "added {AUDIT} audit entries (gateway connects) in {:.0} s",
        secs(t.elapsed())
    );
    drop(broker);

    // Opening the store and the broker again, as `daypass-broker serve` does at start.
    let t = Instant::now();
    let broker = org::open_broker(&path, key).await?;
    let opened = t.elapsed();
    let t = Instant::now();
    broker.sweep().await?;
    let first_sweep = t.elapsed();
    let mut sweeps = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        broker.sweep().await?;
        sweeps.push(t.elapsed());
    }
    sweeps.sort();
    let t = Instant::now();
    let report = broker.report(7).await?;
    let reported = t.elapsed();
    let t = Instant::now();
    let state = broker.gateway_state("gw1").await?;
    let stated = t.elapsed();
    let t = Instant::now();
    let people = broker.people().await?;
    let listed = t.elapsed();
    let provisioning = scim_provisioning(&broker).await?;
    let t = Instant::now();
    let verified = broker.verify_audit().await?;
    let verify = t.elapsed();
    let VerifyOutcome::Intact(chain) = verified else {
        anyhow::bail!("the audit chain does not verify: {verified:?}")
    };
    anyhow::ensure!(
        state.grants.len() == GRANTS && people.len() == PEOPLE && report.grants_issued == GRANTS as u64
    );
    println!(
        "database: {:.0} MiB, {} audit entries",
        std::fs::metadata(&path)?.len() as f64 / (1 << 20) as f64,
        chain.entries
    );
    println!("opening the store and the broker: {:.0} ms", ms(opened));
    println!(
        "sweep: first (also looks for silent devices, prunes the gateway log) {:.1} ms; then p50 {:.2} ms, p99 {:.2} ms ({} runs)",
        ms(first_sweep),
        ms(sweeps[sweeps.len() / 2]),
        ms(sweeps[sweeps.len() * 99 / 100]),
        sweeps.len()
    );
    println!("weekly report: {:.0} ms", ms(reported));
    println!("a gateway's whole state ({GRANTS} grants): {:.0} ms", ms(stated));
    println!("the people list ({PEOPLE}): {:.0} ms", ms(listed));
    println!(
        "SCIM: a user looked up by userName {:.1} ms, by displayName (reads everyone) {:.0} ms; a user created {:.1} ms",
        ms(provisioning.by_user_name),
        ms(provisioning.by_display_name),
        ms(provisioning.created)
    );
    println!(
        "SCIM: a group created with 2 members {:.1} ms, a member added {:.1} ms",
        ms(provisioning.group_created),
        ms(provisioning.member_added)
    );
    println!("verifying the audit chain: {:.1} s", secs(verify));
    println!(
        "RESULT people={PEOPLE} audit={} open_ms={:.0} sweep_p99_ms={:.2} first_sweep_ms={:.1}",
        chain.entries,
        ms(opened),
        ms(sweeps[sweeps.len() * 99 / 100]),
        ms(first_sweep)
    );
    Ok(())
}

/// How long an identity provider's usual calls take: the lookup before each change, and a create.
struct Provisioning {
    by_user_name: Duration,
    by_display_name: Duration,
    created: Duration,
    group_created: Duration,
    member_added: Duration,
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
async fn scim_provisioning(broker: &daypass_broker_core::Broker) -> Result<Provisioning> {
    use daypass_broker_core::domain::scim::schema::{ResourceKind, USER};
    use daypass_broker_core::ListQuery;
    use secrecy::ExposeSecret as _;
    let secret = broker
        .issue_scim_token(org::ADMIN, "size-bench", time::Duration::hours(1))
        .await?;
    let client = broker.scim_client(secret.expose_secret()).await?;
    let mut timed = Vec::new();
    for filter in [r#"userName eq "P050000""#, r#"displayName eq "p050000""#] {
        let query = ListQuery::new(Some(filter), None, None)?;
        let t = Instant::now();
        let found = broker.scim_list(ResourceKind::User, &query).await?;
        timed.push(t.elapsed());
        anyhow::ensure!(found.total == 1, "{filter} found {} users", found.total);
    }
    let t = Instant::now();
    let made = broker
        .scim_create(
            ResourceKind::User,
            &client,
            &serde_json::json!({"schemas": [USER], "userName": "new.contractor@example.com"}),
        )
        .await?;
    let created = t.elapsed();
    anyhow::ensure!(made["id"] == "new.contractor@example.com", "{made}");
    // A group pushed with two members, then a third added, as Okta pushes groups.
    use daypass_broker_core::domain::scim::schema::{GROUP, PATCH_OP};
    let t = Instant::now();
    let group = broker
        .scim_create(
            ResourceKind::Group,
            &client,
            &serde_json::json!({"schemas": [GROUP], "displayName": "Bench Team",
                "members": [{"value": "p050000"}, {"value": "p050001"}]}),
        )
        .await?;
    let group_created = t.elapsed();
    let t = Instant::now();
    let patched = broker
        .scim_patch(
            ResourceKind::Group,
            &client,
            "bench-team",
            &serde_json::json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": "p050002"}]}]}),
        )
        .await?;
    let member_added = t.elapsed();
    anyhow::ensure!(
        group["members"].as_array().map(Vec::len) == Some(2)
            && patched["members"].as_array().map(Vec::len) == Some(3),
        "{group} then {patched}"
    );
    Ok(Provisioning {
        by_user_name: timed[0],
        by_display_name: timed[1],
        created,
        group_created,
        member_added,
    })
}
