//! `daypass-broker admin …`: directory and access-matrix changes without writing SQL.

use super::{cli_actor, duration_arg, emit, until_arg};
use anyhow::Result;
use clap::Subcommand;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::domain::entitlement::{Entitlement, Selector, Subject};
use daypass_broker_core::domain::policy::{ApprovalPolicy, AutoApprove, HourWindow};
use daypass_broker_core::domain::ticket::Ticket;
use daypass_broker_core::{Broker, DeviceSpec, PersonSpec, ResourceSpec};
use daypass_proto::duration::format_duration;
use daypass_proto::resource::parse_port_list;
use daypass_proto::{PortRange, Protocol};
use secrecy::ExposeSecret;
use std::process::ExitCode;
use time::OffsetDateTime;

fn ports_arg(s: &str) -> Result<Vec<PortRange>, String> {
    parse_port_list(s)
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    #[command(subcommand)]
    Person(PersonCommand),
    #[command(subcommand)]
    Device(DeviceCommand),
    #[command(subcommand)]
    Resource(ResourceCommand),
    #[command(subcommand)]
    Entitlement(EntitlementCommand),
    #[command(subcommand)]
    Policy(PolicyCommand),
    #[command(subcommand)]
    Ticket(TicketCommand),
    #[command(subcommand)]
    Gateway(GatewayCommand),
    #[command(subcommand)]
    Token(TokenCommand),
    /// SCIM tokens for identity providers (Okta, Entra ID) provisioning people at /scim/v2.
    #[command(subcommand)]
    ScimToken(super::scim::ScimTokenCommand),
    /// Invite a person to enroll a passkey and bind their device: prints a single-use code (and the
    /// enrollment link) once.
    Invite {
        person: String,
        #[arg(long, value_parser = duration_arg, default_value = "72h")]
        ttl: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Add a person, or replace their details.
    Add {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        company: String,
        /// contractor, approver, admin, helpdesk or auditor; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<Role>,
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Last day of the contract (YYYY-MM-DD, UTC); access ends after it by itself.
        #[arg(long, value_parser = until_arg)]
        contract_end: Option<OffsetDateTime>,
        /// Their name in the ticket system (e.g. Jira account id), when it is not their id or email.
        #[arg(long = "ticket-identity")]
        ticket_identities: Vec<String>,
    },
    /// Disable an account: its tokens go and its grants end now.
    Disable {
        id: String,
        #[arg(long)]
        reason: String,
    },
    Enable {
        id: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Bind a device (its WireGuard public key) to a person; a tunnel address is assigned.
    Add {
        id: String,
        #[arg(long)]
        person: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        wireguard_key: String,
        /// Ed25519 public key (base64) the device signs posture reports with.
        #[arg(long)]
        report_key: Option<String>,
    },
    /// Revoke a lost or replaced device: its live grants end now and it can get no more.
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
    },
    List {
        #[arg(long)]
        person: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Add a resource, or replace it.
    Add {
        name: String,
        /// IP address or CIDR.
        #[arg(long)]
        address: String,
        #[arg(long, default_value = "tcp")]
        protocol: Protocol,
        /// Ports and ranges, e.g. 22,8000-8080.
        #[arg(long, value_parser = ports_arg, default_value = "")]
        ports: std::vec::Vec<PortRange>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        gateway: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    Remove {
        name: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum EntitlementCommand {
    /// Allow a person or group to request a resource or every resource with a tag.
    Add {
        id: String,
        /// person:ID or group:NAME
        #[arg(long)]
        subject: Subject,
        /// resource:NAME or tag:TAG
        #[arg(long)]
        selector: Selector,
        /// Longest grant, e.g. 4h.
        #[arg(long, value_parser = duration_arg)]
        max: i64,
        #[arg(long)]
        policy: String,
    },
    Remove {
        id: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Create or replace an approval policy.
    Set {
        name: String,
        /// Approve automatically when the conditions below hold.
        #[arg(long)]
        auto_approve: bool,
        /// Never auto-approve resources with this tag (repeat).
        #[arg(long = "unless-tag")]
        unless_tags: Vec<String>,
        /// Auto-approve only within these UTC hours, e.g. 8-18.
        #[arg(long)]
        hours: Option<HourWindow>,
        /// Auto-approve only up to this duration.
        #[arg(long, value_parser = duration_arg)]
        auto_max: Option<i64>,
        /// Distinct approvers needed otherwise.
        #[arg(long, default_value_t = 1)]
        approvals: u32,
        #[arg(long)]
        approver_group: Option<String>,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Create or update a built-in ticket.
    Set {
        key: String,
        #[arg(long, default_value = "")]
        summary: String,
        #[arg(long, default_value = "Open")]
        status: String,
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Mark a built-in ticket done: every grant bound to it ends now.
    Close {
        key: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Register a gateway (or rotate its credential); prints the credential once.
    Add {
        name: String,
        /// HOST:PORT where clients reach its WireGuard listener.
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        wireguard_key: String,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a person; printed once, only its digest is kept. With --scope (one
    /// or more) it may only make those read calls (for integrators), within the person's roles.
    Issue {
        person: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long, value_parser = duration_arg, default_value = "30d")]
        ttl: i64,
        /// reports:read, audit:read, grants:read or posture:read (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<daypass_broker_core::domain::token::Scope>,
    },
    /// Every API token (or one person's): id, holder, label, scopes, expiry.
    List {
        #[arg(long)]
        person: Option<String>,
    },
    /// Revoke one API token by the id `token list` shows.
    Revoke { id: String },
}

pub async fn run(broker: &Broker, cmd: AdminCommand, json: bool) -> Result<ExitCode> {
    let actor = cli_actor();
    let actor = actor.as_str();
    match cmd {
        AdminCommand::Person(command) => person(broker, actor, command, json).await?,
        AdminCommand::Device(command) => device(broker, actor, command, json).await?,
        AdminCommand::Resource(command) => resource(broker, actor, command, json).await?,
        AdminCommand::Entitlement(command) => entitlement(broker, actor, command, json).await?,
        AdminCommand::Policy(command) => policy(broker, actor, command, json).await?,
        AdminCommand::Ticket(command) => ticket(broker, actor, command, json).await?,
        AdminCommand::Gateway(command) => gateway(broker, actor, command, json).await?,
        AdminCommand::Token(command) => token(broker, actor, command, json).await?,
        AdminCommand::ScimToken(command) => super::scim::run(broker, actor, command, json).await?,
        AdminCommand::Invite { person, ttl } => invite(broker, actor, &person, ttl, json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn person(broker: &Broker, actor: &str, command: PersonCommand, json: bool) -> Result<()> {
    match command {
        PersonCommand::Add {
            id,
            name,
            email,
            company,
            roles,
            groups,
            contract_end,
            ticket_identities,
        } => {
            let spec = PersonSpec {
                id,
                name,
                email,
                company,
                roles: roles.into_iter().collect(),
                groups: groups.into_iter().collect(),
                contract_end,
                ticket_identities: ticket_identities.into_iter().collect(),
            };
            let p = broker.put_person(actor, spec).await?;
            emit(json, &p, || format!("saved person {}", p.id))?;
        }
        PersonCommand::Disable { id, reason } => {
            let p = broker.set_person_disabled(actor, &id, true, &reason).await?;
            emit(json, &p, || {
                format!("disabled {id}: tokens removed, live grants ended")
            })?;
        }
        PersonCommand::Enable { id } => {
            let p = broker
                .set_person_disabled(actor, &id, false, "enabled by admin")
                .await?;
            emit(json, &p, || format!("enabled {id}"))?;
        }
        PersonCommand::List => {
            let people = broker.people().await?;
            let now = broker.now();
            emit(json, &people, || {
                people
                    .iter()
                    .map(|p| {
                        let roles: Vec<_> = p.roles.iter().map(|r| r.to_string()).collect();
                        let state = if p.is_active(now) { "active" } else { "ended" };
                        format!(
                            "{:<12} {:<24} {:<20} {:<24} {state}",
                            p.id,
                            p.name,
                            p.company,
                            roles.join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn device(broker: &Broker, actor: &str, command: DeviceCommand, json: bool) -> Result<()> {
    match command {
        DeviceCommand::Add {
            id,
            person,
            name,
            wireguard_key,
            report_key,
        } => {
            let spec = DeviceSpec {
                id,
                person,
                name,
                wireguard_public_key: wireguard_key,
                report_public_key: report_key,
            };
            let d = broker.add_device(actor, spec).await?;
            emit(json, &d, || {
                format!(
                    "device {} bound to {} with tunnel address {}",
                    d.id, d.person, d.tunnel_address
                )
            })?;
        }
        DeviceCommand::Revoke { id, reason } => {
            let d = broker.revoke_device(actor, &id, &reason).await?;
            emit(json, &d, || {
                format!("device {} revoked; its live grants have ended", d.id)
            })?;
        }
        DeviceCommand::List { person } => {
            let devices = broker.devices_of(&person).await?;
            emit(json, &devices, || {
                devices
                    .iter()
                    .map(|d| {
                        let state = if d.revoked { "revoked" } else { "active" };
                        format!("{:<20} {:<18} {:<8} {}", d.id, d.tunnel_address, state, d.name)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn resource(broker: &Broker, actor: &str, command: ResourceCommand, json: bool) -> Result<()> {
    match command {
        ResourceCommand::Add {
            name,
            address,
            protocol,
            ports,
            tags,
            gateway,
            description,
        } => {
            let spec = ResourceSpec {
                name,
                address,
                protocol,
                ports,
                tags: tags.into_iter().collect(),
                gateway,
                description,
            };
            let r = broker.put_resource(actor, spec).await?;
            emit(json, &r, || {
                format!("saved resource {} ({} {})", r.name, r.address, r.protocol)
            })?;
        }
        ResourceCommand::Remove { name } => {
            broker.remove_resource(actor, &name).await?;
            emit(json, &serde_json::json!({ "removed": name }), || {
                format!("removed resource {name}")
            })?;
        }
        ResourceCommand::List => {
            let all = broker.resources().await?;
            emit(json, &all, || {
                all.iter()
                    .map(|r| {
                        let ports: Vec<_> = r.ports.iter().map(|p| p.to_string()).collect();
                        let tags: Vec<_> = r.tags.iter().cloned().collect();
                        format!(
                            "{:<16} {:<18} {}/{:<12} {:<10} {}",
                            r.name,
                            r.address,
                            r.protocol,
                            ports.join(","),
                            r.gateway,
                            tags.join(" ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn entitlement(broker: &Broker, actor: &str, command: EntitlementCommand, json: bool) -> Result<()> {
    match command {
        EntitlementCommand::Add {
            id,
            subject,
            selector,
            max,
            policy,
        } => {
            let e = broker
                .put_entitlement(
                    actor,
                    Entitlement {
                        id,
                        subject,
                        selector,
                        max_duration_seconds: max,
                        policy,
                    },
                )
                .await?;
            emit(json, &e, || {
                format!(
                    "saved entitlement {}: {} may request {} for up to {}",
                    e.id,
                    e.subject,
                    e.selector,
                    format_duration(e.max_duration_seconds)
                )
            })?;
        }
        EntitlementCommand::Remove { id } => {
            broker.remove_entitlement(actor, &id).await?;
            emit(json, &serde_json::json!({ "removed": id }), || {
                format!("removed entitlement {id}")
            })?;
        }
        EntitlementCommand::List => {
            let all = broker.entitlements().await?;
            emit(json, &all, || {
                all.iter()
                    .map(|e| {
                        format!(
                            "{:<16} {:<20} {:<24} max {:<6} policy {}",
                            e.id,
                            e.subject,
                            e.selector,
                            format_duration(e.max_duration_seconds),
                            e.policy
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn policy(broker: &Broker, actor: &str, command: PolicyCommand, json: bool) -> Result<()> {
    match command {
        PolicyCommand::Set {
            name,
            auto_approve,
            unless_tags,
            hours,
            auto_max,
            approvals,
            approver_group,
        } => {
            let auto = auto_approve.then(|| AutoApprove {
                unless_tags: unless_tags.into_iter().collect(),
                hours_utc: hours,
                max_duration_seconds: auto_max,
            });
            let p = broker
                .put_policy(
                    actor,
                    ApprovalPolicy {
                        name,
                        auto_approve: auto,
                        approvals_required: approvals,
                        approver_group,
                    },
                )
                .await?;
            emit(json, &p, || format!("saved policy {}", p.name))?;
        }
        PolicyCommand::List => {
            let all = broker.policies().await?;
            emit(json, &all, || {
                all.iter()
                    .map(|p| format!("{}: {}", p.name, serde_json::to_string(p).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn ticket(broker: &Broker, actor: &str, command: TicketCommand, json: bool) -> Result<()> {
    match command {
        TicketCommand::Set {
            key,
            summary,
            status,
            assignee,
        } => {
            let done = ["done", "closed", "resolved"]
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&status));
            let t = broker
                .put_builtin_ticket(
                    actor,
                    Ticket {
                        key,
                        summary,
                        status,
                        done,
                        assignee,
                        url: None,
                    },
                )
                .await?;
            emit(json, &t, || format!("saved ticket {} ({})", t.key, t.status))?;
        }
        TicketCommand::Close { key } => {
            let mut t = broker.builtin_ticket(&key).await?.ok_or_else(|| {
                anyhow::anyhow!("no built-in ticket {key:?}: list them with `admin ticket list`")
            })?;
            t.status = "Done".into();
            t.done = true;
            let t = broker.put_builtin_ticket(actor, t).await?;
            emit(json, &t, || {
                format!("closed ticket {}; grants bound to it have ended", t.key)
            })?;
        }
        TicketCommand::List => {
            let all = broker.builtin_tickets().await?;
            emit(json, &all, || {
                all.iter()
                    .map(|t| {
                        format!(
                            "{:<10} {:<12} {:<10} {}",
                            t.key,
                            t.status,
                            t.assignee.as_deref().unwrap_or("-"),
                            t.summary
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}

async fn gateway(broker: &Broker, actor: &str, command: GatewayCommand, json: bool) -> Result<()> {
    match command {
        GatewayCommand::Add {
            name,
            endpoint,
            wireguard_key,
        } => {
            let (g, secret) = broker
                .put_gateway(actor, &name, &endpoint, &wireguard_key)
                .await?;
            let out = serde_json::json!({ "gateway": g, "credential": secret.expose_secret() });
            emit(json, &out, || {
                format!("gateway {} registered.\ncredential (shown once; give it to the gateway as DAYPASS_GATEWAY_TOKEN):\n{}", g.name, secret.expose_secret())
            })?;
        }
        GatewayCommand::List => {
            let all = broker.gateways().await?;
            emit(
                json,
                &all.iter()
                    .map(|(g, rev)| serde_json::json!({ "gateway": g, "revision": rev }))
                    .collect::<Vec<_>>(),
                || {
                    all.iter()
                        .map(|(g, rev)| format!("{:<12} {:<22} revision {rev}", g.name, g.endpoint))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            )?;
        }
    }
    Ok(())
}

async fn token(broker: &Broker, actor: &str, command: TokenCommand, json: bool) -> Result<()> {
    match command {
        TokenCommand::Issue {
            person,
            label,
            ttl,
            scopes,
        } => {
            let scopes = (!scopes.is_empty()).then(|| scopes.into_iter().collect());
            let secret = broker
                .issue_scoped_token(actor, &person, &label, time::Duration::seconds(ttl), scopes)
                .await?;
            let out =
                serde_json::json!({ "person": person, "token": secret.expose_secret(), "ttl_seconds": ttl });
            emit(json, &out, || {
                format!(
                    "token for {person} (shown once, valid {}):\n{}",
                    format_duration(ttl),
                    secret.expose_secret()
                )
            })?;
        }
        TokenCommand::List { person } => {
            let tokens = broker.api_tokens(person.as_deref()).await?;
            let out: Vec<_> = tokens
                .iter()
                .map(|(id, t)| serde_json::json!({ "id": id, "token": t }))
                .collect();
            emit(json, &out, || {
                if tokens.is_empty() {
                    return "no API tokens".into();
                }
                tokens
                    .iter()
                    .map(|(id, t)| {
                        let scopes = t
                            .scopes
                            .as_ref()
                            .map_or("all its holder may do".to_string(), |s| {
                                s.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
                            });
                        format!(
                            "{id}  {}  {:?}  {scopes}  until {}",
                            t.person, t.label, t.expires_at
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        TokenCommand::Revoke { id } => {
            let token = broker.revoke_api_token(actor, &id).await?;
            emit(
                json,
                &serde_json::json!({ "id": id, "person": token.person }),
                || format!("revoked API token {id} of {} ({:?})", token.person, token.label),
            )?;
        }
    }
    Ok(())
}

/// An invite for `person` to enroll a passkey.
async fn invite(broker: &Broker, actor: &str, person: &str, ttl: i64, json: bool) -> Result<()> {
    let (code, invite) = broker.invite(actor, person, time::Duration::seconds(ttl)).await?;
    let out = serde_json::json!({
        "person": person,
        "invite": code.expose_secret(),
        "expires_at": invite.expires_at.to_string(),
    });
    emit(json, &out, || {
        format!(
            "invite for {person} (single use, shown once, valid until {}):\n{}",
            invite.expires_at,
            code.expose_secret()
        )
    })?;
    Ok(())
}
