//! The admin page's API tokens: each one's holder, label, scopes and expiry, revoked one by one
//! (issuing stays on the CLI, which shows the token once on the operator's terminal).

use super::pages::when;
use super::visitor::Visitor;
use super::{said, Nothing};
use crate::{ApiJson, ApiPath, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::ApiToken;
use maud::{html, Markup};

pub(super) fn section(tokens: &[(String, ApiToken)]) -> Markup {
    html! {
        section id="tokens" aria-labelledby="tokens-title" {
            h2 id="tokens-title" { "API tokens (" (tokens.len()) ")" }
            p { "Issue one with " code { "daypass-broker admin token issue PERSON --scope reports:read" } " (shown once). A token without scopes may do all its holder may." }
            @if !tokens.is_empty() {
                table {
                    thead { tr { th scope="col" { "Id" } th scope="col" { "Holder" } th scope="col" { "Label" } th scope="col" { "Scopes" } th scope="col" { "Until" } th scope="col" { "Revoke" } } }
                    tbody {
                        @for (id, t) in tokens {
                            tr {
                                td { code { (id) } }
                                td { (t.person) }
                                td { (t.label) }
                                td { @match &t.scopes {
                                    Some(scopes) => { (scopes.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")) },
                                    None => { "all its holder may do" },
                                } }
                                td { (when(t.expires_at)) }
                                td {
                                    form class="act" data-endpoint={ "/console/api/tokens/" (id) "/revoke" } data-done="Revoked." method="post" action="/console/needs-script" {
                                        button type="submit" aria-label={ "Revoke token " (id) " of " (t.person) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn revoke(
    State(s): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(Nothing {}): ApiJson<Nothing>,
) -> ApiResult<serde_json::Value> {
    visitor.changing(&headers, &[Role::Admin])?;
    let token = s.broker.revoke_api_token(&visitor.caller.actor(), &id).await?;
    said(format!(
        "Revoked token {id} of {} ({}).",
        token.person, token.label
    ))
}
