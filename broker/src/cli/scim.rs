//! `daypass-broker admin scim-token issue|list|revoke`: the bearer tokens identity providers
//! provision people with (`/scim/v2`, nothing else).

use super::{duration_arg, emit};
use anyhow::Result;
use clap::Subcommand;
use daypass_broker_core::Broker;
use daypass_proto::duration::format_duration;
use secrecy::ExposeSecret as _;

#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Issue a SCIM token for an identity provider (e.g. `okta`): printed once, only its digest is
    /// kept; its changes are audited as `scim:NAME`.
    Issue {
        name: String,
        #[arg(long, value_parser = duration_arg, default_value = "365d")]
        ttl: i64,
    },
    /// The SCIM tokens: name, who issued it, until when.
    List,
    /// Revoke the SCIM tokens named NAME: the identity provider is refused from now on.
    Revoke { name: String },
}

pub async fn run(broker: &Broker, actor: &str, command: ScimTokenCommand, json: bool) -> Result<()> {
    match command {
        ScimTokenCommand::Issue { name, ttl } => {
            let secret = broker
                .issue_scim_token(actor, &name, time::Duration::seconds(ttl))
                .await?;
            let origin = broker.origin();
            let out = serde_json::json!({
                "name": name, "token": secret.expose_secret(), "ttl_seconds": ttl,
                "base_url": format!("{origin}/scim/v2"),
            });
            emit(json, &out, || {
                format!(
                    "SCIM token {name} (shown once, valid {}); give the identity provider the base URL {origin}/scim/v2 and:\n{}",
                    format_duration(ttl),
                    secret.expose_secret()
                )
            })?;
        }
        ScimTokenCommand::List => {
            let tokens = broker.scim_tokens().await?;
            emit(json, &tokens, || {
                if tokens.is_empty() {
                    return "no SCIM tokens".into();
                }
                tokens
                    .iter()
                    .map(|t| {
                        format!(
                            "{}  issued by {} at {}, valid until {}",
                            t.name, t.created_by, t.created_at, t.expires_at
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        ScimTokenCommand::Revoke { name } => {
            let gone = broker.revoke_scim_token(actor, &name).await?;
            emit(
                json,
                &serde_json::json!({ "name": name, "revoked": gone }),
                || format!("revoked {gone} SCIM token(s) named {name}"),
            )?;
        }
    }
    Ok(())
}
