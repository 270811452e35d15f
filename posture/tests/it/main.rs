//! Posture integration tests: captured machines replayed through the probes and the evaluation,
//! the `daypass-posture` command's exit codes, and the real probes on this machine.

#![allow(clippy::unwrap_used)]

mod device_key;
mod golden;
mod platforms;

use base64::Engine as _;
use daypass_posture::baseline::{self, Baseline, ReleaseBaseline};
use daypass_posture::evaluate::{evaluate, Outcome};
use daypass_posture::facts::{EdrRung, Observed, OsFamily, Protection};
use daypass_posture::policy::{Check, Policy};
use daypass_posture::probes::collect;
use daypass_posture::system::{FixtureSystem, RealSystem, System};
use daypass_proto::Signed;
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::process::Command;
use time::macros::datetime;

pub(crate) fn fixture(name: &str) -> FixtureSystem {
    FixtureSystem::open(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

pub(crate) fn key() -> SigningKey {
    SigningKey::from_bytes(&[5u8; 32])
}

pub(crate) fn signed_baseline() -> Signed<Baseline> {
    let release = |name: &str, release: &str| ReleaseBaseline {
        family: OsFamily::Linux,
        name: name.into(),
        release: release.into(),
        supported_until: Some(datetime!(2029-05-31 00:00 UTC)),
        minimum: None,
        minimum_since: datetime!(2026-11-01 00:00 UTC),
        source: None,
    };
    let patched = |family, name: &str, release: &str, minimum: &str, since| ReleaseBaseline {
        family,
        name: name.into(),
        release: release.into(),
        supported_until: None,
        minimum: Some(minimum.into()),
        minimum_since: since,
        source: None,
    };
    Signed::sign(
        &Baseline {
            issued_at: datetime!(2026-11-01 00:00 UTC),
            valid_until: datetime!(2026-12-31 00:00 UTC),
            grace_days: 14,
            releases: vec![
                release("ubuntu", "24.04"),
                release("fedora", "41"),
                release("debian", "12"),
                patched(
                    OsFamily::Windows,
                    "windows",
                    "10.0.26100",
                    "10.0.26100.2314",
                    datetime!(2026-11-12 00:00 UTC),
                ),
                // Raised on 1 October: past the 14-day grace period by the fixtures' 20 November.
                patched(
                    OsFamily::Windows,
                    "windows",
                    "10.0.22631",
                    "10.0.22631.4541",
                    datetime!(2026-10-01 00:00 UTC),
                ),
                patched(
                    OsFamily::Windows,
                    "windows-server",
                    "10.0.20348",
                    "10.0.20348.2849",
                    datetime!(2026-11-12 00:00 UTC),
                ),
                patched(
                    OsFamily::Macos,
                    "macos",
                    "14",
                    "14.6.1 (a)",
                    datetime!(2026-11-01 00:00 UTC),
                ),
                patched(
                    OsFamily::Macos,
                    "macos",
                    "15",
                    "15.1",
                    datetime!(2026-11-01 00:00 UTC),
                ),
            ],
        },
        &key(),
    )
}

pub(crate) fn seen<T: Clone>(o: &Observed<T>) -> T {
    match o {
        Observed::Seen { value, .. } => value.clone(),
        Observed::Unknown { reason } => panic!("expected a seen fact, got unknown: {reason}"),
    }
}

#[test]
fn ubuntu_lvm_on_luks_is_encrypted_and_compliant() {
    let sys = fixture("ubuntu-24.04-lvm-on-luks");
    let facts = collect(&sys);
    let os = seen(&facts.os);
    assert_eq!(
        (os.name.as_str(), os.version.as_str(), os.detail.as_deref()),
        ("ubuntu", "24.04", Some("6.8.0-48-generic"))
    );
    let disk = seen(&facts.disk_encryption);
    assert_eq!(
        disk.volumes.len(),
        1,
        "/boot, /boot/efi, pseudo and read-only mounts and the swap file are not volumes: {disk:?}"
    );
    assert_eq!(
        (disk.volumes[0].mount.as_str(), disk.volumes[0].protection),
        ("/", Protection::On)
    );
    assert_eq!(disk.volumes[0].scheme.as_deref(), Some("LUKS2"));
    let edr = seen(&facts.edr);
    assert_eq!(
        (edr[0].product.as_str(), edr[0].rung, edr[0].vendor_healthy),
        ("crowdstrike-falcon", EdrRung::VendorHealthy, Some(true))
    );
    assert!(seen(&facts.firewall).enabled);
    assert_eq!(seen(&facts.updates).pending_security_updates, Some(0));
    assert_eq!(seen(&facts.screen_lock).idle_timeout_seconds, Some(300));

    let verified = baseline::verify(&signed_baseline(), &key().verifying_key(), sys.now());
    let report = evaluate(&facts, &Policy::default(), &verified, sys.now());
    assert!(report.compliant, "{report:#?}");
}

#[test]
fn dm_verity_root_is_not_encryption_and_a_hanging_nft_is_unknown() {
    let sys = fixture("silverblue-dm-verity");
    let facts = collect(&sys);
    let disk = seen(&facts.disk_encryption);
    assert!(
        disk.volumes.iter().all(|v| v.protection == Protection::Off),
        "{disk:?}"
    );
    let verified = baseline::verify(&signed_baseline(), &key().verifying_key(), sys.now());
    let report = evaluate(&facts, &Policy::default(), &verified, sys.now());
    assert_eq!(
        report.result(Check::DiskEncryption).unwrap().outcome,
        Outcome::Fail
    );
    match &report.result(Check::Firewall).unwrap().outcome {
        Outcome::Unknown { reason } => assert!(reason.contains("did not answer"), "{reason}"),
        other => panic!("a hanging nft must be unknown, got {other:?}"),
    }
    assert!(matches!(
        report.result(Check::ScreenLock).unwrap().outcome,
        Outcome::Unknown { .. }
    ));
    assert!(!report.compliant);
}

#[test]
fn captured_debian_vm_without_dm_crypt_fails_disk_encryption() {
    let sys = fixture("debian-12-vm-unencrypted");
    let facts = collect(&sys);
    let os = seen(&facts.os);
    assert_eq!((os.name.as_str(), os.version.as_str()), ("debian", "12"));
    let disk = seen(&facts.disk_encryption);
    assert_eq!(disk.volumes.len(), 1, "{disk:?}");
    assert_eq!(
        (disk.volumes[0].mount.as_str(), disk.volumes[0].protection),
        ("/", Protection::Off)
    );
    assert!(seen(&facts.edr).is_empty());
    assert!(
        matches!(facts.firewall, Observed::Unknown { .. }),
        "no nft on that machine"
    );
    let report = evaluate(
        &facts,
        &Policy::default(),
        &Err(baseline::BaselineProblem::Missing),
        sys.now(),
    );
    assert_eq!(
        report.result(Check::DiskEncryption).unwrap().outcome,
        Outcome::Fail
    );
    assert!(!report.compliant);
}

#[test]
fn real_probes_run_on_this_machine_and_explain_themselves() {
    let facts = collect(&RealSystem);
    // Whatever this machine's answers are, each fact was either seen with evidence or is unknown with a reason.
    fn explained<T>(name: &str, o: &Observed<T>) {
        match o {
            Observed::Seen { evidence, .. } => assert!(!evidence.is_empty(), "{name}: seen without evidence"),
            Observed::Unknown { reason } => assert!(!reason.is_empty(), "{name}: unknown without a reason"),
        }
    }
    explained("os", &facts.os);
    explained("disk", &facts.disk_encryption);
    explained("edr", &facts.edr);
    explained("updates", &facts.updates);
    explained("firewall", &facts.firewall);
    explained("screen lock", &facts.screen_lock);
    let os = seen(&facts.os);
    assert_eq!(os.family, OsFamily::Linux);
    assert!(!os.name.is_empty());
    assert!(
        matches!(facts.disk_encryption, Observed::Seen { .. }),
        "the mount table of a running Linux is always readable"
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_daypass-posture"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

pub(crate) fn fixture_dir(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn check_command_exit_codes_say_compliant_not_compliant_or_could_not_check() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, serde_json::to_string(&signed_baseline()).unwrap()).unwrap();
    let pubkey = base64::engine::general_purpose::STANDARD.encode(key().verifying_key().as_bytes());
    let b = baseline.display().to_string();

    let (code, out, _) = cli(&[
        "check",
        "--fixture",
        &fixture_dir("ubuntu-24.04-lvm-on-luks"),
        "--baseline",
        &b,
        "--baseline-key",
        &pubkey,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ubuntu 24.04: COMPLIANT"), "{out}");

    let (code, out, _) = cli(&[
        "check",
        "--json",
        "--fixture",
        &fixture_dir("silverblue-dm-verity"),
        "--baseline",
        &b,
        "--baseline-key",
        &pubkey,
    ]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["report"]["compliant"], false);
    assert_eq!(json["report"]["results"][0]["outcome"], "fail");

    // Without the baseline the patch checks are unknown, and the default policy fails closed.
    let (code, out, _) = cli(&["check", "--fixture", &fixture_dir("ubuntu-24.04-lvm-on-luks")]);
    assert_eq!(code, 1);
    assert!(out.contains("no baseline was given"), "{out}");

    // A baseline signed by someone else is refused, never trusted.
    let other = base64::engine::general_purpose::STANDARD
        .encode(SigningKey::from_bytes(&[6u8; 32]).verifying_key().as_bytes());
    let (code, out, _) = cli(&[
        "check",
        "--fixture",
        &fixture_dir("ubuntu-24.04-lvm-on-luks"),
        "--baseline",
        &b,
        "--baseline-key",
        &other,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("signature does not verify"), "{out}");

    // Bad input: a clear message and exit 2.
    let (code, _, err) = cli(&["check", "--fixture", "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(err.contains("opening the fixture"), "{err}");
    let (code, _, err) = cli(&[
        "check",
        "--fixture",
        &fixture_dir("silverblue-dm-verity"),
        "--baseline",
        &b,
        "--baseline-key",
        "short",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--baseline-key is not the base64 of a 32-byte Ed25519 public key"),
        "{err}"
    );
}

#[test]
fn a_capture_of_this_machine_replays_to_the_same_facts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capture");
    let o = out.display().to_string();
    let (code, stdout, stderr) = cli(&["capture", "--out", &o, "--describes", "test capture"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let replayed = collect(&FixtureSystem::open(&out).unwrap());
    let live = collect(&RealSystem);
    // The process list may change between the two runs; everything else must match exactly.
    assert_eq!(replayed.os, live.os);
    assert_eq!(replayed.disk_encryption, live.disk_encryption);
    assert_eq!(replayed.firewall, live.firewall);
    assert_eq!(replayed.updates, live.updates);
    assert_eq!(replayed.screen_lock, live.screen_lock);
    let (code, _, err) = cli(&["capture", "--out", &o]);
    assert_eq!(code, 2, "capturing over an existing directory is refused");
    assert!(err.contains("already exists"), "{err}");
}
