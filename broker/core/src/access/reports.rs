//! Each broker's decoded copies of devices' latest posture reports. A stored report never changes,
//! so while a device has not reported again its decisions use the copy, and the database sends
//! only the report's id (not its facts, ~3 KB of JSON to read, send and decode).

use crate::store::{LatestReport, PostureRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most devices whose report is kept (each a few kilobytes, decoded).
const KEPT: usize = 4_096;

#[derive(Debug, Default)]
pub(crate) struct ReportCopies(Mutex<HashMap<String, Arc<PostureRecord>>>);

impl ReportCopies {
    fn copies(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PostureRecord>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The copy kept for `device`.
    pub(crate) fn of(&self, device: &str) -> Option<Arc<PostureRecord>> {
        self.copies().get(device).cloned()
    }

    /// `device`'s latest report as a decision read it, given the copy it asked with (`held`): a
    /// report read anew is kept in place of that copy, and none read (all pruned) drops it.
    pub(crate) fn latest(
        &self,
        device: &str,
        held: Option<Arc<PostureRecord>>,
        read: LatestReport,
    ) -> Option<Arc<PostureRecord>> {
        match read {
            LatestReport::None => {
                self.copies().remove(device);
                None
            }
            LatestReport::AsKnown => held,
            LatestReport::Read(record) => {
                let mut copies = self.copies();
                if copies.len() >= KEPT && !copies.contains_key(device) {
                    // Any one goes: its device's next decision reads its report again.
                    if let Some(other) = copies.keys().next().cloned() {
                        copies.remove(&other);
                    }
                }
                copies.insert(device.to_string(), record.clone());
                Some(record)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_posture::evaluate::Report;
    use daypass_posture::signed_report::{Attestation, ReportClaims};
    use daypass_posture::system::FixtureSystem;
    use time::OffsetDateTime;
    use uuid::Uuid;

    fn record(device: &str) -> Arc<PostureRecord> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../posture/tests/fixtures/ubuntu-24.04-lvm-on-luks"
        );
        let system = FixtureSystem::open(std::path::Path::new(dir)).unwrap();
        let at = OffsetDateTime::UNIX_EPOCH;
        Arc::new(PostureRecord {
            id: Uuid::new_v4(),
            device: device.into(),
            received_at: at,
            report: Report {
                facts_schema: 1,
                evaluated_at: at,
                baseline_digest: None,
                results: vec![],
                compliant: true,
            },
            claims: ReportClaims {
                device: device.into(),
                nonce: "n".into(),
                facts: daypass_posture::probes::collect(&system),
                baseline_digest: None,
                attestation: Attestation::Software,
            },
        })
    }

    #[test]
    fn a_report_read_anew_replaces_the_copy_and_the_copies_stay_bounded() {
        let copies = ReportCopies::default();
        let first = record("d0");
        let kept = copies.latest("d0", None, LatestReport::Read(first.clone()));
        assert_eq!(kept.map(|r| r.id), Some(first.id));
        let held = copies.of("d0");
        assert_eq!(held.as_ref().map(|r| r.id), Some(first.id));
        assert_eq!(
            copies
                .latest("d0", held.clone(), LatestReport::AsKnown)
                .map(|r| r.id),
            Some(first.id)
        );
        let newer = record("d0");
        copies.latest("d0", held, LatestReport::Read(newer.clone()));
        assert_eq!(copies.of("d0").map(|r| r.id), Some(newer.id));
        assert!(copies.latest("d0", None, LatestReport::None).is_none());
        assert!(copies.of("d0").is_none(), "no report left: no copy either");

        // One record shared by many devices: only the bound is under test here.
        for n in 1..=KEPT {
            copies.latest(&format!("d{n}"), None, LatestReport::Read(newer.clone()));
        }
        assert_eq!(copies.copies().len(), KEPT);
        assert!(copies.of(&format!("d{KEPT}")).is_some(), "the newest is kept");
    }
}
