//! Windows, macOS and the other Linux fixtures replayed on this machine: each situation the
//! issue names gives the verdict a person would expect, and bad answers give `unknown`, never a pass.

use super::{fixture, key, seen, signed_baseline};
use daypass_posture::baseline;
use daypass_posture::evaluate::{evaluate, Outcome, Report};
use daypass_posture::facts::{EdrRung, Facts, Observed, OsFamily, Protection};
use daypass_posture::policy::{Check, Policy};
use daypass_posture::probes::collect;
use daypass_posture::system::{command_file, Cmd, FixtureSystem, System};
use std::path::Path;

fn check(sys: &FixtureSystem) -> (Facts, Report) {
    let facts = collect(sys);
    let verified = baseline::verify(&signed_baseline(), &key().verifying_key(), sys.now());
    let report = evaluate(&facts, &Policy::default(), &verified, sys.now());
    (facts, report)
}

fn outcome(report: &Report, check: Check) -> &Outcome {
    &report.result(check).unwrap().outcome
}

fn evidence(report: &Report, check: Check) -> String {
    report.result(check).unwrap().evidence.join("\n")
}

#[test]
fn windows_11_with_bitlocker_on_and_defender_healthy_is_compliant() {
    let (facts, report) = check(&fixture("windows-11-24h2-bitlocker-on"));
    let os = seen(&facts.os);
    assert_eq!(
        (os.family, os.name.as_str(), os.version.as_str()),
        (OsFamily::Windows, "windows", "10.0.26100.2314")
    );
    let disk = seen(&facts.disk_encryption);
    assert_eq!(
        (disk.volumes[0].mount.as_str(), disk.volumes[0].protection),
        ("C:", Protection::On)
    );
    let defender = seen(&facts.edr)
        .into_iter()
        .find(|p| p.product == "microsoft-defender")
        .unwrap();
    assert_eq!(defender.rung, EdrRung::VendorHealthy);
    assert!(evidence(&report, Check::Edr).contains("Security Center: Windows Defender is on"));
    assert!(report.compliant, "{report:#?}");
}

#[test]
fn suspended_bitlocker_an_old_build_and_an_open_public_profile_fail() {
    let (facts, report) = check(&fixture("windows-11-23h2-bitlocker-suspended"));
    assert_eq!(
        seen(&facts.disk_encryption).volumes[0].protection,
        Protection::Suspended
    );
    assert_eq!(outcome(&report, Check::DiskEncryption), &Outcome::Fail);
    assert!(evidence(&report, Check::DiskEncryption).contains("suspended"));
    assert_eq!(
        outcome(&report, Check::OsPatch),
        &Outcome::Fail,
        "22631.4460 < 22631.4541, grace over"
    );
    assert!(evidence(&report, Check::OsPatch).contains("a restart is pending"));
    assert_eq!(outcome(&report, Check::Firewall), &Outcome::Fail);
    assert!(evidence(&report, Check::Firewall).contains("public profile: OFF"));
    let mde = seen(&facts.edr)
        .into_iter()
        .find(|p| p.product == "microsoft-defender-for-endpoint")
        .unwrap();
    assert_eq!(
        mde.vendor_healthy,
        Some(false),
        "OnboardingState 0: not onboarded"
    );
    assert!(report
        .result(Check::DiskEncryption)
        .unwrap()
        .remediation
        .as_deref()
        .unwrap()
        .contains("Resume protection"));
    assert!(!report.compliant);
}

#[test]
fn windows_server_without_security_center_is_judged_on_the_catalogue() {
    let (facts, report) = check(&fixture("windows-server-2022-no-security-center"));
    assert_eq!(seen(&facts.os).name, "windows-server");
    let edr = seen(&facts.edr);
    let falcon = edr.iter().find(|p| p.product == "crowdstrike-falcon").unwrap();
    assert_eq!(falcon.rung, EdrRung::ServiceRunning);
    assert!(edr.iter().all(|p| !p.product.starts_with("security-center:")));
    assert!(evidence(&report, Check::Edr).contains("no Windows Security Center"));
    assert_eq!(outcome(&report, Check::Edr), &Outcome::Pass);
    assert!(report.compliant, "{report:#?}");
}

