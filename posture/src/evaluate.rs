//! `evaluate(facts, policy, baseline, now)`: one result per check, with the evidence it used and what
//! the contractor can do about a failure. Pure: the broker and the client get the same answer.

use crate::baseline::{BaselineProblem, ReleaseBaseline, VerifiedBaseline};
use crate::facts::{Facts, Observed, OsFacts, OsFamily, Protection};
use crate::policy::{Check, Policy};
use crate::version::Version;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Unknown { reason: String },
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: Check,
    pub required: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the verdict rests on, in plain words.
    pub evidence: Vec<String>,
    /// What to do, for a failure or an unknown.
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub facts_schema: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub evaluated_at: OffsetDateTime,
    /// SHA-256 of the baseline the patch checks used, when it verified.
    pub baseline_digest: Option<String>,
    pub results: Vec<CheckResult>,
    /// Every required check passed (or could not be made, where the policy lets unknown pass).
    pub compliant: bool,
}

impl Report {
    pub fn result(&self, check: Check) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.check == check)
    }

    /// The required checks that did not pass, in plain words, for refusals and audit entries.
    pub fn not_passing(&self) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| r.required && r.outcome != Outcome::Pass)
            .map(|r| r.check.to_string())
            .collect()
    }
}

impl CheckResult {
    fn outcome_allows(&self, unknown_passes: bool) -> bool {
        match self.outcome {
            Outcome::Pass | Outcome::NotApplicable => true,
            Outcome::Unknown { .. } => unknown_passes,
            Outcome::Fail => false,
        }
    }
}

/// What a check decided before the policy's `required` flag is attached.
struct Verdict {
    outcome: Outcome,
    evidence: Vec<String>,
}

impl Verdict {
    fn new(outcome: Outcome, evidence: Vec<String>) -> Self {
        Verdict { outcome, evidence }
    }

    fn unknown(reason: impl Into<String>) -> Self {
        Verdict {
            outcome: Outcome::Unknown {
                reason: reason.into(),
            },
            evidence: vec![],
        }
    }

    fn from_bool(pass: bool, evidence: Vec<String>) -> Self {
        Verdict::new(if pass { Outcome::Pass } else { Outcome::Fail }, evidence)
    }
}

pub fn evaluate(
    facts: &Facts,
    policy: &Policy,
    baseline: &Result<VerifiedBaseline, BaselineProblem>,
    now: OffsetDateTime,
) -> Report {
    let os = match &facts.os {
        Observed::Seen { value, .. } => Some(value),
        Observed::Unknown { .. } => None,
    };
    let family = os.map(|o| o.family);
    let results: Vec<CheckResult> = Check::ALL
        .into_iter()
        .map(|check| {
            let verdict = match check {
                Check::DiskEncryption => disk_encryption(facts),
                Check::Edr => edr(facts, policy),
                Check::OsPatch => os_patch(facts, os, policy, baseline, now),
                Check::OsSupported => os_supported(os, baseline, now),
                Check::Firewall => observed(&facts.firewall, |f| Verdict::from_bool(f.enabled, vec![])),
                Check::ScreenLock => screen_lock(facts, policy),
            };
            let remediation = match verdict.outcome {
                Outcome::Fail => Some(remediation(check, family, os, policy)),
                Outcome::Unknown { .. } => Some(UNKNOWN_ADVICE.to_string()),
                Outcome::Pass | Outcome::NotApplicable => None,
            };
            CheckResult {
                check,
                required: policy.required.contains(&check),
                outcome: verdict.outcome,
                evidence: verdict.evidence,
                remediation,
            }
        })
        .collect();
    let compliant = results
        .iter()
        .filter(|r| r.required)
        .all(|r| r.outcome_allows(!policy.unknown_fails));
    Report {
        facts_schema: facts.schema,
        evaluated_at: now,
        baseline_digest: baseline.as_ref().ok().map(|b| b.digest.clone()),
        results,
        compliant,
    }
}

/// What to do when a check could not be made: its reason is shown beside it.
const UNKNOWN_ADVICE: &str =
    "Daypass could not make this check. Run it again; if it stays unknown, export this report and send it to the helpdesk.";

