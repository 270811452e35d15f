//! `daypass-posture`: check this machine (or a captured one) against a policy and a signed baseline.

use anyhow::{Context, Result};
use base64::Engine as _;
use clap::{Parser, Subcommand};
use daypass_posture::baseline::{self, Baseline, BaselineProblem, VerifiedBaseline};
use daypass_posture::device_key::DeviceKeyStore;
use daypass_posture::evaluate::{evaluate, Outcome, Report};
use daypass_posture::facts::{Facts, Observed};
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::signed_report::{self, Attestation, ReportClaims};
use daypass_posture::system::{CachingSystem, FixtureSystem, RealSystem, System};
use daypass_proto::Signed;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(
    name = "daypass-posture",
    version,
    about = "Check this device's security posture"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct BaselineArgs {
    /// Signed baseline file (JSON envelope from IT).
    #[arg(long, requires = "baseline_key")]
    baseline: Option<PathBuf>,
    /// The baseline signer's public key (base64), as IT published it.
    #[arg(long, env = "DAYPASS_BASELINE_KEY")]
    baseline_key: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the device. Exit 0: compliant; 1: not compliant; 2: could not check.
    Check {
        /// Print the facts and the report as JSON.
        #[arg(long)]
        json: bool,
        /// Policy file (JSON); default: every check required, unknown counts as failed.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[command(flatten)]
        baseline: BaselineArgs,
        /// Replay a captured machine instead of this one.
        #[arg(long)]
        fixture: Option<PathBuf>,
    },
    /// Create this device's report-signing key in the OS keyring (once, at enrollment) and print its
    /// public half for `daypass-broker admin device add --report-key`.
    Key {
        /// The device id the broker knows this machine by.
        #[arg(long, env = "DAYPASS_DEVICE")]
        device: String,
    },
    /// Check the device and print a report signed with its keyring key over the broker's nonce, as
    /// the JSON body of `POST /api/v1/posture/reports`.
    Report {
        #[arg(long, env = "DAYPASS_DEVICE")]
        device: String,
        /// The single-use nonce from `POST /api/v1/posture/nonce`.
        #[arg(long)]
        nonce: String,
        #[command(flatten)]
        baseline: BaselineArgs,
        /// Replay a captured machine instead of this one.
        #[arg(long)]
        fixture: Option<PathBuf>,
    },
    /// Record everything the probes read on this machine into a fixture directory (format: posture/README.md).
    Capture {
        /// A new directory to write the fixture into.
        #[arg(long)]
        out: PathBuf,
        /// Replace the host name and user names with `redacted` in everything written.
        #[arg(long)]
        redact: bool,
        /// One line saying what this machine represents.
        #[arg(long, default_value = "a machine captured with daypass-posture capture")]
        describes: String,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Check {
            json,
            policy,
            baseline,
            fixture,
        } => check(json, policy, &baseline, fixture),
        Command::Key { device } => key(&device),
        Command::Report {
            device,
            nonce,
            baseline,
            fixture,
        } => report(&device, &nonce, &baseline, fixture),
        Command::Capture {
            out,
            redact,
            describes,
        } => capture(&out, redact, &describes),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn system(fixture: Option<&Path>) -> Result<Box<dyn System>> {
    Ok(match fixture {
        Some(dir) => Box::new(
            FixtureSystem::open(dir)
                .map_err(anyhow::Error::msg)
                .context("opening the fixture")?,
        ),
        None => Box::new(match cache_file() {
            Some(file) => CachingSystem::with_file(RealSystem, file),
            None => CachingSystem::new(RealSystem),
        }),
    })
}

/// Where slow package-manager answers are kept between checks: `DAYPASS_CACHE_DIR`, else the
/// system cache directory when this user may write there, else the user's own cache directory.
fn cache_file() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DAYPASS_CACHE_DIR").map(PathBuf::from),
        Some(PathBuf::from(if cfg!(windows) {
            r"C:\ProgramData\Daypass\cache"
        } else {
            "/var/cache/daypass"
        })),
        std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("Daypass")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/daypass")),
    ];
    candidates.into_iter().flatten().find_map(|dir| {
        let probe = dir.join(".writable");
        let writable = std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&probe, b"").is_ok();
        let _ = std::fs::remove_file(&probe);
        writable.then(|| dir.join("posture-commands.json"))
    })
}