/// A copy of a fixture with some answers replaced, to play situations the captures do not show.
fn variant(name: &str, change: impl FnOnce(&Path)) -> (tempfile::TempDir, FixtureSystem) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    copy_tree(&src, dir.path());
    change(dir.path());
    let sys = FixtureSystem::open(dir.path()).unwrap();
    (dir, sys)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(v.as_object_mut().unwrap());
    std::fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
}

fn bitlocker_entries_denied(dir: &Path) {
    edit_json(&dir.join("wmi.json"), |m| {
        for (k, v) in m.iter_mut() {
            if k.contains("MicrosoftVolumeEncryption") {
                *v = serde_json::json!({ "error": "denied" });
            }
        }
    });
}

fn shell_property_answers(dir: &Path, stdout: &str) {
    let script = "(New-Object -ComObject Shell.Application).NameSpace('C:\\').Self.ExtendedProperty('System.Volume.BitLockerProtection')";
    let file = command_file(
        Cmd::PowerShell,
        &["-NoProfile", "-NonInteractive", "-Command", script],
    );
    std::fs::create_dir_all(dir.join("commands")).unwrap();
    std::fs::write(
        dir.join("commands").join(file),
        serde_json::json!({ "status": 0, "stdout": stdout, "stderr": "" }).to_string(),
    )
    .unwrap();
}

