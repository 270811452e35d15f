//! `daypass-posture`: check this machine (or a captured one) against a policy and a signed baseline.

use anyhow::{Context, Result};
use base64::Engine as _;
use clap::{Parser, Subcommand};
use daypass_posture::baseline::{self, Baseline, BaselineProblem};
use daypass_posture::evaluate::{evaluate, Outcome, Report};
use daypass_posture::facts::{Facts, Observed};
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::system::{FixtureSystem, System};
use daypass_proto::Signed;
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Signed baseline file (JSON envelope from IT).
        #[arg(long, requires = "baseline_key")]
        baseline: Option<PathBuf>,
        /// The baseline signer's public key (base64), as IT published it.
        #[arg(long, env = "DAYPASS_BASELINE_KEY")]
        baseline_key: Option<String>,
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
            baseline_key,
            fixture,
        } => check(json, policy, baseline, baseline_key, fixture),
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

fn check(
    json: bool,
    policy: Option<PathBuf>,
    baseline: Option<PathBuf>,
    baseline_key: Option<String>,
    fixture: Option<PathBuf>,
) -> Result<ExitCode> {
    let policy: Policy = match &policy {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading policy {}", p.display()))?,
        )
        .with_context(|| format!("policy {} is not valid", p.display()))?,
        None => Policy::default(),
    };
    let system: Box<dyn System> = match &fixture {
        Some(dir) => Box::new(
            FixtureSystem::open(dir)
                .map_err(anyhow::Error::msg)
                .context("opening the fixture")?,
        ),
        None => Box::new(daypass_posture::system::RealSystem),
    };
    let now = system.now();
    let verified = match (&baseline, &baseline_key) {
        (Some(path), Some(key)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading baseline {}", path.display()))?;
            let signed: Signed<Baseline> = serde_json::from_str(&text)
                .with_context(|| format!("baseline {} is not a signed envelope", path.display()))?;
            let key_bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--baseline-key must be a base64 Ed25519 public key (32 bytes)")?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes)
                .context("--baseline-key is not a valid Ed25519 key")?;
            baseline::verify(&signed, &key, now)
        }
        _ => Err(BaselineProblem::Missing),
    };
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

fn capture(out: &std::path::Path, redact: bool, describes: &str) -> Result<ExitCode> {
    use daypass_posture::system::{RealSystem, RecordingSystem};
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
