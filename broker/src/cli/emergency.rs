//! `daypass-broker emergency stop|lift|status`: the emergency stop from the broker's host, in one
//! step (the console asks two admins instead).

use super::{cli_actor, emit};
use anyhow::Result;
use clap::Subcommand;
use daypass_broker_core::domain::emergency::{EmergencyStop, StopScope};
use daypass_broker_core::Broker;
use std::fmt::Write as _;
use std::process::ExitCode;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum EmergencyCommand {
    /// End every live contractor grant now (or one company's) and refuse new requests until lifted.
    Stop {
        /// Why: contractors see it when refused, auditors in the log.
        #[arg(long)]
        reason: String,
        /// Only this company's contractors (as the directory spells it).
        #[arg(long)]
        company: Option<String>,
    },
    /// Take requests again (the ended grants stay ended): every stop in force, or the one named.
    Lift {
        #[arg(long)]
        reason: String,
        /// One stop (see `status`); without it, every stop in force.
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// The newest stops and whether one is in force; exits 3 while one is.
    Status,
}

/// Exit status of `status` while a stop is in force (for monitoring scripts).
const IN_FORCE: u8 = 3;

pub async fn run(broker: &Broker, cmd: EmergencyCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        EmergencyCommand::Stop { reason, company } => {
            let scope = company.map_or(StopScope::Everyone, StopScope::Company);
            let stop = broker.emergency_stop_now(&cli_actor(), scope, &reason).await?;
            emit(json, &stop, || {
                format!(
                    "EMERGENCY STOP {} in force for {}: {} live grants ended; requests are refused until `daypass-broker emergency lift --reason …`",
                    stop.id, stop.scope, stop.grants_ended
                )
            })?;
        }
        EmergencyCommand::Lift { reason, id } => {
            let lifted = broker.lift_emergency_stop_as(&cli_actor(), id, &reason).await?;
            emit(json, &lifted, || {
                let ids: Vec<String> = lifted.iter().map(|s| format!("{} ({})", s.id, s.scope)).collect();
                format!("lifted: {}; access can be requested again", ids.join(", "))
            })?;
        }
        EmergencyCommand::Status => {
            let stops = broker.recent_emergency_stops().await?;
            let now = broker.now();
            emit(json, &stops, || status_text(&stops, now))?;
            if stops
                .iter()
                .any(|s| s.state(now) == daypass_broker_core::domain::emergency::StopState::InForce)
            {
                return Ok(ExitCode::from(IN_FORCE));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status_text(stops: &[EmergencyStop], now: time::OffsetDateTime) -> String {
    if stops.is_empty() {
        return "no emergency stop has ever been made".into();
    }
    let when = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "-".into())
    };
    let mut out = String::new();
    for s in stops {
        let _ = writeln!(
            out,
            "{} {:<9} {} — {} (proposed by {} at {}; started by {} at {}; {} grants ended{})",
            s.id,
            s.state(now).as_str(),
            s.scope,
            s.reason,
            s.proposed_by,
            when(Some(s.proposed_at)),
            s.started_by.as_deref().unwrap_or("-"),
            when(s.started_at),
            s.grants_ended,
            match (&s.lifted_by, &s.lift_reason) {
                (Some(by), Some(why)) => format!("; lifted by {by} at {}: {why}", when(s.lifted_at)),
                _ => String::new(),
            }
        );
    }
    out.trim_end().to_string()
}
