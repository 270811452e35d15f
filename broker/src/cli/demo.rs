//! The demo: seeds a small organisation once (people, a gateway, resources, policies, tickets) and
//! prints what to try against the running broker.

use crate::config::StorageSettings;
use crate::tls::TlsIdentity;
use anyhow::Result;
use base64::Engine as _;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::entitlement::Entitlement;
use daypass_broker_core::domain::policy::{ApprovalPolicy, AutoApprove};
use daypass_broker_core::domain::ticket::Ticket;
use daypass_broker_core::{Broker, DeviceSpec, PersonSpec, ResourceSpec};
use daypass_proto::{PortRange, Protocol};
use rand::RngCore as _;
use secrecy::ExposeSecret;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub struct Seeded {
    pub tokens_file: PathBuf,
    pub data_dir: PathBuf,
    pub fresh: bool,
}

const ACTOR: &str = "demo-seed";

fn random_key() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn person(id: &str, name: &str, company: &str, roles: &[Role], groups: &[&str]) -> PersonSpec {
    PersonSpec {
        id: id.into(),
        name: name.into(),
        email: format!("{id}@example.com"),
        company: company.into(),
        roles: roles.iter().copied().collect(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        contract_end: None,
        ticket_identities: BTreeSet::new(),
    }
}

/// Seeds once; the presence of the tokens file marks a seeded data directory.
pub async fn seed(broker: &Broker, storage: &StorageSettings) -> Result<Seeded> {
    let tokens_file = storage.data_dir.join("demo-tokens.env");
    let data_dir = storage.data_dir.clone();
    if tokens_file.exists() {
        return Ok(Seeded {
            tokens_file,
            data_dir,
            fresh: false,
        });
    }
    let now = broker.now();
    let mut ana = person(
        "ana",
        "Ana Contractor",
        "Acme Contracting",
        &[Role::Contractor],
        &["dba"],
    );
    ana.contract_end = Some(now + time::Duration::days(90));
    for p in [
        ana,
        person(
            "ben",
            "Ben Approver",
            "Example Corp",
            &[Role::Approver],
            &["approvers"],
        ),
        person(
            "cy",
            "Cy Approver",
            "Example Corp",
            &[Role::Approver],
            &["approvers"],
        ),
        person("ida", "Ida Admin", "Example Corp", &[Role::Admin], &[]),
        person("hal", "Hal Helpdesk", "Example Corp", &[Role::Helpdesk], &[]),
        person("aud", "Aud Auditor", "Example Audit", &[Role::Auditor], &[]),
    ] {
        broker.put_person(ACTOR, p).await?;
    }
    broker
        .add_device(
            ACTOR,
            DeviceSpec {
                id: "ana-laptop".into(),
                person: "ana".into(),
                name: "Ana's laptop".into(),
                wireguard_public_key: random_key(),
                report_public_key: None,
            },
        )
        .await?;
    broker
        .put_gateway(ACTOR, "gw-demo", "127.0.0.1:51820", &random_key())
        .await?;
    broker
        .put_policy(
            ACTOR,
            ApprovalPolicy {
                name: "low-risk".into(),
                auto_approve: Some(AutoApprove {
                    unless_tags: ["env:prod".to_string()].into(),
                    hours_utc: None,
                    max_duration_seconds: Some(4 * 3600),
                }),
                approvals_required: 1,
                approver_group: Some("approvers".into()),
            },
        )
        .await?;
    broker
        .put_policy(
            ACTOR,
            ApprovalPolicy {
                name: "prod-two".into(),
                auto_approve: None,
                approvals_required: 2,
                approver_group: Some("approvers".into()),
            },
        )
        .await?;
    for (name, address, ports, tags) in [
        (
            "db-staging",
            "10.20.0.10",
            vec![PortRange::single(5432)],
            vec!["db:staging", "env:staging"],
        ),
        (
            "web-prod",
            "10.20.0.20",
            vec![PortRange::single(22), PortRange::single(443)],
            vec!["env:prod"],
        ),
    ] {
        broker
            .put_resource(
                ACTOR,
                ResourceSpec {
                    name: name.into(),
                    address: address.into(),
                    protocol: Protocol::Tcp,
                    ports,
                    tags: tags.into_iter().map(String::from).collect(),
                    gateway: "gw-demo".into(),
                    description: String::new(),
                },
            )
            .await?;
    }
    for (id, subject, selector, max, policy) in [
        ("dba-staging", "group:dba", "tag:db:staging", 8 * 3600, "low-risk"),
        (
            "ana-web-prod",
            "person:ana",
            "resource:web-prod",
            2 * 3600,
            "prod-two",
        ),
    ] {
        let e = Entitlement {
            id: id.into(),
            subject: subject.parse().map_err(anyhow::Error::msg)?,
            selector: selector.parse().map_err(anyhow::Error::msg)?,
            max_duration_seconds: max,
            policy: policy.into(),
        };
        broker.put_entitlement(ACTOR, e).await?;
    }
    for (key, summary, status, done) in [
        ("OPS-101", "Migrate the staging schema", "In Progress", false),
        (
            "OPS-102",
            "Rotate web-prod TLS certificates",
            "In Progress",
            false,
        ),
        ("OPS-103", "Old finished work", "Done", true),
    ] {
        let t = Ticket {
            key: key.into(),
            summary: summary.into(),
            status: status.into(),
            done,
            assignee: Some("ana".into()),
            url: None,
        };
        broker.put_builtin_ticket(ACTOR, t).await?;
    }
    let mut env = String::from("# Demo API tokens (valid 7 days). Keep this file private.\n");
    for id in ["ana", "ben", "cy", "ida", "hal", "aud"] {
        let secret = broker
            .issue_token(ACTOR, id, "demo", time::Duration::days(7))
            .await?;
        env.push_str(&format!(
            "{}_TOKEN={}\n",
            id.to_uppercase(),
            secret.expose_secret()
        ));
    }
    crate::keys::write_private(&tokens_file, env.as_bytes())?;
    Ok(Seeded {
        tokens_file,
        data_dir,
        fresh: true,
    })
}

pub fn next_steps(s: &Seeded, url: &str, tls: Option<&TlsIdentity>) -> String {
    let curl = match tls {
        Some(id) => format!("curl -s --cacert {}", id.cert.display()),
        None => "curl -s".to_string(),
    };
    let data = s.data_dir.display();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "daypass-broker".into());
    format!(
        r#"
Demo organisation {seeded} in {data}:
  ana (contractor, Acme Contracting) may request db-staging (auto-approved, up to 8h)
  and web-prod (needs 2 approvers: ben and cy), against tickets OPS-101 / OPS-102.
  Posture: the demo's devices are seeded without a posture client, so this demo auto-approves
  without a posture report (a real broker does not unless posture_auto_approve_requires_report =
  false); daypass-posture key / report send signed reports (posture/README.md). Its approvers
  approve with API tokens; a real broker wants a passkey confirmation (approvals_require_passkey).

In another terminal:
  set -a; . {tokens}; set +a
  {curl} -H "Authorization: Bearer $ANA_TOKEN" {url}/api/v1/entitlements
  # ask for staging database access: granted at once, signed, for 1 hour
  {curl} -H "Authorization: Bearer $ANA_TOKEN" -H 'content-type: application/json' \
    -d '{{"device":"ana-laptop","resources":["db-staging"],"ticket":"OPS-101","reason":"run the migration","duration":"1h"}}' \
    {url}/api/v1/requests
  # ask for production: pending until ben and cy approve (POST /api/v1/requests/ID/approve with their tokens)
  {curl} -H "Authorization: Bearer $ANA_TOKEN" -H 'content-type: application/json' \
    -d '{{"device":"ana-laptop","resources":["web-prod"],"ticket":"OPS-102","reason":"rotate certificates","duration":"30m"}}' \
    {url}/api/v1/requests
  # close the ticket: every grant bound to it ends
  {exe} --data-dir {data} admin ticket close OPS-101
  {exe} --data-dir {data} audit verify
  {exe} --data-dir {data} report
The staff console (passkeys need the name localhost, and the browser must accept the
self-signed certificate): invite an approver, then open {console}/console/enroll and enter the code:
  {exe} --data-dir {data} admin invite ben
The API is described at {url}/api/v1/openapi.json. Stop with Ctrl-C."#,
        seeded = if s.fresh { "seeded" } else { "already seeded" },
        console = url.replace("127.0.0.1", "localhost"),
        tokens = s.tokens_file.display(),
    )
}
