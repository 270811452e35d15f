//! Group commit for insert-only changes: new access requests and grants from many callers are
//! written together, in one transaction with one audit-chain append, instead of one each. Inside
//! that transaction each grant's person and device are read again (for the whole batch at once,
//! and only if the directory was written since the decision read them: `Change::directory_revision`):
//! an insertion whose device was revoked (or whose account ended) since its decision is refused
//! alone, and the rest is written.

use super::audit_log::DraftEntry;
use super::bulk;
use super::repo::{decode, grant_row, request_row, GRANTS, REQUESTS};
use super::{Backend, Change, Stale, Store, StoreError, StoreResult};
use crate::domain::directory::{Device, Person};
use crate::domain::emergency::EmergencyStop;
use crate::domain::entitlement::Entitlement;
use crate::domain::grant::GrantRecord;
use crate::domain::request::AccessRequest;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// New rows only: nothing here reads or updates an existing row, so callers cannot conflict.
#[derive(Debug, Default)]
pub struct Insertion {
    pub requests: Vec<AccessRequest>,
    pub grants: Vec<GrantRecord>,
    /// Drafted when added (`Insertion::audit`): the committer only chains them.
    pub audit: Vec<DraftEntry>,
    /// The entitlements the decision rested on: one no longer the person's (an access review removed
    /// it, or they left its group) refuses the write.
    pub rests_on: Vec<Entitlement>,
    /// The count of directory writes (`Change::directory_revision`) as of the decision's read of the
    /// people, devices and stops checked below, when it read them all at that count (and checked
    /// them as `Directory::still_stands` does). If no write came since, the write trusts that
    /// read; if one did, or this is unset, it reads them again.
    pub directory_read_at: Option<i64>,
}

impl Insertion {
    /// Whether writing it depends on anyone's state: it issues grants, or rests on entitlements.
    fn names_anyone(&self) -> bool {
        !self.grants.is_empty() || !self.rests_on.is_empty()
    }

    pub fn audit(
        &mut self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) {
        self.audit
            .push(DraftEntry::new(at, actor, action, subject, &details));
    }
}

/// An insertion's rows written out as JSON text (`bulk`) in its caller's task, so that the
/// committer, holding the audit head, only joins them.
pub(super) struct Rows {
    requests: Vec<String>,
    grants: Vec<String>,
}

impl Rows {
    fn of(insertion: &Insertion) -> Rows {
        Rows {
            requests: insertion
                .requests
                .iter()
                .map(|r| request_row(r).to_string())
                .collect(),
            grants: insertion
                .grants
                .iter()
                .map(|g| grant_row(g).to_string())
                .collect(),
        }
    }
}

pub(super) type Job = (Insertion, Rows, oneshot::Sender<StoreResult<()>>);

/// The committer's job for `insertion`, its rows written out here, in the caller's task.
fn job(insertion: Insertion, reply: oneshot::Sender<StoreResult<()>>) -> Job {
    let rows = Rows::of(&insertion);
    (insertion, rows, reply)
}

/// Most insertions written in one transaction.
const MAX_BATCH: usize = 256;

