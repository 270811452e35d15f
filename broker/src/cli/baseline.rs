//! `daypass-broker baseline show|import|sign`: the posture baseline in force, pinning another one in
//! its place, and signing one (IT's own, or the next one Daypass ships).

use crate::baseline::{self, InForce};
use crate::config::FileConfig;
use anyhow::{Context, Result};
use base64::Engine as _;
use clap::Subcommand;
use daypass_broker_core::clock::{Clock, SystemClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Show the baseline in force: where it comes from, until when it is valid, each release with
    /// its public source. Exit 1 when it no longer judges anything (expired, bad signature).
    Show,
    /// Verify a signed baseline with its key and use it instead of the shipped one (from the
    /// broker's next start; `posture_baseline` in broker.toml still wins over it).
    Import {
        /// The signed baseline (JSON), e.g. from `baseline sign`.
        file: PathBuf,
        /// The base64 Ed25519 public key it must be signed with.
        #[arg(long)]
        key: String,
    },
    /// Sign a baseline (JSON: `baseline show --json | jq .baseline`, edited) with an Ed25519 key
    /// file, made (0600) if it does not exist.
    Sign {
        /// The baseline to sign (JSON).
        file: PathBuf,
        /// The signing key (base64 of a 32-byte Ed25519 seed).
        #[arg(long)]
        key_file: PathBuf,
        /// Where to write the signed baseline.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cmd: BaselineCommand, file: &FileConfig, data_dir: &Path, json: bool) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        BaselineCommand::Show => {
            let in_force = baseline::in_force(file, data_dir)?;
            show(&in_force, now, json)
        }
        BaselineCommand::Import { file: signed, key } => {
            let imported = baseline::import(&signed, &key, data_dir, now)?;
            println!(
                "imported: {} releases, valid until {}; kept in {} and used from the broker's next start",
                imported.releases.len(),
                imported.valid_until.date(),
                baseline::imported_path(data_dir).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        BaselineCommand::Sign {
            file: input,
            key_file,
            out,
        } => {
            let (signed, public) = baseline::sign(&input, &key_file)?;
            std::fs::write(&out, serde_json::to_string_pretty(&signed)? + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            let public = base64::engine::general_purpose::STANDARD.encode(public.as_bytes());
            println!(
                "signed {} into {}\npublic key: {public}\nuse it: daypass-broker baseline import {} --key {public}",
                input.display(),
                out.display(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn show(in_force: &InForce, now: time::OffsetDateTime, json: bool) -> Result<ExitCode> {
    let usable = baseline::health(in_force, now);
    if json {
        let body = serde_json::json!({
            "origin": in_force.origin,
            "problem": usable.as_ref().err().map(ToString::to_string),
            "warning": usable.as_ref().ok().cloned().flatten(),
            "baseline": in_force.signed.verify(&in_force.key).ok(),
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", baseline::describe(in_force, now));
    }
    Ok(if usable.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
