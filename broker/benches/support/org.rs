//! What the benchmarks share (`#[path]`-included by each): a broker on SQLite with built-in tickets,
//! and seeding it with an auto-approving policy, gateways with one database resource each, the
//! contractors' entitlement, and contractors with devices and a ticket each. Everything goes through
//! the broker's own calls, as an admin's would.

use daypass_broker_core::clock::SystemClock;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::entitlement::Entitlement;
use daypass_broker_core::domain::policy::{ApprovalPolicy, AutoApprove};
use daypass_broker_core::domain::ticket::Ticket;
use daypass_broker_core::tickets::BuiltinTickets;
use daypass_broker_core::{Broker, BrokerSettings, DeviceSpec, PersonSpec, ResourceSpec, Store};
use daypass_proto::{PortRange, Protocol};
use secrecy::SecretString;
use std::sync::Arc;

pub const ADMIN: &str = "bench";

/// A broker on the SQLite database at `path` (created if missing), signing with `key`, with built-in
/// tickets; posture is not required for auto-approval (as in every earlier run in BENCHMARKS.md).
pub async fn open_broker(path: &std::path::Path, key: ed25519_dalek::SigningKey) -> anyhow::Result<Broker> {
    open_broker_on(&format!("sqlite://{}?mode=rwc", path.display()), key).await
}

/// As `open_broker`, on the database at `url` (SQLite or PostgreSQL).
pub async fn open_broker_on(url: &str, key: ed25519_dalek::SigningKey) -> anyhow::Result<Broker> {
    let store = Store::open(url).await?;
    Ok(Broker::new(
        store.clone(),
        key,
        Arc::new(SystemClock),
        Arc::new(BuiltinTickets::new(store)),
        BrokerSettings {
            posture: daypass_broker_core::PostureSettings {
                auto_approve_requires_report: false,
                ..Default::default()
            },
            ..BrokerSettings::default()
        },
    ))
}

/// A WireGuard public key for benchmark gateways (none of them is a real interface).
pub const GATEWAY_KEY: &str = "YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=";

/// Policy `auto` (approves everything not tagged `env:prod`), for each `(gateway, resource, address)`
/// a gateway and a TCP/5432 resource tagged `db:staging` behind it, and entitlement `all` to those
/// resources for group `contractors`. The gateways' stream credentials, in their order.
pub async fn seed_org(b: &Broker, gateways: &[(&str, &str, &str)]) -> anyhow::Result<Vec<SecretString>> {
    b.put_policy(
        ADMIN,
        ApprovalPolicy {
            name: "auto".into(),
            auto_approve: Some(AutoApprove {
                unless_tags: ["env:prod".to_string()].into(),
                hours_utc: None,
                max_duration_seconds: None,
            }),
            approvals_required: 1,
            approver_group: None,
        },
    )
    .await?;
    let mut credentials = Vec::new();
    for (gw, res, addr) in gateways {
        let (_, credential) = b.put_gateway(ADMIN, gw, "127.0.0.1:51820", GATEWAY_KEY).await?;
        credentials.push(credential);
        b.put_resource(
            ADMIN,
            ResourceSpec {
                name: (*res).into(),
                address: (*addr).into(),
                protocol: Protocol::Tcp,
                ports: vec![PortRange::single(5432)],
                tags: ["db:staging".to_string()].into(),
                gateway: (*gw).into(),
                description: String::new(),
            },
        )
        .await?;
    }
    b.put_entitlement(
        ADMIN,
        Entitlement {
            id: "all".into(),
            subject: "group:contractors".parse().map_err(anyhow::Error::msg)?,
            selector: "tag:db:staging".parse().map_err(anyhow::Error::msg)?,
            max_duration_seconds: 8 * 3600,
            policy: "auto".into(),
        },
    )
    .await?;
    Ok(credentials)
}

/// Contractor `id` (group `contractors`).
pub async fn person(b: &Broker, id: &str) -> anyhow::Result<()> {
    person_with(b, id, Role::Contractor, "contractors").await
}

/// Person `id` with one role, in one group.
pub async fn person_with(b: &Broker, id: &str, role: Role, group: &str) -> anyhow::Result<()> {
    b.put_person(
        ADMIN,
        PersonSpec {
            id: id.into(),
            name: id.into(),
            email: format!("{id}@example.com"),
            company: "Acme".into(),
            roles: [role].into(),
            groups: [group.to_string()].into(),
            contract_end: None,
            ticket_identities: Default::default(),
        },
    )
    .await?;
    Ok(())
}

/// Contractor `id` with open ticket `ticket` assigned and a device per `(device id, WireGuard key)`.
pub async fn contractor(
    b: &Broker,
    id: &str,
    ticket: &str,
    devices: &[(String, String)],
) -> anyhow::Result<()> {
    person(b, id).await?;
    b.put_builtin_ticket(
        ADMIN,
        Ticket {
            key: ticket.into(),
            summary: "s".into(),
            status: "Open".into(),
            done: false,
            assignee: Some(id.into()),
            url: None,
        },
    )
    .await?;
    for (device, key) in devices {
        b.add_device(
            ADMIN,
            DeviceSpec {
                id: device.clone(),
                person: id.into(),
                name: "laptop".into(),
                wireguard_public_key: key.clone(),
                report_public_key: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// A distinct, valid WireGuard public key for each `i`.
pub fn device_key(i: usize) -> String {
    use base64::Engine as _;
    let mut key = [7u8; 32];
    key[..8].copy_from_slice(&(i as u64).to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(key)
}
