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
    pub baseline: BaselineHealth,
}

/// The posture baseline in force, as IT must watch it: it expires, and then patch checks cannot pass.
#[derive(Debug, Clone)]
pub struct BaselineHealth {
    /// Where it comes from, e.g. `shipped with Daypass`.
    pub origin: String,
    pub valid_until: Option<OffsetDateTime>,
    /// It expires soon: what to do.
    pub warning: Option<String>,
    /// It judges nothing (missing, expired, signature): why.
    pub problem: Option<String>,
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
            baseline: self.baseline_health(),
        })
    }

    /// The baseline in force, judged now.
    pub fn baseline_health(&self) -> BaselineHealth {
        let now = self.now();
        let verified = self.posture_baseline(now);
        let valid_until = self
            .0
            .settings
            .posture
            .baseline
            .as_ref()
            .and_then(|(signed, key)| signed.verify(key).ok())
            .map(|b| b.valid_until);
        BaselineHealth {
            origin: self.0.settings.posture.baseline_origin.clone(),
            valid_until,
            warning: verified
                .as_ref()
                .ok()
                .and_then(|v| daypass_posture::baseline::expiry_warning(&v.baseline, now)),
            problem: verified.as_ref().err().map(|p| p.to_string()),
        }
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
            contract_end: end,
            ..PersonSpec::from(&person)
        };
        self.put_person(&format!("person:{}", admin.id), spec).await
    }
}
