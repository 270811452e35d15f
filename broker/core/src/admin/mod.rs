//! Directory and access-matrix administration; every change audited under the admin's name. The
//! children list what is stored (`listings`) and show a signed-in person their own (`overview`).

mod listings;
mod overview;
mod tokens;

pub use overview::{BaselineHealth, Overview};

use crate::auth::{new_secret, secret_digest, Caller};
use crate::domain::directory::{report_key, validate_wireguard_key, Device, Person, Role};
use crate::domain::entitlement::Entitlement;
use crate::domain::grant::EndReason;
use crate::domain::invalid::InvalidValue;
use crate::domain::policy::ApprovalPolicy;
use crate::domain::resource::{validate_tag, Resource};
use crate::domain::ticket::{validate_ticket_key, Ticket};
use crate::domain::validate_name;
use crate::store::{self, Change, GatewayRecord};
use crate::{Broker, Conflict, InvalidInput, Missing, ServiceResult};
use daypass_proto::{PortRange, Protocol};
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct PersonSpec {
    pub id: String,
    pub name: String,
    pub email: String,
    pub company: String,
    pub roles: BTreeSet<Role>,
    pub groups: BTreeSet<String>,
    pub contract_end: Option<OffsetDateTime>,
    pub ticket_identities: BTreeSet<String>,
}