/// Runs `judge` on a seen fact, adding the fact's own evidence; an unknown fact stays unknown.
fn observed<T>(fact: &Observed<T>, judge: impl FnOnce(&T) -> Verdict) -> Verdict {
    match fact {
        Observed::Seen { value, evidence } => {
            let mut v = judge(value);
            v.evidence.extend(evidence.iter().cloned());
            v
        }
        Observed::Unknown { reason } => Verdict::unknown(reason.clone()),
    }
}

fn disk_encryption(facts: &Facts) -> Verdict {
    observed(&facts.disk_encryption, |d| {
        if d.volumes.is_empty() {
            return Verdict::unknown("no writable volumes were found to check");
        }
        let lines = d
            .volumes
            .iter()
            .map(|v| match (v.protection, &v.scheme) {
                (Protection::On, Some(s)) => format!("{}: encrypted ({s})", v.mount),
                (Protection::On, None) => format!("{}: encrypted", v.mount),
                (Protection::Suspended, _) => format!(
                    "{}: encryption suspended (the key is stored in the clear)",
                    v.mount
                ),
                (Protection::Off, _) => format!("{}: not encrypted", v.mount),
            })
            .collect();
        Verdict::from_bool(d.volumes.iter().all(|v| v.protection == Protection::On), lines)
    })
}

fn edr(facts: &Facts, policy: &Policy) -> Verdict {
    observed(&facts.edr, |products| {
        let accepted: Vec<_> = products
            .iter()
            .filter(|p| policy.edr_products.is_empty() || policy.edr_products.contains(&p.product))
            .collect();
        let lines: Vec<String> = products
            .iter()
            .map(|p| {
                let health = match p.vendor_healthy {
                    Some(true) => ", vendor check healthy",
                    Some(false) => ", vendor check UNHEALTHY",
                    None => "",
                };
                format!("{}: confirmed up to {:?}{health}", p.product, p.rung)
            })
            .collect();
        if products.is_empty() {
            return Verdict::new(Outcome::Fail, vec!["no EDR product found".into()]);
        }
        let good = accepted
            .iter()
            .any(|p| p.rung >= policy.edr_min_rung && p.vendor_healthy != Some(false));
        Verdict::from_bool(good, lines)
    })
}

fn release<'a>(
    os: Option<&OsFacts>,
    baseline: &'a Result<VerifiedBaseline, BaselineProblem>,
) -> Result<(&'a ReleaseBaseline, &'a VerifiedBaseline), Verdict> {
    let baseline = baseline.as_ref().map_err(|p| Verdict::unknown(p.to_string()))?;
    let os = os.ok_or_else(|| Verdict::unknown("the operating system could not be identified"))?;
    baseline
        .baseline
        .release_for(os.family, &os.name, &os.version)
        .map(|r| (r, baseline))
        .ok_or_else(|| Verdict::unknown(format!("{} {} is not in the baseline", os.name, os.version)))
}

fn os_supported(
    os: Option<&OsFacts>,
    baseline: &Result<VerifiedBaseline, BaselineProblem>,
    now: OffsetDateTime,
) -> Verdict {
    match release(os, baseline) {
        Err(v) => v,
        Ok((r, _)) => match r.supported_until {
            Some(end) if now >= end => Verdict::new(
                Outcome::Fail,
                vec![format!(
                    "{} {} security support ended {}",
                    r.name,
                    r.release,
                    end.date()
                )],
            ),
            Some(end) => Verdict::new(
                Outcome::Pass,
                vec![format!("{} {} supported until {}", r.name, r.release, end.date())],
            ),
            None => Verdict::new(
                Outcome::Pass,
                vec![format!(
                    "{} {} supported (no end date announced)",
                    r.name, r.release
                )],
            ),
        },
    }
}

