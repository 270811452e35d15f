//! What the admin CLI lists, as stored: people, a person's devices, resources, the access matrix,
//! approval policies, built-in tickets and gateways with their state revision.

use crate::domain::directory::{Device, Person};
use crate::domain::entitlement::Entitlement;
use crate::domain::policy::ApprovalPolicy;
use crate::domain::resource::Resource;
use crate::domain::ticket::Ticket;
use crate::store::{self, GatewayRecord};
use crate::{Broker, ServiceResult};

impl Broker {
    pub async fn person(&self, id: &str) -> ServiceResult<Option<Person>> {
        let mut conn = self.store().read().await?;
        Ok(store::person(&mut conn, id).await?)
    }

    pub async fn people(&self) -> ServiceResult<Vec<Person>> {
        let mut conn = self.store().read().await?;
        Ok(store::people(&mut conn).await?)
    }

    pub async fn devices_of(&self, person: &str) -> ServiceResult<Vec<Device>> {
        let mut conn = self.store().read().await?;
        Ok(store::devices_of(&mut conn, person).await?)
    }

    pub async fn resources(&self) -> ServiceResult<Vec<Resource>> {
        let mut conn = self.store().read().await?;
        Ok(store::resources(&mut conn).await?)
    }

    pub async fn entitlements(&self) -> ServiceResult<Vec<Entitlement>> {
        let mut conn = self.store().read().await?;
        Ok(store::entitlements(&mut conn).await?)
    }

    pub async fn policies(&self) -> ServiceResult<Vec<ApprovalPolicy>> {
        let mut conn = self.store().read().await?;
        Ok(store::policies(&mut conn).await?)
    }

    pub async fn builtin_ticket(&self, key: &str) -> ServiceResult<Option<Ticket>> {
        let mut conn = self.store().read().await?;
        Ok(store::builtin_ticket(&mut conn, key).await?)
    }

    pub async fn builtin_tickets(&self) -> ServiceResult<Vec<Ticket>> {
        let mut conn = self.store().read().await?;
        Ok(store::builtin_tickets(&mut conn).await?)
    }

    /// Each gateway with the revision of its desired state.
    pub async fn gateways(&self) -> ServiceResult<Vec<(GatewayRecord, i64)>> {
        let mut conn = self.store().read().await?;
        Ok(store::gateways(&mut conn).await?)
    }
}