#[test]
fn without_administrator_bitlocker_falls_back_to_the_shell_property() {
    let (_dir, sys) = variant("windows-11-24h2-bitlocker-on", |d| {
        bitlocker_entries_denied(d);
        shell_property_answers(d, "1\r\n");
    });
    let (facts, report) = check(&sys);
    assert_eq!(seen(&facts.disk_encryption).volumes[0].protection, Protection::On);
    assert!(evidence(&report, Check::DiskEncryption).contains("unprivileged fallback"));

    // An answer the fallback does not know is unknown, and unknown fails closed.
    let (_dir, sys) = variant("windows-11-24h2-bitlocker-on", |d| {
        bitlocker_entries_denied(d);
        shell_property_answers(d, "Zugriff verweigert\r\n");
    });
    let (_, report) = check(&sys);
    assert!(matches!(
        outcome(&report, Check::DiskEncryption),
        Outcome::Unknown { .. }
    ));
    assert!(!report.compliant);

    // Denied and no fallback either: unknown with the reason.
    let (_dir, sys) = variant("windows-11-24h2-bitlocker-on", bitlocker_entries_denied);
    let (_, report) = check(&sys);
    match outcome(&report, Check::DiskEncryption) {
        Outcome::Unknown { reason } => assert!(reason.contains("could not be read"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn an_unreadable_windows_version_or_a_garbled_wmi_answer_is_unknown() {
    let (_dir, sys) = variant("windows-11-24h2-bitlocker-on", |d| {
        edit_json(&d.join("registry.json"), |m| {
            m.insert(
                r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\UBR".into(),
                serde_json::json!({ "error": "denied" }),
            );
        });
        edit_json(&d.join("wmi.json"), |m| {
            for (k, v) in m.iter_mut() {
                if k.ends_with("GetProtectionStatus()") {
                    *v = serde_json::json!({ "ReturnValue": 2150694912u64 });
                }
            }
        });
    });
    let (facts, report) = check(&sys);
    assert!(matches!(facts.os, Observed::Unknown { .. }));
    match outcome(&report, Check::DiskEncryption) {
        Outcome::Unknown { reason } => assert!(reason.contains("0x80310000"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert!(!report.compliant);
}

#[test]
fn macos_14_with_a_rapid_security_response_counts_as_patched() {
    let (facts, report) = check(&fixture("macos-14-rsr-applied"));
    let os = seen(&facts.os);
    assert_eq!(
        (os.version.as_str(), os.version_extra.as_deref()),
        ("14.6.1", Some("(a)"))
    );
    assert_eq!(
        outcome(&report, Check::OsPatch),
        &Outcome::Pass,
        "{}",
        evidence(&report, Check::OsPatch)
    );
    assert_eq!(
        seen(&facts.disk_encryption).volumes[0].scheme.as_deref(),
        Some("FileVault")
    );
    assert!(evidence(&report, Check::Firewall).contains("com.apple.alf globalstate = 1"));
    let falcon = &seen(&facts.edr)[0];
    assert_eq!(
        (falcon.product.as_str(), falcon.rung),
        ("crowdstrike-falcon", EdrRung::ComponentActive)
    );
    assert!(report.compliant, "{report:#?}");
}

#[test]
fn macos_15_reads_the_firewall_from_socketfilterfw_and_counts_waiting_updates() {
    let (facts, report) = check(&fixture("macos-15-firewall-moved"));
    assert_eq!(outcome(&report, Check::Firewall), &Outcome::Fail);
    assert!(evidence(&report, Check::Firewall).contains("socketfilterfw"));
    assert_eq!(seen(&facts.updates).pending_security_updates, Some(1));
    assert_eq!(outcome(&report, Check::OsPatch), &Outcome::Fail);
    assert_eq!(outcome(&report, Check::Edr), &Outcome::Fail, "no EDR at all");
    assert!(!report.compliant);
}

#[test]
fn filevault_without_root_is_unknown_not_a_pass() {
    let (_dir, sys) = variant("macos-14-rsr-applied", |d| {
        std::fs::write(
            d.join("commands").join(command_file(Cmd::Fdesetup, &["list"])),
            r#"{"error": "denied"}"#,
        )
        .unwrap();
    });
    let (_, report) = check(&sys);
    match outcome(&report, Check::DiskEncryption) {
        Outcome::Unknown { reason } => assert!(reason.contains("run the check as root"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn fedora_btrfs_on_luks2_is_encrypted_and_zram_swap_is_not_a_disk() {
    let (facts, report) = check(&fixture("fedora-41-btrfs-luks2"));
    let disk = seen(&facts.disk_encryption);
    let mounts: Vec<_> = disk
        .volumes
        .iter()
        .map(|v| (v.mount.as_str(), v.protection))
        .collect();
    assert_eq!(mounts, vec![("/", Protection::On), ("/home", Protection::On)]);
    assert_eq!(outcome(&report, Check::DiskEncryption), &Outcome::Pass);
    // Defender for Endpoint is installed and running, but unlicensed: its own health says no.
    let mde = &seen(&facts.edr)[0];
    assert_eq!(
        (mde.product.as_str(), mde.vendor_healthy),
        ("microsoft-defender", Some(false))
    );
    assert_eq!(outcome(&report, Check::Edr), &Outcome::Fail);
    // dnf's cached advisories: one kernel advisory waiting, and a reboot needed.
    let updates = seen(&facts.updates);
    assert_eq!(
        (updates.pending_security_updates, updates.reboot_required),
        (Some(1), Some(true))
    );
    assert_eq!(outcome(&report, Check::OsPatch), &Outcome::Fail);
}

#[test]
fn falcon_in_reduced_functionality_mode_fails_the_edr_check() {
    let (facts, report) = check(&fixture("ubuntu-24.04-falcon-rfm"));
    let falcon = &seen(&facts.edr)[0];
    assert_eq!(
        (falcon.rung, falcon.vendor_healthy),
        (EdrRung::ServiceRunning, Some(false))
    );
    assert_eq!(outcome(&report, Check::Edr), &Outcome::Fail);
    assert!(evidence(&report, Check::Edr).contains("rfm-state=true"));
}
