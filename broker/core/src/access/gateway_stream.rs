//! What each gateway must enforce: its whole state (every standing grant for it, sealed), and the
//! delta from a revision it holds to the newest, read from the gateway change log so a change costs
//! the same at 10 grants and at 10,000.

use crate::domain::directory::{Device, Person};
use crate::domain::grant::GrantRecord;
use crate::store;
use crate::{Broker, Missing, ServiceResult};
use daypass_proto::api::{GatewayDelta, GatewayState, StateSeal};
use std::collections::{BTreeSet, HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a gateway's stream last sent it: the revision and the ids of the grants in that state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHeld {
    pub revision: i64,
    pub grants: BTreeSet<Uuid>,
}

/// The stream's next event.
#[derive(Debug)]
pub enum StreamNext {
    /// Nothing changed since the revision held.
    Unchanged,
    Delta(GatewayDelta),
    /// The log no longer reaches back to the revision held: the whole state again.
    Full(GatewayState),
}

impl Broker {
    /// The desired state of one gateway: every live grant for it that is not held, signed.
    pub async fn gateway_state(&self, gateway: &str) -> ServiceResult<GatewayState> {
        Ok(self.gateway_state_held(gateway).await?.0)
    }

    /// The whole state, and what a stream that sends it then holds.
    pub async fn gateway_state_held(&self, gateway: &str) -> ServiceResult<(GatewayState, StreamHeld)> {
        let mut conn = self.store().read().await?;
        let (_, revision) = store::gateway(&mut conn, gateway)
            .await?
            .ok_or_else(|| Missing::Gateway(gateway.to_string()))?;
        let now = self.now();
        let grants = store::open_grants_of_gateway(&mut conn, gateway).await?;
        // Revoking a device or ending an account ends its grants; should one be missed (a write
        // racing the revocation), the gateway is still never told to let it in. Held grants are
        // left out until a compliant report releases them.
        let live: Vec<_> = grants.into_iter().filter(|g| g.is_enforced(now)).collect();
        let (people, devices) = if live.is_empty() {
            (vec![], vec![])
        } else {
            store::holders_on_gateway(&mut conn, gateway).await?
        };
        let active: HashSet<&str> = people
            .iter()
            .filter(|p| p.is_active(now))
            .map(|p| p.id.as_str())
            .collect();
        let unrevoked: HashSet<(&str, &str)> = devices
            .iter()
            .filter(|d| !d.revoked)
            .map(|d| (d.id.as_str(), d.person.as_str()))
            .collect();
        let standing: Vec<_> = live
            .into_iter()
            .filter(|g| {
                let grant = &g.grant;
                active.contains(grant.person.as_str())
                    && unrevoked.contains(&(grant.device.id.as_str(), grant.person.as_str()))
            })
            .collect();
        let held = StreamHeld {
            revision,
            grants: standing.iter().map(|g| g.grant.id).collect(),
        };
        let seal = StateSeal::sign(
            gateway,
            (self.0.settings.gateway_state_epoch, revision),
            now,
            held.grants.iter().copied(),
            &self.0.key,
        );
        let state = GatewayState {
            gateway: gateway.to_string(),
            revision,
            generated_at: now,
            grants: standing.into_iter().map(|g| g.signed).collect(),
            seal,
        };
        Ok((state, held))
    }

    /// What a stream holding `held` sends next; `held` becomes what it holds after sending it.
    /// Each grant the log names since `held.revision` is judged afresh (issued, ended, held,
    /// released: all read the same), so a change read twice, or read after a later one, is harmless.
    pub async fn gateway_next(&self, gateway: &str, held: &mut StreamHeld) -> ServiceResult<StreamNext> {
        let mut conn = self.store().read().await?;
        let store::GatewayChanges {
            logged,
            grants: mut records,
            people,
            devices,
        } = store::gateway_changes_since(&mut conn, gateway, held.revision).await?;
        drop(conn);
        let Some(&(revision, _)) = logged.last() else {
            return Ok(StreamNext::Unchanged);
        };
        // Every revision bump logs its grants, so a gap means the log was pruned past `held`.
        let contiguous = logged
            .iter()
            .try_fold(held.revision, |last, &(r, _)| {
                (r == last || r == last + 1).then_some(r)
            })
            .is_some();
        if !contiguous {
            let (state, fresh) = self.gateway_state_held(gateway).await?;
            *held = fresh;
            return Ok(StreamNext::Full(state));
        }
        let now = self.now();
        // Read and judged first, then applied: a read failing leaves `held` as it was sent.
        let named: BTreeSet<Uuid> = logged.into_iter().map(|(_, id)| id).collect();
        let verdicts: Vec<(Uuid, Option<GrantRecord>)> = named
            .into_iter()
            .map(|id| {
                let record = records
                    .remove(&id)
                    .filter(|r| standing(r, gateway, &people, &devices, now));
                (id, record)
            })
            .collect();
        let base_revision = held.revision;
        let (mut added, mut ended) = (Vec::new(), Vec::new());
        for (id, standing) in verdicts {
            match standing {
                Some(record) if held.grants.insert(id) => added.push(record.signed),
                Some(_) => {}
                None if held.grants.remove(&id) => ended.push(id),
                None => {}
            }
        }
        held.revision = revision;
        let seal = StateSeal::sign_digest(
            gateway,
            (self.0.settings.gateway_state_epoch, revision),
            now,
            &held.grants,
            &self.0.key,
        );
        Ok(StreamNext::Delta(GatewayDelta {
            gateway: gateway.to_string(),
            base_revision,
            revision,
            generated_at: now,
            added,
            ended,
            seal,
        }))
    }
}

/// Whether the grant belongs in `gateway`'s state now (the same test as the whole state's): enforced,
/// its person active and its device theirs and unrevoked.
fn standing(
    record: &GrantRecord,
    gateway: &str,
    people: &HashMap<String, Person>,
    devices: &HashMap<String, Device>,
    now: OffsetDateTime,
) -> bool {
    let g = &record.grant;
    let active = people.get(&g.person).is_some_and(|p| p.is_active(now));
    let unrevoked = devices
        .get(&g.device.id)
        .is_some_and(|d| !d.revoked && d.person == g.person);
    g.gateway == gateway && record.is_enforced(now) && active && unrevoked
}
