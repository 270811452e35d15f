//! `daypass-broker review open|list|show|close|evidence|verify|restore`: access review campaigns
//! from the broker's host (reviewers answer on the console's reviews page).

use super::{cli_actor, emit, until_arg};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use daypass_broker_core::domain::review::{OnDeadline, ReviewScope};
use daypass_broker_core::{Broker, CampaignProgress, CampaignSpec, ReviewEvidence};
use daypass_proto::signed::Signed;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Open a campaign: every standing entitlement of every active person in scope goes to the
    /// approvers of its policy, to keep or remove by the deadline.
    Open {
        /// What reviewers and auditors see, e.g. "Q1 2027 contractors".
        #[arg(long)]
        name: String,
        /// contractors, company:NAME or group:NAME.
        #[arg(long, default_value = "contractors")]
        scope: ReviewScope,
        /// YYYY-MM-DD (through the end of that day, UTC) or an RFC 3339 time; at least an hour away.
        #[arg(long, value_parser = until_arg)]
        deadline: time::OffsetDateTime,
        /// What happens to an item nobody answered: remove, or keep-and-flag.
        #[arg(long, default_value = "remove")]
        on_deadline: OnDeadline,
    },
    /// The newest campaigns and how far their reviewers have got.
    List,
    /// Close a campaign now: unanswered items take its deadline outcome.
    Close { id: Uuid },
    /// Write a campaign's evidence, signed with the broker's key, to a file (or standard output).
    Evidence {
        id: Uuid,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an evidence file against this broker's key and summarise it; exits 1 if it does not verify.
    Verify { file: PathBuf },
    /// Give back an entitlement a review removed from a person (the grants it ended stay ended).
    Restore {
        person: String,
        entitlement: String,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(broker: &Broker, cmd: ReviewCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        ReviewCommand::Open {
            name,
            scope,
            deadline,
            on_deadline,
        } => {
            let spec = CampaignSpec {
                name,
                scope,
                deadline,
                on_deadline,
            };
            let opened = broker.open_review_as(&cli_actor(), spec).await?;
            emit(json, &opened, || {
                format!(
                    "access review {} opened: {} items for the approvers of each policy, due {}",
                    opened.campaign.id,
                    opened.total,
                    when(opened.campaign.deadline)
                )
            })?;
        }
        ReviewCommand::List => {
            let campaigns = broker.recent_review_campaigns().await?;
            let now = broker.now();
            emit(json, &campaigns, || list_text(&campaigns, now))?;
        }
        ReviewCommand::Close { id } => {
            let closed = broker.close_review_as(&cli_actor(), id).await?;
            emit(json, &closed, || {
                format!(
                    "access review {id} closed; unanswered items were {}",
                    closed.on_deadline.in_words()
                )
            })?;
        }
        ReviewCommand::Evidence { id, out } => {
            let signed = broker.signed_review_evidence(id).await?;
            let text = serde_json::to_string_pretty(&signed)? + "\n";
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("evidence of access review {id} written to {}", path.display());
                }
                None => print!("{text}"),
            }
        }
        ReviewCommand::Verify { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let signed: Signed<ReviewEvidence> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a Daypass review evidence file", file.display()))?;
            let evidence = match signed.verify(&broker.verifying_key()) {
                Ok(evidence) => evidence,
                Err(e) => bail!("{} does not verify: {e}", file.display()),
            };
            emit(json, &evidence, || verified_text(&evidence))?;
        }
        ReviewCommand::Restore {
            person,
            entitlement,
            reason,
        } => {
            broker
                .restore_entitlement_as(&cli_actor(), &person, &entitlement, &reason)
                .await?;
            emit(
                json,
                &serde_json::json!({ "person": person, "restored": entitlement }),
                || {
                    format!("{person} holds entitlement {entitlement} again (grants ended by the review stay ended)")
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn list_text(campaigns: &[CampaignProgress], now: time::OffsetDateTime) -> String {
    if campaigns.is_empty() {
        return "no access review has been opened: `daypass-broker review open --name … --deadline …`".into();
    }
    let mut out = String::new();
    for p in campaigns {
        let c = &p.campaign;
        let state = match (c.closed_at, c.is_open(now)) {
            (Some(at), _) => format!("closed {} by {}", when(at), c.closed_by.as_deref().unwrap_or("-")),
            (None, true) => format!("open until {}", when(c.deadline)),
            (None, false) => "closing (deadline passed)".into(),
        };
        let _ = writeln!(
            out,
            "{} {:?} {} — {}/{} answered; {}; unanswered: {}",
            c.id, c.name, c.scope, p.answered, p.total, state, c.on_deadline
        );
    }
    out.trim_end().to_string()
}

fn verified_text(e: &ReviewEvidence) -> String {
    let outcomes: Vec<String> = e.outcomes.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    format!(
        "signature verifies: access review {:?} ({}), {} items, {}; made {} at audit entry {}{}",
        e.campaign.name,
        e.campaign.scope,
        e.items.len(),
        outcomes.join(", "),
        when(e.generated_at),
        e.audit_head_seq,
        if e.closed {
            ""
        } else {
            " (the campaign was still open: outcomes may have changed since)"
        }
    )
}