fn os_patch(
    facts: &Facts,
    os: Option<&OsFacts>,
    policy: &Policy,
    baseline: &Result<VerifiedBaseline, BaselineProblem>,
    now: OffsetDateTime,
) -> Verdict {
    let (r, verified) = match release(os, baseline) {
        Err(v) => return v,
        Ok(found) => found,
    };
    let os = os.expect("release() found the OS");
    let mut evidence = Vec::new();
    let mut pass = true;
    if let Some(minimum) = &r.minimum {
        let device = match &os.version_extra {
            Some(extra) => format!("{} {extra}", os.version),
            None => os.version.clone(),
        };
        let (Ok(have), Ok(need)) = (device.parse::<Version>(), minimum.parse::<Version>()) else {
            return Verdict::unknown(format!(
                "cannot compare version {device:?} with the baseline minimum {minimum:?}"
            ));
        };
        let deadline = r.minimum_since + Duration::days(i64::from(verified.baseline.grace_days));
        if have >= need {
            evidence.push(format!("version {have} is at least {need}"));
        } else if now < deadline {
            evidence.push(format!(
                "version {have} is below {need}; update before {} (grace period)",
                deadline.date()
            ));
        } else {
            evidence.push(format!(
                "version {have} is below {need}, required since {}",
                deadline.date()
            ));
            pass = false;
        }
    }
    match &facts.updates {
        Observed::Seen { value, evidence: raw } => {
            match value.pending_security_updates {
                Some(n) => {
                    pass &= n <= policy.max_pending_security_updates;
                    evidence.push(format!("{n} security update(s) pending"));
                }
                // Where the baseline has no minimum either, nothing says how patched it is.
                None if r.minimum.is_none() => {
                    return Verdict::unknown(
                        "neither pending security updates nor a baseline minimum are known for this release",
                    )
                }
                None => {}
            }
            if value.reboot_required == Some(true) {
                evidence.push("a restart is pending to finish installing updates".into());
                pass &= !policy.reboot_required_fails;
            }
            evidence.extend(raw.iter().cloned());
        }
        // Where the baseline has no minimum (Linux), pending updates are the whole check.
        Observed::Unknown { reason } if r.minimum.is_none() => return Verdict::unknown(reason.clone()),
        Observed::Unknown { reason } => evidence.push(format!("pending updates unknown: {reason}")),
    }
    Verdict::from_bool(pass, evidence)
}

fn screen_lock(facts: &Facts, policy: &Policy) -> Verdict {
    observed(&facts.screen_lock, |s| {
        let idle_ok = s
            .idle_timeout_seconds
            .is_some_and(|t| t <= policy.max_idle_seconds);
        let line = match (s.lock_enabled, s.idle_timeout_seconds) {
            (false, _) => "the screen does not lock".to_string(),
            (true, None) => "the screen locks, but never on its own when idle".to_string(),
            (true, Some(t)) => format!(
                "the screen locks after {t} s idle (at most {} s allowed)",
                policy.max_idle_seconds
            ),
        };
        Verdict::from_bool(s.lock_enabled && idle_ok, vec![line])
    })
}