impl Store {
    /// Writes `insertion` atomically, sharing a transaction with whatever else is waiting.
    pub async fn insert(&self, insertion: Insertion) -> StoreResult<()> {
        let sender = self.committer.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4096);
            tokio::spawn(run(self.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        sender
            .send(job(insertion, reply))
            .await
            .map_err(|_| StoreError::Config("the committer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Config("the committer stopped".into()))?
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        // The batch closes once the audit head is this broker's: what arrives while it waits for
        // the head (another broker committing) is written now, not a turn later.
        let change = store.change().await;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let insertions: Vec<(&Insertion, &Rows)> = batch.iter().map(|(i, rows, _)| (i, rows)).collect();
        let written = async { write_in(change?, &insertions).await };
        let verdicts = match written.await {
            Ok(verdicts) => verdicts,
            // One bad insertion must not fail everyone else's: each is written again on its own.
            // …unless the database went away: then none was written (or, at commit, none is known to be).
            Err(e)
                if insertions.len() > 1
                    && !e.is_transient()
                    && !matches!(e, StoreError::CommitUnknown(_)) =>
            {
                tracing::warn!(error = %e, size = insertions.len(), "a group commit failed; writing its insertions one by one");
                let mut one_by_one = Vec::with_capacity(insertions.len());
                for &insertion in &insertions {
                    one_by_one.push(alone(&store, insertion).await);
                }
                one_by_one
            }
            Err(e) => {
                tracing::error!(error = %e, size = insertions.len(), "insertions could not be written; they are refused");
                insertions.iter().map(|_| Err(e.for_each_caller())).collect()
            }
        };
        for ((_, _, reply), verdict) in batch.into_iter().zip(verdicts) {
            let _ = reply.send(verdict);
        }
    }
}

/// Writes one insertion in a transaction of its own.
async fn alone(store: &Store, insertion: (&Insertion, &Rows)) -> StoreResult<()> {
    let written = async { write_in(store.change().await?, &[insertion]).await };
    match written.await {
        Ok(mut verdicts) => verdicts.pop().unwrap_or(Ok(())),
        Err(e) => Err(failed(e)),
    }
}

fn failed(e: StoreError) -> StoreError {
    tracing::error!(error = %e, "an insertion could not be written; it is refused");
    e.for_each_caller()
}

/// Writes the insertions whose grants still stand (each with its rows), in `change` — begun, and so
/// holding the audit head, before `all` was gathered; says for each whether it was written (`Ok`)
/// or why not.
async fn write_in(mut change: Change, all: &[(&Insertion, &Rows)]) -> StoreResult<Vec<StoreResult<()>>> {
    // Read after the audit head's lock: a stop committed before this write is seen. Insertions
    // whose decision read the directory at the count it still has need no second read.
    let unchanged = Some(change.directory_revision());
    let read_again = |i: &Insertion| i.directory_read_at != unchanged && i.names_anyone();
    let to_check: Vec<&Insertion> = all.iter().map(|(i, _)| *i).filter(|i| read_again(i)).collect();
    let now_as = match to_check.is_empty() {
        true => None,
        false => Some(Directory::read(change.conn(), &to_check).await?),
    };
    let verdicts: Vec<StoreResult<()>> = all
        .iter()
        .map(|(i, _)| match &now_as {
            Some(directory) if read_again(i) => directory.still_stands(i).map_err(StoreError::Stale),
            _ => Ok(()),
        })
        .collect();
    let batch = all
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.is_ok())
        .map(|(written, _)| *written);
    change.stage(
        &REQUESTS,
        bulk::array(batch.clone().flat_map(|(_, rows)| &rows.requests)),
    );
    change.stage(
        &GRANTS,
        bulk::array(batch.clone().flat_map(|(_, rows)| &rows.grants)),
    );
    for (i, _) in batch {
        for g in &i.grants {
            change.grant_changed(&g.grant.gateway, g.grant.id, g.grant.not_before);
        }
        for entry in &i.audit {
            change.append(entry);
        }
    }
    change.commit().await?;
    Ok(verdicts)
}

/// The people and devices a batch's insertions name, and the emergency stops in force, as they are
/// inside the write's transaction.
struct Directory {
    people: HashMap<String, Person>,
    devices: HashMap<String, Device>,
    stops: Vec<EmergencyStop>,
}

impl Directory {
    /// One statement whatever the batch's size (`bulk`): it runs while the audit head is held.
    async fn read(conn: &mut sqlx::AnyConnection, all: &[&Insertion]) -> StoreResult<Directory> {
        let mut people = BTreeSet::new();
        let mut devices = BTreeSet::new();
        for insertion in all {
            for record in &insertion.grants {
                people.insert(record.grant.person.as_str());
                devices.insert(record.grant.device.id.as_str());
            }
            if insertion.grants.is_empty() && !insertion.rests_on.is_empty() {
                people.extend(insertion.requests.iter().map(|r| r.requester.as_str()));
            }
        }
        let backend = Backend::of(conn);
        let sql = format!(
            "SELECT 's', data FROM emergency_stops WHERE state = 'in_force' \
             UNION ALL SELECT 'p', data FROM people WHERE id IN ({}) \
             UNION ALL SELECT 'd', data FROM devices WHERE id IN ({})",
            bulk::keys(backend, 1),
            bulk::keys(backend, 2)
        );
        let rows = sqlx::query(&sql)
            .bind(bulk::json(people))
            .bind(bulk::json(devices))
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Directory {
            people: HashMap::new(),
            devices: HashMap::new(),
            stops: Vec::new(),
        };
        for row in rows {
            let kind: String = row.try_get(0)?;
            match kind.as_str() {
                "p" => {
                    let p: Person = decode(&row, "data")?;
                    out.people.insert(p.id.clone(), p);
                }
                "d" => {
                    let d: Device = decode(&row, "data")?;
                    out.devices.insert(d.id.clone(), d);
                }
                _ => out.stops.push(decode(&row, "data")?),
            }
        }
        out.stops.sort_by_key(|s| s.proposed_at);
        Ok(out)
    }

    /// Whether every grant of `insertion` still has an active person and their unrevoked device, no
    /// emergency stop in force covers the person, and every entitlement it rests on is still theirs.
    fn still_stands(&self, insertion: &Insertion) -> Result<(), Stale> {
        let removed = |person: &Person| {
            insertion
                .rests_on
                .iter()
                .find(|e| !e.is_for(person))
                .map(|e| Stale::NoLongerEntitled {
                    person: person.id.clone(),
                    entitlement: e.id.clone(),
                })
        };
        for record in &insertion.grants {
            let g = &record.grant;
            let device = self.devices.get(&g.device.id);
            if !device.is_some_and(|d| !d.revoked && d.person == g.person) {
                return Err(Stale::DeviceGone(g.device.id.clone()));
            }
            let person = self.people.get(&g.person);
            let Some(person) = person.filter(|p| p.is_active(g.not_before)) else {
                return Err(Stale::AccountEnded(g.person.clone()));
            };
            if let Some(stop) = self.stops.iter().find(|s| s.scope.covers(person)) {
                return Err(Stale::EmergencyStop(Box::new(stop.clone())));
            }
            if let Some(stale) = removed(person) {
                return Err(stale);
            }
        }
        // A request left waiting for approvers: its requester's entitlements (the grants above
        // checked them otherwise).
        if insertion.grants.is_empty() && !insertion.rests_on.is_empty() {
            for r in &insertion.requests {
                if let Some(stale) = self.people.get(&r.requester).and_then(removed) {
                    return Err(stale);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::directory::{Device, Person};
    use crate::domain::grant;
    use crate::store::sqlite_store;
    use serde_json::json;

    /// Writes `all` in one transaction as the committer would (`write_in`).
    async fn write(store: &Store, all: &[&Insertion]) -> StoreResult<Vec<StoreResult<()>>> {
        let rows: Vec<Rows> = all.iter().map(|i| Rows::of(i)).collect();
        let with_rows: Vec<(&Insertion, &Rows)> = all.iter().copied().zip(&rows).collect();
        write_in(store.change().await?, &with_rows).await
    }

    fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn ana() -> Person {
        from_json(json!({
            "id": "ana", "name": "Ana", "email": "ana@example.com", "company": "Acme",
            "roles": ["contractor"], "groups": [], "contract_end": null, "disabled": false
        }))
    }

    /// A WireGuard public key for the test's device and gateway.
    const WG_KEY: &str = "YCwTqRYjRZz5ClbB3NGJ8Bd/TqvbQsBIzLrt2XHVemI=";

    fn device(id: &str) -> Device {
        Device {
            id: id.into(),
            person: "ana".into(),
            name: id.into(),
            wireguard_public_key: WG_KEY.into(),
            tunnel_address: "100.96.0.2/32".into(),
            revoked: false,
            report_public_key: None,
        }
    }

    /// Ana's auto-approved request, decided while `device` was hers and live.
    /// Stores `person` and `devices`, committed.
    async fn seed(store: &Store, person: &Person, devices: &[&Device]) {
        let mut change = store.change().await.unwrap();
        super::super::put_person(&mut change, person).await.unwrap();
        change.commit().await.unwrap();
        seed_devices(store, devices).await;
    }

    /// Stores `devices` (as they now are), committed.
    async fn seed_devices(store: &Store, devices: &[&Device]) {
        let mut change = store.change().await.unwrap();
        for d in devices {
            super::super::put_device(&mut change, d).await.unwrap();
        }
        change.commit().await.unwrap();
    }

    fn insertion_for(ana: &Person, device: &Device) -> Insertion {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let request: AccessRequest = from_json(json!({
            "id": uuid::Uuid::new_v4(), "requester": "ana", "device": device.id, "resources": ["db"],
            "ticket": "OPS-1", "reason": "r", "duration_seconds": 3600, "policy": "p",
            "approvals_required": 1, "approvals": [], "created_at": "2024-10-04T00:00:00Z",
            "expires_at": "2024-10-04T01:00:00Z", "state": {"state": "pending"}, "ticket_snapshot": null,
            "needs_approval_because": null
        }));
        let db: crate::domain::resource::Resource = from_json(json!({
            "name": "db", "address": "10.0.0.5/32", "protocol": "tcp", "ports": [{"first": 5432, "last": 5432}],
            "tags": [], "gateway": "gw1", "description": ""
        }));
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let mut insertion = Insertion::default();
        insertion
            .grants
            .push(grant::issue(&request, ana, device, &[&db], &key, now));
        insertion.requests.push(request);
        insertion
    }

    #[tokio::test]
    async fn a_grant_decided_before_an_emergency_stop_and_written_after_it_is_refused() {
        use crate::domain::emergency::{EmergencyStop, StopScope};
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (ana, laptop) = (ana(), device("ana-laptop"));
        seed(&store, &ana, &[&laptop]).await;
        let decided = insertion_for(&ana, &laptop);
        // Another company's stop does not touch Ana; one for everyone does.
        for (scope, refused) in [
            (StopScope::Company("Initech".into()), false),
            (StopScope::Everyone, true),
        ] {
            let now = OffsetDateTime::UNIX_EPOCH;
            let mut stop = EmergencyStop::propose(scope, "breach", "cli:root", now).unwrap();
            stop.start("cli:root", true, now).unwrap();
            let mut change = store.change().await.unwrap();
            super::super::put_emergency_stop(&mut change, &stop)
                .await
                .unwrap();
            change.commit().await.unwrap();
            let mut retry = insertion_for(&ana, &laptop);
            retry.grants[0].grant.id = uuid::Uuid::new_v4();
            let insertion = if refused { &decided } else { &retry };
            let verdicts = write(&store, &[insertion]).await.unwrap();
            match (refused, verdicts.as_slice()) {
                (true, [Err(StoreError::Stale(Stale::EmergencyStop(s)))]) => assert_eq!(s.id, stop.id),
                (false, [Ok(())]) => {}
                _ => panic!("refused {refused}: {verdicts:?}"),
            }
        }
        let mut conn = store.read().await.unwrap();
        assert!(super::super::grant(&mut conn, decided.grants[0].grant.id)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_decision_resting_on_an_entitlement_no_longer_the_persons_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (mut ana, laptop) = (ana(), device("ana-laptop"));
        ana.groups.insert("dba".into());
        seed(&store, &ana, &[&laptop]).await;
        let entitlement = |id: &str, subject: &str| -> Entitlement {
            from_json(json!({
                "id": id, "subject": subject, "selector": "resource:db",
                "max_duration_seconds": 3600, "policy": "low"
            }))
        };
        let fresh = |rests_on: Entitlement, grants: bool| {
            let mut i = insertion_for(&ana, &laptop);
            i.grants[0].grant.id = uuid::Uuid::new_v4();
            i.requests[0].id = uuid::Uuid::new_v4();
            if !grants {
                i.grants.clear();
            }
            i.rests_on = vec![rests_on];
            i
        };
        // Decided while ana held both; then a review took "ana-db" and she left group dba.
        let reviewed = fresh(entitlement("ana-db", "person:ana"), true);
        let waiting = fresh(entitlement("ana-db", "person:ana"), false);
        let left = fresh(entitlement("dba-db", "group:dba"), true);
        let still = fresh(entitlement("ana-wiki", "person:ana"), true);
        ana.entitlements_removed.insert("ana-db".into());
        ana.groups.clear();
        seed(&store, &ana, &[]).await;
        let verdicts = write(&store, &[&reviewed, &waiting, &left, &still])
            .await
            .unwrap();
        let refused = |v: &StoreResult<()>, id: &str| matches!(v, Err(StoreError::Stale(Stale::NoLongerEntitled { entitlement, .. })) if entitlement == id);
        assert!(
            refused(&verdicts[0], "ana-db") && refused(&verdicts[1], "ana-db"),
            "{verdicts:?}"
        );
        assert!(refused(&verdicts[2], "dba-db"), "{verdicts:?}");
        assert!(verdicts[3].is_ok(), "{verdicts:?}");
    }

    #[tokio::test]
    async fn a_grant_whose_device_was_revoked_meanwhile_is_refused_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (ana, laptop, desk) = (ana(), device("ana-laptop"), device("ana-desk"));
        seed(&store, &ana, &[&laptop, &desk]).await;
        // Both decided while the laptop was live; the laptop is revoked before the write.
        let (stolen, fine) = (insertion_for(&ana, &laptop), insertion_for(&ana, &desk));
        let revoked = Device {
            revoked: true,
            ..laptop.clone()
        };
        seed_devices(&store, &[&revoked]).await;
        let verdicts = write(&store, &[&stolen, &fine]).await.unwrap();
        assert!(
            matches!(
                verdicts.as_slice(),
                [Err(StoreError::Stale(Stale::DeviceGone(d))), Ok(())] if d == "ana-laptop"
            ),
            "{verdicts:?}"
        );
        let mut conn = store.read().await.unwrap();
        let kept = |g: &GrantRecord| g.grant.id;
        assert!(super::super::grant(&mut conn, kept(&stolen.grants[0]))
            .await
            .unwrap()
            .is_none());
        assert!(super::super::grant(&mut conn, kept(&fine.grants[0]))
            .await
            .unwrap()
            .is_some());
    }

    /// The count of directory writes (`Change::directory_revision`) as the next change sees it.
    async fn directory_count(store: &Store) -> i64 {
        store.change().await.unwrap().directory_revision()
    }

    #[tokio::test]
    async fn every_write_to_people_devices_and_stops_moves_the_directory_count() {
        use crate::domain::emergency::{EmergencyStop, StopScope};
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (ana, laptop) = (ana(), device("ana-laptop"));
        let stop = EmergencyStop::propose(
            StopScope::Everyone,
            "breach",
            "cli:root",
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        for what in ["person", "device", "stop", "nothing of the directory"] {
            let before = directory_count(&store).await;
            let mut change = store.change().await.unwrap();
            match what {
                "person" => super::super::put_person(&mut change, &ana).await.unwrap(),
                "device" => super::super::put_device(&mut change, &laptop).await.unwrap(),
                "stop" => super::super::put_emergency_stop(&mut change, &stop)
                    .await
                    .unwrap(),
                _ => change
                    .audit(OffsetDateTime::UNIX_EPOCH, "t", "t", "t", json!({}))
                    .await
                    .unwrap(),
            }
            change.commit().await.unwrap();
            let moved = directory_count(&store).await - before;
            assert_eq!(moved, i64::from(what != "nothing of the directory"), "{what}");
        }
    }

    #[tokio::test]
    async fn a_decision_is_checked_again_unless_it_read_the_directory_at_its_current_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (ana, laptop) = (ana(), device("ana-laptop"));
        seed(&store, &ana, &[&laptop]).await;
        // Decided at the current count; the laptop is revoked before the write, which moves the
        // count: the write reads the directory again and refuses the grant.
        let mut stolen = insertion_for(&ana, &laptop);
        stolen.directory_read_at = Some(directory_count(&store).await);
        let revoked = Device {
            revoked: true,
            ..laptop.clone()
        };
        seed_devices(&store, &[&revoked]).await;
        let verdicts = write(&store, &[&stolen]).await.unwrap();
        assert!(
            matches!(verdicts.as_slice(), [Err(StoreError::Stale(Stale::DeviceGone(d)))] if d == "ana-laptop"),
            "{verdicts:?}"
        );
        // At the current count the decision's own read is trusted: nothing is read again, shown
        // with a device the store never had (a second read would refuse it) — and without a count,
        // it is read again.
        let unknown = device("never-stored");
        let mut trusted = insertion_for(&ana, &unknown);
        trusted.directory_read_at = Some(directory_count(&store).await);
        let unset = insertion_for(&ana, &unknown);
        let verdicts = write(&store, &[&trusted, &unset]).await.unwrap();
        assert!(
            matches!(
                verdicts.as_slice(),
                [Ok(()), Err(StoreError::Stale(Stale::DeviceGone(d)))] if d == "never-stored"
            ),
            "{verdicts:?}"
        );
    }

    #[tokio::test]
    async fn a_batch_naming_hundreds_of_devices_checks_every_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let ana = ana();
        // More keys than either database takes as parameters of one statement (SQLite's old
        // limit, 999): the keys travel as one JSON array.
        let count = 1_050;
        let devices: Vec<Device> = (0..count)
            .map(|i| Device {
                wireguard_public_key: format!("key-{i:03}"),
                ..device(&format!("dev-{i:03}"))
            })
            .collect();
        let mut change = store.change().await.unwrap();
        super::super::put_person(&mut change, &ana).await.unwrap();
        for d in &devices {
            super::super::put_device(&mut change, d).await.unwrap();
        }
        // The last device is revoked before the write.
        let last = devices.last().unwrap();
        let revoked = Device {
            revoked: true,
            ..last.clone()
        };
        super::super::put_device(&mut change, &revoked).await.unwrap();
        change.commit().await.unwrap();
        let insertions: Vec<Insertion> = devices.iter().map(|d| insertion_for(&ana, d)).collect();
        let all: Vec<&Insertion> = insertions.iter().collect();
        let verdicts = write(&store, &all).await.unwrap();
        let (live, on_the_revoked) = verdicts.split_at(count - 1);
        assert!(live.iter().all(Result::is_ok), "{live:?}");
        assert!(
            matches!(on_the_revoked, [Err(StoreError::Stale(Stale::DeviceGone(d)))] if *d == last.id),
            "{on_the_revoked:?}"
        );
    }

    #[tokio::test]
    async fn insertions_queued_while_the_committer_waits_for_the_head_join_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let (ana, laptop) = (ana(), device("ana-laptop"));
        let gw1 = super::super::GatewayRecord {
            name: "gw1".into(),
            endpoint: "203.0.113.7:51820".into(),
            wireguard_public_key: WG_KEY.into(),
            last_seen: None,
        };
        let mut change = store.change().await.unwrap();
        super::super::put_person(&mut change, &ana).await.unwrap();
        super::super::put_device(&mut change, &laptop).await.unwrap();
        super::super::put_gateway(change.conn(), &gw1, "hash")
            .await
            .unwrap();
        change.commit().await.unwrap();
        let revision = || async {
            let mut conn = store.read().await.unwrap();
            super::super::gateway(&mut conn, "gw1").await.unwrap().unwrap().1
        };
        let before = revision().await;

        // Another change holds the head while the first insertion arrives.
        let holder = store.change().await.unwrap();
        let (jobs, queue) = mpsc::channel(8);
        let committer = tokio::spawn(run(store.clone(), queue));
        let mut answers = Vec::new();
        let mut next = || {
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            job(insertion_for(&ana, &laptop), reply)
        };
        jobs.send(next()).await.unwrap();
        // Taken off the queue: the committer now waits for the head.
        while jobs.capacity() < jobs.max_capacity() {
            tokio::task::yield_now().await;
        }
        jobs.send(next()).await.unwrap();
        jobs.send(next()).await.unwrap();
        holder.commit().await.unwrap();
        for answer in answers {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(
            revision().await,
            before + 1,
            "the three grants were written in one change (one revision of their gateway)"
        );
        drop(jobs);
        committer.await.unwrap();
    }

    #[tokio::test]
    async fn one_bad_insertion_does_not_fail_the_others_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let mut good = Insertion::default();
        good.audit(OffsetDateTime::UNIX_EPOCH, "broker", "good", "s", json!({}));
        // A request row that exists already fails its INSERT, and so the whole transaction.
        let mut bad = insertion_for(&ana(), &device("d"));
        bad.grants.clear();
        let mut change = store.change().await.unwrap();
        super::super::put_request(change.conn(), &bad.requests[0])
            .await
            .unwrap();
        change.commit().await.unwrap();
        let (jobs, queue) = mpsc::channel(4);
        let (bad_reply, bad_answer) = oneshot::channel();
        let (good_reply, good_answer) = oneshot::channel();
        jobs.send(job(bad, bad_reply)).await.unwrap();
        jobs.send(job(good, good_reply)).await.unwrap();
        drop(jobs);
        run(store.clone(), queue).await;
        assert!(matches!(bad_answer.await.unwrap(), Err(StoreError::Batch(_))));
        assert!(good_answer.await.unwrap().is_ok());
        let mut conn = store.read().await.unwrap();
        let (entries, _) = super::super::AuditRead::head(&mut conn).await.unwrap();
        assert_eq!(entries, 1, "the good insertion's audit entry, alone");
    }
}
