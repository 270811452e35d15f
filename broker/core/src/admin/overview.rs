//! What an admin oversees in one read: people (with their devices), resources and their tags, the
//! access matrix (entitlements and approval policies), gateways with when each last asked for its
//! state, and the ticket connector with when it last answered; and the one admin change the pages make beyond the service's
//! other calls: a contract's end date.

use crate::admin::PersonSpec;
use crate::domain::directory::{Device, Person, Role};
use crate::domain::entitlement::Entitlement;
use crate::domain::policy::ApprovalPolicy;
use crate::domain::resource::Resource;
use crate::store::{self, AuditFilter, AuditRead, GatewayRecord};
use crate::{Broker, Caller, Missing, ServiceResult};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Overview {
    pub people: Vec<(Person, Vec<Device>)>,
    pub resources: Vec<Resource>,
    pub entitlements: Vec<Entitlement>,
    pub policies: Vec<ApprovalPolicy>,
    /// Each gateway with its state revision.
    pub gateways: Vec<(GatewayRecord, i64)>,
    pub ticket_connector: &'static str,
    /// When the ticket system last answered a check of a request's ticket.
    pub ticket_last_answered: Option<OffsetDateTime>,
}

impl Broker {
    /// Everything admins oversee, admins only.
    pub async fn overview(&self, caller: &Caller) -> ServiceResult<Overview> {
        caller.person_with(&[Role::Admin])?;
        let checked = AuditFilter {
            action: "ticket.checked".into(),
            ..Default::default()
        };
        let mut conn = self.store().read().await?;
        let mut people = Vec::new();
        for person in store::people(&mut conn).await? {
            let devices = store::devices_of(&mut conn, &person.id).await?;
            people.push((person, devices));
        }
        Ok(Overview {
            people,
            resources: store::resources(&mut conn).await?,
            entitlements: store::entitlements(&mut conn).await?,
            policies: store::policies(&mut conn).await?,
            gateways: store::gateways(&mut conn).await?,
            ticket_connector: self.ticket_connector_name(),
            ticket_last_answered: AuditRead::search(&mut conn, &checked, 1)
                .await?
                .first()
                .map(|e| e.at),
        })
    }

    /// Sets (or clears) when a person's contract ends; at that instant their account and grants end.
    pub async fn set_contract_end(
        &self,
        caller: &Caller,
        id: &str,
        end: Option<OffsetDateTime>,
    ) -> ServiceResult<Person> {
        let admin = caller.person_with(&[Role::Admin])?;
        let person = {
            let mut conn = self.store().read().await?;
            store::person(&mut conn, id)
                .await?
                .ok_or_else(|| Missing::Person(id.to_string()))?
        };
        let spec = PersonSpec {
            id: person.id,
            name: person.name,
            email: person.email,
            company: person.company,
            roles: person.roles,
            groups: person.groups,
            contract_end: end,
            ticket_identities: person.ticket_identities,
        };
        self.put_person(&format!("person:{}", admin.id), spec).await
    }
}
