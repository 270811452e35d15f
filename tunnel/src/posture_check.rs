//! The posture check the service runs for the contractor: the probes on this machine (the slow
//! package-manager answers kept between checks), a report signed with the device's key over the
//! broker's nonce, and the verdict in the words the app shows.

use daypass_posture::baseline::BaselineProblem;
use daypass_posture::evaluate::{evaluate, Outcome, Report};
use daypass_posture::facts::Facts;
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::signed_report::{self, Attestation, ReportClaims};
use daypass_posture::system::{CachingSystem, FixtureSystem, RealSystem, System};
use daypass_proto::ipc::{PostureLine, PostureView};
use daypass_proto::Signed;
use ed25519_dalek::SigningKey;
use std::path::PathBuf;
use time::OffsetDateTime;

/// Where the facts come from: this machine, or a captured one (tests and demos).
pub struct PostureSource {
    system: Box<dyn System + Send + Sync>,
}

impl std::fmt::Debug for PostureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostureSource")
    }
}

impl PostureSource {
    /// This machine, with package-manager answers cached in `cache_file`.
    pub fn this_machine(cache_file: PathBuf) -> Self {
        PostureSource {
            system: Box::new(CachingSystem::with_file(RealSystem, cache_file)),
        }
    }

    /// A machine captured with `daypass-posture capture`.
    pub fn fixture(dir: &std::path::Path) -> Result<Self, String> {
        Ok(PostureSource {
            system: Box::new(FixtureSystem::open(dir)?),
        })
    }

    /// Runs every probe (seconds when the package manager must be asked afresh: call off the async
    /// threads).
    pub fn facts(&self) -> Facts {
        collect(self.system.as_ref())
    }
}

/// The signed report for `nonce`.
pub fn sign(device: &str, nonce: &str, facts: Facts, key: &SigningKey) -> Signed<ReportClaims> {
    let claims = ReportClaims {
        device: device.to_string(),
        nonce: nonce.to_string(),
        facts,
        baseline_digest: None,
        attestation: Attestation::Software,
    };
    signed_report::sign(&claims, key)
}

/// This device's own reading of the facts (the broker judges for itself; this is what the app
/// shows when the broker's verdict is not at hand).
pub fn local_verdict(facts: &Facts, policy: &Policy, now: OffsetDateTime) -> Report {
    evaluate(facts, policy, &Err(BaselineProblem::Missing), now)
}

pub fn view(report: &Report, sent_to_broker: Result<(), String>) -> PostureView {
    PostureView {
        compliant: report.compliant,
        checks: report
            .results
            .iter()
            .map(|r| {
                let (outcome, reason) = match &r.outcome {
                    Outcome::Pass => ("pass", None),
                    Outcome::Fail => ("fail", None),
                    Outcome::Unknown { reason } => ("unknown", Some(reason.clone())),
                    Outcome::NotApplicable => ("not_applicable", None),
                };
                PostureLine {
                    check: r.check.to_string(),
                    outcome: outcome.into(),
                    required: r.required,
                    evidence: reason.into_iter().chain(r.evidence.iter().cloned()).collect(),
                    remediation: r.remediation.clone(),
                }
            })
            .collect(),
        sent_to_broker,
    }
}