impl From<&Person> for PersonSpec {
    /// The spec that saves `person` as they are (to change one field of it).
    fn from(person: &Person) -> Self {
        PersonSpec {
            id: person.id.clone(),
            name: person.name.clone(),
            email: person.email.clone(),
            company: person.company.clone(),
            roles: person.roles.clone(),
            groups: person.groups.clone(),
            contract_end: person.contract_end,
            ticket_identities: person.ticket_identities.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub name: String,
    pub address: String,
    pub protocol: Protocol,
    pub ports: Vec<PortRange>,
    pub tags: BTreeSet<String>,
    pub gateway: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct DeviceSpec {
    pub id: String,
    pub person: String,
    pub name: String,
    pub wireguard_public_key: String,
    /// Ed25519 public key (base64) the device signs posture reports with.
    pub report_public_key: Option<String>,
}

impl Broker {
    pub async fn put_person(&self, actor: &str, spec: PersonSpec) -> ServiceResult<Person> {
        if !spec.email.contains('@') {
            return Err(InvalidValue::Email(spec.email.clone()).into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let person = self.put_person_in(&mut change, actor, spec, now).await?;
        change.commit().await?;
        Ok(person)
    }

    /// Inside `change`: adds or updates a person (an email, if given, must be an address; the
    /// identity provider may have none for a person).
    pub(crate) async fn put_person_in(
        &self,
        change: &mut Change,
        actor: &str,
        spec: PersonSpec,
        now: OffsetDateTime,
    ) -> ServiceResult<Person> {
        validate_name("person id", &spec.id)?;
        for g in &spec.groups {
            validate_name("group", g)?;
        }
        if !spec.email.is_empty() && !spec.email.contains('@') {
            return Err(InvalidValue::Email(spec.email.clone()).into());
        }
        if spec.roles.is_empty() {
            return Err(InvalidValue::NoRole.into());
        }
        // What the account's life set stays: disabled, a step-up an alert demands, entitlements a review removed.
        let before = store::person(change.conn(), &spec.id).await?;
        let disabled = before.as_ref().is_some_and(|p| p.disabled);
        let step_up_demanded_by = before.as_ref().and_then(|p| p.step_up_demanded_by);
        let left: Vec<String> = before
            .as_ref()
            .map(|p| p.groups.difference(&spec.groups).cloned().collect())
            .unwrap_or_default();
        let entitlements_removed = before.map(|p| p.entitlements_removed).unwrap_or_default();
        let person = Person {
            id: spec.id,
            name: if spec.name.trim().is_empty() {
                "(no name)".into()
            } else {
                spec.name.trim().into()
            },
            email: spec.email.trim().to_string(),
            company: spec.company.trim().to_string(),
            roles: spec.roles,
            groups: spec.groups,
            contract_end: spec.contract_end,
            disabled,
            ticket_identities: spec.ticket_identities,
            step_up_demanded_by,
            entitlements_removed,
        };
        store::put_person(change, &person).await?;
        change
            .audit(now, actor, "admin.person_saved", &person.id, json!(person))
            .await?;
        // Access that only a group they left allowed ends now (as a review's removal does).
        if !left.is_empty() {
            let detail = format!("no longer in group {}", left.join(", "));
            self.end_what_is_no_longer_entitled(change, &person, EndReason::GroupLeft, actor, &detail, now)
                .await?;
        }
        Ok(person)
    }

    /// Disables an account: its API tokens go and every live grant ends now, in one change.
    pub async fn set_person_disabled(
        &self,
        actor: &str,
        id: &str,
        disabled: bool,
        reason: &str,
    ) -> ServiceResult<Person> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let person = self
            .set_person_disabled_in(&mut change, actor, id, disabled, reason, now)
            .await?;
        change.commit().await?;
        Ok(person)
    }

    /// Inside `change`: as `set_person_disabled`.
    pub(crate) async fn set_person_disabled_in(
        &self,
        change: &mut Change,
        actor: &str,
        id: &str,
        disabled: bool,
        reason: &str,
        now: OffsetDateTime,
    ) -> ServiceResult<Person> {
        let mut person = store::person(change.conn(), id)
            .await?
            .ok_or_else(|| Missing::Person(id.to_string()))?;
        person.disabled = disabled;
        store::put_person(change, &person).await?;
        let action = if disabled {
            "admin.person_disabled"
        } else {
            "admin.person_enabled"
        };
        change
            .audit(now, actor, action, id, json!({ "reason": reason }))
            .await?;
        if disabled {
            store::delete_api_tokens_of(change.conn(), id).await?;
            self.end_sessions_in(change, id, None, now).await?;
            for mut g in store::open_grants_of_person(change.conn(), id).await? {
                if g.end(EndReason::AccountDisabled, actor, reason, now).is_ok() {
                    self.commit_grant_end(change, &g, now).await?;
                }
            }
        }
        Ok(person)
    }

    pub async fn add_device(&self, actor: &str, spec: DeviceSpec) -> ServiceResult<Device> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let device = self.add_device_in(&mut change, actor, spec, now).await?;
        change.commit().await?;
        Ok(device)
    }

    /// Inside `change`: binds a new device to its person with the next tunnel address.
    pub(crate) async fn add_device_in(
        &self,
        change: &mut Change,
        actor: &str,
        spec: DeviceSpec,
        now: OffsetDateTime,
    ) -> ServiceResult<Device> {
        check_device_spec(
            &spec.id,
            &spec.wireguard_public_key,
            spec.report_public_key.as_deref(),
        )?;
        if store::person(change.conn(), &spec.person).await?.is_none() {
            return Err(Missing::Person(spec.person.clone()).into());
        }
        if store::device(change.conn(), &spec.id).await?.is_some() {
            return Err(Conflict::DeviceExists(spec.id.clone()).into());
        }
        let wireguard_public_key = spec.wireguard_public_key.trim().to_string();
        if let Some(other) =
            store::live_device_with_wireguard_key(change.conn(), &wireguard_public_key).await?
        {
            return Err(Conflict::WireguardKeyInUse(other.id).into());
        }
        let host = store::next_tunnel_host(change.conn()).await?;
        let net = self.0.settings.tunnel_network;
        if host >= (1u32 << (32 - net.prefix_len())) - 1 {
            return Err(Conflict::AddressesExhausted(net.to_string()).into());
        }
        let address = Ipv4Addr::from(u32::from(net.network()) + host);
        let device = Device {
            id: spec.id,
            person: spec.person,
            name: spec.name,
            wireguard_public_key,
            tunnel_address: format!("{address}/32"),
            revoked: false,
            report_public_key: spec.report_public_key.map(|k| k.trim().to_string()),
        };
        store::put_device(change, &device).await?;
        change
            .audit(now, actor, "admin.device_added", &device.id, json!(device))
            .await?;
        Ok(device)
    }

    /// Revokes a device (lost, stolen, replaced): it can no longer be granted access, and its live
    /// grants end now, in the same change.
    pub async fn revoke_device(&self, actor: &str, id: &str, reason: &str) -> ServiceResult<Device> {
        if reason.trim().is_empty() {
            return Err(InvalidInput::DeviceRevocationReason.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        let mut device = store::device(change.conn(), id)
            .await?
            .ok_or_else(|| Missing::Device(id.to_string()))?;
        device.revoked = true;
        store::put_device(&mut change, &device).await?;
        change
            .audit(
                now,
                actor,
                "admin.device_revoked",
                id,
                json!({ "reason": reason.trim() }),
            )
            .await?;
        for mut g in store::open_grants_of_person(change.conn(), &device.person).await? {
            let detail = format!("device {id} revoked: {}", reason.trim());
            if g.grant.device.id == device.id && g.end(EndReason::Revoked, actor, &detail, now).is_ok() {
                self.commit_grant_end(&mut change, &g, now).await?;
            }
        }
        change.commit().await?;
        Ok(device)
    }

    /// A person revokes one of their own devices (lost, replaced); an admin any device. Its grants end
    /// and its sessions are refused from then on.
    pub async fn revoke_device_as(&self, caller: &Caller, id: &str, reason: &str) -> ServiceResult<Device> {
        let person = caller.person()?;
        if !person.has_role(Role::Admin) {
            let mut conn = self.store().read().await?;
            let owned = store::device(&mut conn, id)
                .await?
                .is_some_and(|d| d.person == person.id);
            if !owned {
                return Err(Missing::DeviceYouCanSee(id.to_string()).into());
            }
        }
        self.revoke_device(&caller.actor(), id, reason).await
    }

    pub async fn put_resource(&self, actor: &str, spec: ResourceSpec) -> ServiceResult<Resource> {
        validate_name("resource name", &spec.name)?;
        for t in &spec.tags {
            validate_tag(t)?;
        }
        if spec.ports.is_empty() && spec.protocol != Protocol::Icmp {
            return Err(InvalidValue::NoPorts(spec.protocol.to_string()).into());
        }
        let address = crate::domain::resource::parse_address(&spec.address)?;
        let now = self.now();
        let mut change = self.store().change().await?;
        if store::gateway(change.conn(), &spec.gateway).await?.is_none() {
            return Err(Missing::Gateway(spec.gateway.clone()).into());
        }
        let resource = Resource {
            name: spec.name,
            address,
            protocol: spec.protocol,
            ports: spec.ports,
            tags: spec.tags,
            gateway: spec.gateway,
            description: spec.description,
        };
        store::put_resource(change.conn(), &resource).await?;
        change
            .audit(
                now,
                actor,
                "admin.resource_saved",
                &resource.name,
                json!(resource),
            )
            .await?;
        change.commit().await?;
        Ok(resource)
    }

    pub async fn remove_resource(&self, actor: &str, name: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut change = self.store().change().await?;
        if !store::delete_resource(change.conn(), name).await? {
            return Err(Missing::Resource(name.to_string()).into());
        }
        change
            .audit(now, actor, "admin.resource_removed", name, json!({}))
            .await?;
        change.commit().await?;
        Ok(())
    }

    pub async fn put_entitlement(&self, actor: &str, e: Entitlement) -> ServiceResult<Entitlement> {
        validate_name("entitlement id", &e.id)?;
        if e.max_duration_seconds <= 0 {
            return Err(InvalidValue::MaxDuration.into());
        }
        let now = self.now();
        let mut change = self.store().change().await?;
        if store::policy(change.conn(), &e.policy).await?.is_none() {
            return Err(Missing::Policy(e.policy.clone()).into());
        }
        store::put_entitlement(change.conn(), &e).await?;
        change
            .audit(now, actor, "admin.entitlement_saved", &e.id, json!(e))
            .await?;
        change.commit().await?;
        Ok(e)
    }

    pub async fn remove_entitlement(&self, actor: &str, id: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut change = self.store().change().await?;
        if !store::delete_entitlement(change.conn(), id).await? {
            return Err(Missing::Entitlement(id.to_string()).into());
        }
        change
            .audit(now, actor, "admin.entitlement_removed", id, json!({}))
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Removes an approval policy no entitlement names any more.
    pub async fn remove_policy(&self, actor: &str, name: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut change = self.store().change().await?;
        let users: Vec<String> = store::entitlements(change.conn())
            .await?
            .into_iter()
            .filter(|e| e.policy == name)
            .map(|e| e.id)
            .collect();
        if !users.is_empty() {
            return Err(Conflict::PolicyInUse {
                policy: name.to_string(),
                entitlements: users.join(", "),
            }
            .into());
        }
        if !store::delete_policy(change.conn(), name).await? {
            return Err(Missing::Policy(name.to_string()).into());
        }
        change
            .audit(now, actor, "admin.policy_removed", name, json!({}))
            .await?;
        change.commit().await?;
        Ok(())
    }

    pub async fn put_policy(&self, actor: &str, p: ApprovalPolicy) -> ServiceResult<ApprovalPolicy> {
        validate_name("policy name", &p.name)?;
        p.validate()?;
        let now = self.now();
        let mut change = self.store().change().await?;
        store::put_policy(change.conn(), &p).await?;
        change
            .audit(now, actor, "admin.policy_saved", &p.name, json!(p))
            .await?;
        change.commit().await?;
        Ok(p)
    }

    /// Creates or updates a built-in ticket; closing one ends its grants in the same change.
    pub async fn put_builtin_ticket(&self, actor: &str, t: Ticket) -> ServiceResult<Ticket> {
        validate_ticket_key(&t.key).map_err(InvalidInput::TicketKey)?;
        let now = self.now();
        let mut change = self.store().change().await?;
        store::put_builtin_ticket(change.conn(), &t).await?;
        change
            .audit(now, actor, "admin.ticket_saved", &t.key, json!(t))
            .await?;
        if self.ticket_connector_name() == "builtin" {
            self.end_grants_for_ticket_in(&mut change, &t.key, Some(&t), actor)
                .await?;
        }
        change.commit().await?;
        Ok(t)
    }

    /// Registers a gateway (or rotates its credential); returns the credential, shown once.
    pub async fn put_gateway(
        &self,
        actor: &str,
        name: &str,
        endpoint: &str,
        wireguard_public_key: &str,
    ) -> ServiceResult<(GatewayRecord, SecretString)> {
        validate_name("gateway name", name)?;
        validate_wireguard_key(wireguard_public_key)?;
        if endpoint.parse::<std::net::SocketAddr>().is_err() && !endpoint.contains(':') {
            return Err(InvalidValue::Endpoint(endpoint.to_string()).into());
        }
        let secret = new_secret("dpg_");
        let record = GatewayRecord {
            name: name.into(),
            endpoint: endpoint.into(),
            wireguard_public_key: wireguard_public_key.trim().into(),
            last_seen: None,
        };
        let now = self.now();
        let mut change = self.store().change().await?;
        store::put_gateway(
            change.conn(),
            &record,
            &secret_digest(secrecy::ExposeSecret::expose_secret(&secret)),
        )
        .await?;
        change
            .audit(
                now,
                actor,
                "admin.gateway_saved",
                name,
                json!({ "endpoint": endpoint, "wireguard_public_key": record.wireguard_public_key }),
            )
            .await?;
        change.commit().await?;
        Ok((record, secret))
    }
}

/// A device id and its keys as a device must have them.
pub(crate) fn check_device_spec(id: &str, wireguard_key: &str, report: Option<&str>) -> ServiceResult<()> {
    validate_name("device id", id)?;
    validate_wireguard_key(wireguard_key)?;
    if let Some(k) = report {
        report_key(k)?;
    }
    Ok(())
}
