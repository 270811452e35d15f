//! The audit chain: each entry carries the SHA-256 of the one before; signed checkpoints pin its length.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record: who did what to which subject, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry's contents chained to the previous entry's hash.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
) -> String {
    EntryContents::new(at, actor, action, subject, &details.to_string()).hash(prev_hash, seq)
}

/// An entry's contents as its hash reads them — one JSON object, keys in alphabetical order, no
/// spaces — split around the sequence number, which is known only once the entry takes its place
/// in the chain. Written out once, before that: chaining is then a hash over its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryContents {
    /// `{"action":…,"actor":…,"at":…,"details":…,"seq":`
    before_seq: String,
    /// `,"subject":…}`
    after_seq: String,
}

impl EntryContents {
    /// `details` is the details' JSON text, as stored.
    pub fn new(at: OffsetDateTime, actor: &str, action: &str, subject: &str, details: &str) -> EntryContents {
        let text = |s: &str| serde_json::Value::from(s).to_string();
        EntryContents {
            before_seq: format!(
                "{{\"action\":{},\"actor\":{},\"at\":{},\"details\":{details},\"seq\":",
                text(action),
                text(actor),
                at.unix_timestamp()
            ),
            after_seq: format!(",\"subject\":{}}}", text(subject)),
        }
    }

    /// The hash of the entry at `seq`, after the entry whose hash is `prev_hash`.
    pub fn hash(&self, prev_hash: &str, seq: i64) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.before_seq.as_bytes());
        h.update(seq.to_string().as_bytes());
        h.update(self.after_seq.as_bytes());
        hex::encode(h.finalize())
    }
}

impl AuditEntry {
    pub fn recompute_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.details,
        )
    }
}

/// A broker-signed statement that the chain had `seq` entries ending in `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub signature: String,
}

fn checkpoint_message(seq: i64, hash: &str, at: OffsetDateTime) -> Vec<u8> {
    format!("daypass-audit-checkpoint\n{seq}\n{hash}\n{}", at.unix_timestamp()).into_bytes()
}

impl Checkpoint {
    pub fn sign(seq: i64, hash: &str, at: OffsetDateTime, key: &SigningKey) -> Self {
        let sig = key.sign(&checkpoint_message(seq, hash, at));
        Checkpoint {
            seq,
            hash: hash.into(),
            at,
            signature: B64.encode(sig.to_bytes()),
        }
    }

    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = B64.decode(&self.signature) else {
            return false;
        };
        let Ok(arr) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return false;
        };
        key.verify(
            &checkpoint_message(self.seq, &self.hash, self.at),
            &Signature::from_bytes(&arr),
        )
        .is_ok()
    }
}

/// The first thing wrong with a chain, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: contents do not match its hash (the entry was edited)")]
    Edited { seq: i64 },
    #[error("entry {expected} is missing: the next entry found is {found} (entries were deleted)")]
    Missing { expected: i64, found: i64 },
    #[error("entry {seq} does not follow entry {prev}: its previous-hash link is broken (entries were deleted, inserted or reordered)")]
    BrokenLink { seq: i64, prev: i64 },
    #[error("the log ends at entry {last} but {what} covers entry {covered}: entries after {last} were removed (truncated)")]
    Truncated {
        last: i64,
        covered: i64,
        what: &'static str,
    },
    #[error("checkpoint at entry {seq}: {problem}")]
    BadCheckpoint { seq: i64, problem: &'static str },
}

/// What an intact chain looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainSummary {
    pub entries: i64,
    pub last_hash: String,
    pub checkpoints_verified: usize,
}

/// Walks the chain in `seq` order and checks links, hashes, the recorded head and the signed checkpoints.
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    checkpoints: Vec<Checkpoint>,
    verified: usize,
}