fn remediation(check: Check, family: Option<OsFamily>, os: Option<&OsFacts>, policy: &Policy) -> String {
    let minutes = policy.max_idle_seconds.div_ceil(60);
    let f = family.unwrap_or(OsFamily::Linux);
    match (check, family) {
        (_, None) => "Daypass could not identify this computer's operating system; run the check again, and contact the helpdesk if this persists.".into(),
        (Check::DiskEncryption, _) => match f {
            OsFamily::Windows => "Turn on BitLocker for C: in Settings → Privacy & security → Device encryption (or Control Panel → BitLocker Drive Encryption). If it says protection is suspended, choose Resume protection.".into(),
            OsFamily::Macos => "Turn on FileVault in System Settings → Privacy & Security → FileVault, then restart when asked.".into(),
            OsFamily::Linux => "This disk is not encrypted. Linux disks are encrypted when the system is installed (LUKS): ask IT to reinstall it with full-disk encryption.".into(),
        },
        (Check::Edr, _) => "Your security software (EDR) is missing, stopped or reports a problem: restart the computer, and if that does not help ask IT to repair or reinstall it.".into(),
        (Check::OsPatch, _) => match f {
            OsFamily::Windows => "Install the latest updates in Settings → Windows Update, then restart.".into(),
            OsFamily::Macos => "Install the latest update in System Settings → General → Software Update, then restart.".into(),
            OsFamily::Linux => "Install security updates (sudo apt upgrade, or sudo dnf upgrade) and restart if asked.".into(),
        },
        (Check::OsSupported, _) => format!(
            "{} no longer receives security updates: upgrade to a supported release, or ask IT for a supported machine.",
            os.map(|o| format!("{} {}", o.name, o.version)).unwrap_or_else(|| "This operating system".into())
        ),
        (Check::Firewall, _) => match f {
            OsFamily::Windows => "Turn on the firewall for every network in Windows Security → Firewall & network protection.".into(),
            OsFamily::Macos => "Turn on the firewall in System Settings → Network → Firewall.".into(),
            OsFamily::Linux => "Turn on the firewall: sudo ufw enable (Ubuntu), or sudo systemctl enable --now firewalld (Fedora).".into(),
        },
        (Check::ScreenLock, _) => match f {
            OsFamily::Windows => format!("Make the screen lock after at most {minutes} minutes: Settings → Accounts → Sign-in options → require sign-in after sleep, and Settings → System → Power → turn off the screen after {minutes} minutes or less."),
            OsFamily::Macos => format!("In System Settings → Lock Screen, require the password immediately and start the screen saver after at most {minutes} minutes."),
            OsFamily::Linux => format!("In Settings → Privacy → Screen Lock, turn on Automatic Screen Lock and set Blank Screen Delay to {minutes} minutes or less."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::{key, sample};
    use crate::baseline::{verify, BaselineProblem};
    use crate::facts::*;
    use daypass_proto::Signed;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-20 12:00 UTC);

    fn baseline() -> Result<VerifiedBaseline, BaselineProblem> {
        verify(&Signed::sign(&sample(), &key()), &key().verifying_key(), NOW)
    }

    /// A healthy Windows 11 24H2 laptop: BitLocker on, Defender healthy, patched, firewall and lock on.
    fn windows(version: &str) -> Facts {
        Facts {
            schema: FACTS_SCHEMA,
            collected_at: NOW,
            os: Observed::seen(
                OsFacts {
                    family: OsFamily::Windows,
                    name: "windows".into(),
                    version: version.into(),
                    version_extra: None,
                    detail: Some("Professional".into()),
                },
                [],
            ),
            disk_encryption: Observed::seen(
                DiskEncryptionFacts {
                    volumes: vec![Volume {
                        mount: "C:".into(),
                        protection: Protection::On,
                        scheme: Some("BitLocker".into()),
                    }],
                },
                ["Win32_EncryptableVolume.GetProtectionStatus(C:) = 1".to_string()],
            ),
            edr: Observed::seen(
                vec![EdrProduct {
                    product: "microsoft-defender".into(),
                    rung: EdrRung::VendorHealthy,
                    vendor_healthy: Some(true),
                }],
                [],
            ),
            updates: Observed::seen(
                UpdateFacts {
                    pending_security_updates: Some(0),
                    reboot_required: Some(false),
                },
                [],
            ),
            firewall: Observed::seen(
                FirewallFacts { enabled: true },
                ["Domain, Private, Public: on".to_string()],
            ),
            screen_lock: Observed::seen(
                ScreenLockFacts {
                    lock_enabled: true,
                    idle_timeout_seconds: Some(600),
                },
                [],
            ),
        }
    }

    fn outcome(r: &Report, c: Check) -> &Outcome {
        &r.result(c).unwrap().outcome
    }

    #[test]
    fn healthy_patched_windows_is_compliant_and_records_the_baseline() {
        let r = evaluate(&windows("10.0.26100.2400"), &Policy::default(), &baseline(), NOW);
        assert!(r.compliant, "{r:#?}");
        assert!(r
            .results
            .iter()
            .all(|c| c.outcome == Outcome::Pass && c.remediation.is_none()));
        assert_eq!(r.baseline_digest, baseline().ok().map(|b| b.digest));
    }

    #[test]
    fn suspended_bitlocker_fails_with_a_fix() {
        let mut f = windows("10.0.26100.2400");
        f.disk_encryption = Observed::seen(
            DiskEncryptionFacts {
                volumes: vec![Volume {
                    mount: "C:".into(),
                    protection: Protection::Suspended,
                    scheme: Some("BitLocker".into()),
                }],
            },
            [],
        );
        let r = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert!(!r.compliant);
        let d = r.result(Check::DiskEncryption).unwrap();
        assert_eq!(d.outcome, Outcome::Fail);
        assert!(d.evidence[0].contains("suspended"));
        assert!(d.remediation.as_deref().unwrap().contains("Resume protection"));
    }

    #[test]
    fn below_minimum_passes_inside_the_grace_period_and_fails_after() {
        // Minimum 10.0.26100.2314 since 2026-11-12, 14 days of grace: until 2026-11-26.
        let f = windows("10.0.26100.2000");
        let inside = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert_eq!(outcome(&inside, Check::OsPatch), &Outcome::Pass);
        assert!(inside.result(Check::OsPatch).unwrap().evidence[0].contains("update before 2026-11-26"));
        let after = evaluate(
            &f,
            &Policy::default(),
            &baseline(),
            datetime!(2026-11-26 00:00 UTC),
        );
        assert_eq!(outcome(&after, Check::OsPatch), &Outcome::Fail);
    }

    #[test]
    fn expired_or_forged_baseline_makes_patch_checks_unknown_never_pass() {
        let stale = Err(BaselineProblem::Expired(datetime!(2026-11-01 00:00 UTC)));
        let r = evaluate(&windows("10.0.26100.2400"), &Policy::default(), &stale, NOW);
        for c in [Check::OsPatch, Check::OsSupported] {
            assert!(
                matches!(outcome(&r, c), Outcome::Unknown { reason } if reason.contains("expired")),
                "{c:?}"
            );
        }
        assert!(!r.compliant, "fail closed by default");
        assert_eq!(r.baseline_digest, None);
        let lenient = Policy {
            unknown_fails: false,
            ..Policy::default()
        };
        assert!(evaluate(&windows("10.0.26100.2400"), &lenient, &stale, NOW).compliant);
    }

    #[test]
    fn macos_rapid_security_response_counts() {
        let mut f = windows("x");
        f.os = Observed::seen(
            OsFacts {
                family: OsFamily::Macos,
                name: "macos".into(),
                version: "14.6.1".into(),
                version_extra: Some("(a)".into()),
                detail: None,
            },
            [],
        );
        assert_eq!(
            outcome(
                &evaluate(&f, &Policy::default(), &baseline(), NOW),
                Check::OsPatch
            ),
            &Outcome::Pass
        );
        f.os = Observed::seen(
            OsFacts {
                family: OsFamily::Macos,
                name: "macos".into(),
                version: "14.6.1".into(),
                version_extra: None,
                detail: None,
            },
            [],
        );
        assert_eq!(
            outcome(
                &evaluate(&f, &Policy::default(), &baseline(), NOW),
                Check::OsPatch
            ),
            &Outcome::Fail
        );
    }

    #[test]
    fn linux_patch_level_is_pending_security_updates_and_reboots() {
        let mut f = windows("x");
        f.os = Observed::seen(
            OsFacts {
                family: OsFamily::Linux,
                name: "ubuntu".into(),
                version: "24.04".into(),
                version_extra: None,
                detail: None,
            },
            [],
        );
        f.updates = Observed::seen(
            UpdateFacts {
                pending_security_updates: Some(3),
                reboot_required: Some(false),
            },
            [],
        );
        let r = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert_eq!(outcome(&r, Check::OsPatch), &Outcome::Fail);
        assert!(r
            .result(Check::OsPatch)
            .unwrap()
            .remediation
            .as_deref()
            .unwrap()
            .contains("apt upgrade"));
        f.updates = Observed::seen(
            UpdateFacts {
                pending_security_updates: Some(0),
                reboot_required: Some(true),
            },
            [],
        );
        assert_eq!(
            outcome(
                &evaluate(&f, &Policy::default(), &baseline(), NOW),
                Check::OsPatch
            ),
            &Outcome::Fail
        );
        f.updates = Observed::unknown("apt-check is not installed");
        assert!(matches!(
            outcome(
                &evaluate(&f, &Policy::default(), &baseline(), NOW),
                Check::OsPatch
            ),
            Outcome::Unknown { .. }
        ));
    }

    #[test]
    fn end_of_life_release_fails_and_unknown_release_is_unknown() {
        let mut f = windows("x");
        f.os = Observed::seen(
            OsFacts {
                family: OsFamily::Linux,
                name: "debian".into(),
                version: "10".into(),
                version_extra: None,
                detail: None,
            },
            [],
        );
        let r = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert_eq!(outcome(&r, Check::OsSupported), &Outcome::Fail);
        assert!(r
            .result(Check::OsSupported)
            .unwrap()
            .remediation
            .as_deref()
            .unwrap()
            .starts_with("debian 10 no longer"));
        f.os = Observed::seen(
            OsFacts {
                family: OsFamily::Linux,
                name: "arch".into(),
                version: "rolling".into(),
                version_extra: None,
                detail: None,
            },
            [],
        );
        assert!(
            matches!(outcome(&evaluate(&f, &Policy::default(), &baseline(), NOW), Check::OsSupported), Outcome::Unknown { reason } if reason.contains("not in the baseline"))
        );
    }

    #[test]
    fn unhealthy_or_weak_edr_fails() {
        let mut f = windows("10.0.26100.2400");
        f.edr = Observed::seen(
            vec![EdrProduct {
                product: "crowdstrike-falcon".into(),
                rung: EdrRung::VendorHealthy,
                vendor_healthy: Some(false),
            }],
            ["falconctl -g --rfm-state: rfm-state=true.".to_string()],
        );
        let r = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert_eq!(outcome(&r, Check::Edr), &Outcome::Fail);
        assert!(r
            .result(Check::Edr)
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.contains("UNHEALTHY")));
        f.edr = Observed::seen(
            vec![EdrProduct {
                product: "sentinelone".into(),
                rung: EdrRung::Installed,
                vendor_healthy: None,
            }],
            [],
        );
        assert_eq!(
            outcome(&evaluate(&f, &Policy::default(), &baseline(), NOW), Check::Edr),
            &Outcome::Fail
        );
        f.edr = Observed::seen(vec![], []);
        assert_eq!(
            outcome(&evaluate(&f, &Policy::default(), &baseline(), NOW), Check::Edr),
            &Outcome::Fail
        );
    }

    #[test]
    fn screen_that_never_locks_on_idle_fails_and_names_the_limit() {
        let mut f = windows("10.0.26100.2400");
        f.screen_lock = Observed::seen(
            ScreenLockFacts {
                lock_enabled: true,
                idle_timeout_seconds: None,
            },
            [],
        );
        let r = evaluate(&f, &Policy::default(), &baseline(), NOW);
        assert_eq!(outcome(&r, Check::ScreenLock), &Outcome::Fail);
        assert!(r
            .result(Check::ScreenLock)
            .unwrap()
            .remediation
            .as_deref()
            .unwrap()
            .contains("15 minutes"));
    }

    #[test]
    fn checks_not_required_are_shown_but_do_not_decide() {
        let mut f = windows("10.0.26100.2400");
        f.firewall = Observed::seen(FirewallFacts { enabled: false }, []);
        let policy = Policy {
            required: [Check::DiskEncryption].into_iter().collect(),
            ..Policy::default()
        };
        let r = evaluate(&f, &policy, &baseline(), NOW);
        assert!(r.compliant);
        let fw = r.result(Check::Firewall).unwrap();
        assert_eq!((fw.required, &fw.outcome), (false, &Outcome::Fail));
    }

    #[test]
    fn report_serialises_with_flat_outcomes() {
        let r = evaluate(&windows("10.0.26100.2400"), &Policy::default(), &baseline(), NOW);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["results"][0]["check"], "disk_encryption");
        assert_eq!(json["results"][0]["outcome"], "pass");
    }
}