/// The baseline as verified at `now`; a missing file or key is `Missing`, an unreadable one an error.
fn load_baseline(
    args: &BaselineArgs,
    now: OffsetDateTime,
) -> Result<Result<VerifiedBaseline, BaselineProblem>> {
    let (Some(path), Some(key)) = (&args.baseline, &args.baseline_key) else {
        return Ok(Err(BaselineProblem::Missing));
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading baseline {}", path.display()))?;
    let signed: Signed<Baseline> = serde_json::from_str(&text)
        .with_context(|| format!("baseline {} is not a signed envelope", path.display()))?;
    let key = daypass_proto::signed::parse_public_key(key)
        .map_err(|e| anyhow::anyhow!("--baseline-key is {e}: use the key IT published"))?;
    Ok(baseline::verify(&signed, &key, now))
}

fn check(
    json: bool,
    policy: Option<PathBuf>,
    baseline: &BaselineArgs,
    fixture: Option<PathBuf>,
) -> Result<ExitCode> {
    let policy: Policy = match &policy {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading policy {}", p.display()))?,
        )
        .with_context(|| format!("policy {} is not valid", p.display()))?,
        None => Policy::default(),
    };
    let system = system(fixture.as_deref())?;
    let now = system.now();
    let verified = load_baseline(baseline, now)?;
    let facts = collect(system.as_ref());
    let report = evaluate(&facts, &policy, &verified, now);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "facts": facts, "report": report }))?
        );
    } else {
        print!("{}", table(&facts, &report));
    }
    Ok(match (&facts.os, report.compliant) {
        (Observed::Unknown { .. }, _) => ExitCode::from(2),
        (_, true) => ExitCode::SUCCESS,
        (_, false) => ExitCode::from(1),
    })
}

fn key(device: &str) -> Result<ExitCode> {
    let store = DeviceKeyStore::for_device(device)?;
    let public = store.load_or_create()?.verifying_key();
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
    );
    Ok(ExitCode::SUCCESS)
}

fn report(device: &str, nonce: &str, baseline: &BaselineArgs, fixture: Option<PathBuf>) -> Result<ExitCode> {
    if nonce.trim().is_empty() {
        anyhow::bail!("--nonce is empty: ask the broker for one with POST /api/v1/posture/nonce");
    }
    let signing_key = DeviceKeyStore::for_device(device)?.load()?.with_context(|| {
        format!("device {device} has no report-signing key in this keyring: run daypass-posture key --device {device} and enroll its public key")
    })?;
    let system = system(fixture.as_deref())?;
    let verified = load_baseline(baseline, system.now())?;
    let claims = ReportClaims {
        device: device.to_string(),
        nonce: nonce.trim().to_string(),
        facts: collect(system.as_ref()),
        baseline_digest: verified.ok().map(|b| b.digest),
        attestation: Attestation::Software,
    };
    let body = serde_json::json!({ "device": device, "report": signed_report::sign(&claims, &signing_key) });
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

fn capture(out: &std::path::Path, redact: bool, describes: &str) -> Result<ExitCode> {
    use daypass_posture::system::RecordingSystem;
    let mut names = Vec::new();
    if redact {
        names.extend(
            ["/proc/sys/kernel/hostname", "/etc/hostname"]
                .iter()
                .filter_map(|p| RealSystem.read_file(p).ok()),
        );
        names.extend(
            ["USER", "SUDO_USER", "LOGNAME", "USERNAME", "COMPUTERNAME"]
                .iter()
                .filter_map(|v| std::env::var(v).ok()),
        );
        names.extend(
            std::env::var("HOME")
                .or_else(|_| std::env::var("USERPROFILE"))
                .ok()
                .and_then(|h| h.rsplit(['/', '\\']).next().map(String::from)),
        );
    }
    let names: Vec<String> = names
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| n != "root")
        .collect();
    let recorder = RecordingSystem::create(out, names).map_err(anyhow::Error::msg)?;
    let facts = collect(&recorder);
    let failures = recorder
        .finish(describes, facts.collected_at, redact)
        .map_err(anyhow::Error::msg)?;
    if !failures.is_empty() {
        anyhow::bail!(
            "the capture in {} is incomplete: {}",
            out.display(),
            failures.join("; ")
        );
    }
    println!(
        "captured this machine into {}; replay it with: daypass-posture check --fixture {}",
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn table(facts: &Facts, report: &Report) -> String {
    let os = match &facts.os {
        Observed::Seen { value, .. } => format!("{} {}", value.name, value.version),
        Observed::Unknown { reason } => format!("unknown operating system ({reason})"),
    };
    let verdict = if report.compliant {
        "COMPLIANT"
    } else {
        "NOT COMPLIANT"
    };
    let mut out = format!("Daypass posture check: {os}: {verdict}\n");
    for r in &report.results {
        let (word, reason) = match &r.outcome {
            Outcome::Pass => ("PASS", None),
            Outcome::Fail => ("FAIL", None),
            Outcome::Unknown { reason } => ("UNKNOWN", Some(reason.as_str())),
            Outcome::NotApplicable => ("N/A", None),
        };
        let required = if r.required { "" } else { " (not required)" };
        out.push_str(&format!("  {word:<8} {}{required}\n", r.check));
        for line in reason
            .into_iter()
            .map(str::to_string)
            .chain(r.evidence.iter().cloned())
        {
            out.push_str(&format!("           {line}\n"));
        }
        if let Some(fix) = &r.remediation {
            out.push_str(&format!("           → {fix}\n"));
        }
    }
    if let Some(d) = &report.baseline_digest {
        out.push_str(&format!("baseline sha256 {d}\n"));
    }
    out
}
