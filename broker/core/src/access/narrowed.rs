//! When a person may request less than before (an access review removed an entitlement from them,
//! they left a group): their live grants and waiting requests for what they may no longer request
//! end at once, in the same change.

use crate::domain::directory::Person;
use crate::domain::entitlement::entitled_resources;
use crate::domain::grant::EndReason;
use crate::store::{self, Change};
use crate::{Broker, ServiceResult};
use serde_json::json;
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// What ending the access a person lost did.
#[derive(Debug, Default)]
pub(crate) struct Narrowed {
    pub grants_ended: Vec<Uuid>,
    pub requests_denied: Vec<Uuid>,
}

impl Broker {
    /// Inside `change`: ends `person`'s live grants (with `reason`) and denies their waiting
    /// requests that name a resource the access matrix no longer lets them request.
    pub(crate) async fn end_what_is_no_longer_entitled(
        &self,
        change: &mut Change,
        person: &Person,
        reason: EndReason,
        actor: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> ServiceResult<Narrowed> {
        let resources = store::resources(change.conn()).await?;
        let matrix = store::entitlements(change.conn()).await?;
        let still: BTreeSet<String> = entitled_resources(person, &resources, &matrix)
            .into_iter()
            .map(|e| e.resource.name.clone())
            .collect();
        let mut out = Narrowed::default();
        for mut g in store::open_grants_of_person(change.conn(), &person.id).await? {
            let uncovered = g.grant.resources.iter().any(|r| !still.contains(&r.name));
            if uncovered && g.end(reason, actor, detail, now).is_ok() {
                self.commit_grant_end(change, &g, now).await?;
                out.grants_ended.push(g.grant.id);
            }
        }
        for mut r in store::pending_requests(change.conn()).await? {
            let uncovered = r.requester == person.id && r.resources.iter().any(|n| !still.contains(n));
            if uncovered && r.deny(actor, detail, now).is_ok() {
                store::put_request(change.conn(), &r).await?;
                change
                    .audit(
                        now,
                        actor,
                        "request.denied",
                        &r.id.to_string(),
                        json!({ "reason": detail }),
                    )
                    .await?;
                out.requests_denied.push(r.id);
            }
        }
        Ok(out)
    }
}