impl ChainVerifier {
    /// `checkpoints` in any order; every one must be validly signed and match the chain.
    pub fn new(key: &VerifyingKey, mut checkpoints: Vec<Checkpoint>) -> Result<Self, ChainBreak> {
        if let Some(bad) = checkpoints.iter().find(|c| !c.verify(key)) {
            return Err(ChainBreak::BadCheckpoint {
                seq: bad.seq,
                problem: "signature does not verify",
            });
        }
        checkpoints.sort_by_key(|c| std::cmp::Reverse(c.seq));
        Ok(ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.into(),
            checkpoints,
            verified: 0,
        })
    }

    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        if e.seq > self.expected_seq {
            return Err(ChainBreak::Missing {
                expected: self.expected_seq,
                found: e.seq,
            });
        }
        if e.seq < self.expected_seq || e.prev_hash != self.prev_hash {
            return Err(ChainBreak::BrokenLink {
                seq: e.seq,
                prev: self.expected_seq - 1,
            });
        }
        if e.recompute_hash() != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        while self.checkpoints.last().is_some_and(|c| c.seq == e.seq) {
            let c = self.checkpoints.pop().expect("checked by is_some_and");
            if c.hash != e.hash {
                return Err(ChainBreak::BadCheckpoint {
                    seq: c.seq,
                    problem: "hash differs from the entry's",
                });
            }
            self.verified += 1;
        }
        if let Some(c) = self.checkpoints.last().filter(|c| c.seq < e.seq) {
            return Err(ChainBreak::BadCheckpoint {
                seq: c.seq,
                problem: "names an entry that is not in the log",
            });
        }
        self.prev_hash = e.hash.clone();
        self.expected_seq += 1;
        Ok(())
    }

    /// `head` is the (seq, hash) the store recorded as its last append.
    pub fn finish(self, head: (i64, &str)) -> Result<ChainSummary, ChainBreak> {
        let last = self.expected_seq - 1;
        if let Some(c) = self.checkpoints.first() {
            return Err(ChainBreak::Truncated {
                last,
                covered: c.seq,
                what: "a signed checkpoint",
            });
        }
        if head.0 > last {
            return Err(ChainBreak::Truncated {
                last,
                covered: head.0,
                what: "the recorded chain head",
            });
        }
        if head.0 < last || head.1 != self.prev_hash {
            return Err(ChainBreak::BrokenLink {
                seq: last,
                prev: head.0,
            });
        }
        Ok(ChainSummary {
            entries: last,
            last_hash: self.prev_hash,
            checkpoints_verified: self.verified,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::OsRng;
    use time::macros::datetime;

    /// The chain's hashes are what auditors' tools recompute: their input must never change.
    #[test]
    fn an_entry_hashes_the_same_canonical_text_it_always_has() {
        let at = datetime!(2026-11-23 10:00 UTC);
        let details = serde_json::json!({
            "z": [1, "two", null], "a": {"nested": "quo\"te \\ back"}, "é": "\u{1}\n\u{263a}",
        });
        let (actor, action, subject) = ("person:ana \"x\"", "request.created", "req-1\u{7f}");
        // The text as it was built before the contents were written out ahead of the chaining.
        let body = serde_json::json!({
            "seq": 42, "at": at.unix_timestamp(), "actor": actor,
            "action": action, "subject": subject, "details": details,
        });
        let mut h = Sha256::new();
        h.update(b"prev\n");
        h.update(body.to_string().as_bytes());
        let expected = hex::encode(h.finalize());
        assert_eq!(
            entry_hash("prev", 42, at, actor, action, subject, &details),
            expected
        );
        assert_eq!(
            expected, "32df1c91d9a2fc672652e5181bd0ae9ceaab7995a05bcccf0e8c7bf64c22a57b",
            "the canonical text changed: every stored chain would stop verifying"
        );
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let at = datetime!(2026-11-23 10:00 UTC) + time::Duration::seconds(seq);
                let details = serde_json::json!({ "n": seq });
                let hash = entry_hash(&prev, seq, at, "ana", "request.created", "req-1", &details);
                let e = AuditEntry {
                    seq,
                    at,
                    actor: "ana".into(),
                    action: "request.created".into(),
                    subject: "req-1".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(
        entries: &[AuditEntry],
        cps: Vec<Checkpoint>,
        key: &SigningKey,
        head: (i64, &str),
    ) -> Result<ChainSummary, ChainBreak> {
        let vk = key.verifying_key();
        let mut v = ChainVerifier::new(&vk, cps)?;
        for e in entries {
            v.push(e)?;
        }
        v.finish(head)
    }

    fn head(entries: &[AuditEntry]) -> (i64, String) {
        entries
            .last()
            .map_or((0, GENESIS_HASH.into()), |e| (e.seq, e.hash.clone()))
    }

    #[test]
    fn intact_chain_with_checkpoint_verifies() {
        let key = SigningKey::generate(&mut OsRng);
        let c = chain(10);
        let cp = Checkpoint::sign(5, &c[4].hash, c[4].at, &key);
        let (s, h) = head(&c);
        let summary = verify(&c, vec![cp], &key, (s, &h)).unwrap();
        assert_eq!((summary.entries, summary.checkpoints_verified), (10, 1));
    }

    #[test]
    fn edit_is_caught_at_the_edited_entry() {
        let key = SigningKey::generate(&mut OsRng);
        let mut c = chain(10);
        let (s, h) = head(&c);
        c[3].details = serde_json::json!({ "n": 999 });
        assert_eq!(
            verify(&c, vec![], &key, (s, &h)),
            Err(ChainBreak::Edited { seq: 4 })
        );
    }

    #[test]
    fn deletion_is_caught_with_or_without_renumbering() {
        let key = SigningKey::generate(&mut OsRng);
        let mut c = chain(10);
        let (s, h) = head(&c);
        c.remove(6);
        assert_eq!(
            verify(&c, vec![], &key, (s, &h)),
            Err(ChainBreak::Missing {
                expected: 7,
                found: 8
            })
        );
        for (i, e) in c.iter_mut().enumerate().skip(6) {
            e.seq = i as i64 + 1;
        }
        assert_eq!(
            verify(&c, vec![], &key, (s, &h)),
            Err(ChainBreak::BrokenLink { seq: 7, prev: 6 })
        );
    }

    #[test]
    fn reordering_is_caught() {
        let key = SigningKey::generate(&mut OsRng);
        let mut c = chain(10);
        let (s, h) = head(&c);
        c.swap(2, 3);
        let (a, b) = (c[2].seq, c[3].seq);
        c[2].seq = b;
        c[3].seq = a;
        assert_eq!(
            verify(&c, vec![], &key, (s, &h)),
            Err(ChainBreak::BrokenLink { seq: 3, prev: 2 })
        );
    }

    #[test]
    fn truncation_is_caught_by_head_and_by_checkpoint() {
        let key = SigningKey::generate(&mut OsRng);
        let mut c = chain(10);
        let (s, h) = head(&c);
        let cp = Checkpoint::sign(10, &h, c[9].at, &key);
        c.truncate(7);
        assert!(matches!(
            verify(&c, vec![], &key, (s, &h)),
            Err(ChainBreak::Truncated {
                last: 7,
                covered: 10,
                ..
            })
        ));
        // Even when the attacker also rewinds the recorded head, the signed checkpoint remembers.
        let (s2, h2) = head(&c);
        assert!(matches!(
            verify(&c, vec![cp], &key, (s2, &h2)),
            Err(ChainBreak::Truncated {
                last: 7,
                covered: 10,
                ..
            })
        ));
    }

    #[test]
    fn forged_checkpoint_is_refused() {
        let key = SigningKey::generate(&mut OsRng);
        let other = SigningKey::generate(&mut OsRng);
        let c = chain(3);
        let (s, h) = head(&c);
        let cp = Checkpoint::sign(3, &h, c[2].at, &other);
        assert!(matches!(
            verify(&c, vec![cp], &key, (s, &h)),
            Err(ChainBreak::BadCheckpoint { seq: 3, .. })
        ));
    }

    proptest! {
        /// Any single edit to any field of any entry is caught, and the report names an entry at or before it.
        #[test]
        fn any_single_tamper_is_caught(n in 2i64..30, idx in 0usize..30, field in 0u8..4) {
            let key = SigningKey::generate(&mut OsRng);
            let mut c = chain(n);
            let i = idx % c.len();
            let (s, h) = head(&c);
            match field {
                0 => c[i].actor.push('x'),
                1 => c[i].action = "grant.revoked".into(),
                2 => c[i].at += time::Duration::seconds(1),
                _ => c[i].subject.push('y'),
            }
            let err = verify(&c, vec![], &key, (s, &h)).unwrap_err();
            prop_assert_eq!(err, ChainBreak::Edited { seq: i as i64 + 1 });
        }
    }
}
