//! The markup of the broker's pages (maud: every value escaped by construction): one layout with
//! the signed-in person's navigation, the sign-in and enrollment pages, and the person's home with
//! their passkeys.

use daypass_broker_core::domain::directory::Role;
use daypass_broker_core::PostureRecord;
use daypass_posture::evaluate::Outcome;
use daypass_proto::api::PasskeyView;
use maud::{html, Markup, DOCTYPE};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Who is signed in, as every page of theirs shows it.
pub struct Signed {
    pub id: String,
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub session_ends: OffsetDateTime,
    pub csrf: String,
}

/// The pages a person's roles open, as (path, label, roles that open it; none: everyone).
pub const SECTIONS: [(&str, &str, &[Role]); 8] = [
    ("/console", "Home", &[]),
    ("/console/approvals", "Approvals", &[Role::Approver]),
    ("/console/reviews", "Reviews", &[Role::Approver]),
    ("/console/helpdesk", "Helpdesk", &[Role::Helpdesk, Role::Admin]),
    ("/console/admin", "Administration", &[Role::Admin]),
    (
        "/console/alerts",
        "Alerts",
        &[Role::Admin, Role::Helpdesk, Role::Auditor],
    ),
    ("/console/audit", "Audit", &[Role::Auditor, Role::Admin]),
    (
        "/console/reports",
        "Reports",
        &[Role::Admin, Role::Auditor, Role::Approver],
    ),
];

fn navigation(who: &Signed, current: &str) -> Markup {
    html! {
        header class="top" {
            nav aria-label="Daypass" {
                ul {
                    @for (path, label, role) in SECTIONS {
                        @if role.is_empty() || role.iter().any(|r| who.roles.contains(r)) {
                            li {
                                a href=(path) aria-current=[(path == current).then_some("page")] { (label) }
                            }
                        }
                    }
                }
            }
            p class="who" { (who.name) " (" (who.id) ")" }
            form method="post" action="/console/sign-out" {
                input type="hidden" name="csrf" value=(who.csrf);
                button type="submit" { "Sign out" }
            }
        }
    }
}

/// A whole page: title, the signed-in person's navigation and CSRF token (when signed in, with the
/// path of the page, to mark where they are), and the body.
pub fn layout(title: &str, who: Option<(&Signed, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some((w, _)) = who { meta name="csrf-token" content=(w.csrf); }
                title { (title) " — Daypass" }
                link rel="stylesheet" href="/static/page.css";
                script src="/static/webauthn.js" defer {}
                script src="/static/console.js" defer {}
            }
            body {
                @if let Some((w, path)) = who { (navigation(w, path)) }
                main { (body) }
            }
        }
    }
}

/// A posture report check by check: result and evidence, and with `fixes` what to tell the
/// contractor for each check that did not pass.
pub fn posture_table(record: &PostureRecord, fixes: bool) -> Markup {
    html! {
        p {
            "Report of " (when(record.received_at)) ": "
            @if record.report.compliant { strong class="good" { "compliant" } } @else { strong class="bad" { "not compliant" } }
        }
        table class="posture" {
            thead { tr {
                th scope="col" { "Check" } th scope="col" { "Result" } th scope="col" { "Evidence" }
                @if fixes { th scope="col" { "What to tell the contractor" } }
            } }
            tbody {
                @for c in &record.report.results {
                    tr {
                        td { (c.check.to_string()) @if !c.required { " (advisory)" } }
                        td {
                            @match &c.outcome {
                                Outcome::Pass => span class="good" { "pass" },
                                Outcome::Fail => span class="bad" { "fail" },
                                Outcome::Unknown { reason } => span class="bad" { "unknown: " (reason) },
                                Outcome::NotApplicable => span { "not applicable" },
                            }
                        }
                        td { (c.evidence.join("; ")) }
                        @if fixes { td { (c.remediation.clone().unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}

/// A page the person's roles do not open.
pub fn not_for_you(who: &Signed, path: &str, why: &str) -> Markup {
    layout(
        "Not available",
        Some((who, path)),
        html! {
            h1 { "Not available to you" }
            p { (why) }
            p { "Ask your Daypass administrator if you need it." }
        },
    )
}

/// A time as people read it (`2026-11-24 15:28 UTC`).
pub fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&format).unwrap_or_else(|_| t.to_string())
}

/// The same time for machines (`<time datetime=…>`).
pub fn machine(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Where the passkey forms land when the browser runs no script (their fields are not read).
pub fn needs_script() -> Markup {
    layout(
        "Passkeys need JavaScript",
        None,
        html! {
            h1 { "Passkeys need JavaScript" }
            p { "Signing in with a passkey runs in this page's script, which your browser did not run. Allow JavaScript for this site and " a href="/console/sign-in" { "try again" } "." }
        },
    )
}

pub fn sign_in() -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to Daypass" }
            form id="sign-in" method="post" action="/console/needs-script" {
                label for="person" { "Your Daypass user name" }
                input id="person" name="person" required autocomplete="username webauthn" autocapitalize="none";
                button type="submit" { "Sign in with a passkey" }
            }
            p id="status" role="status" aria-live="polite" {}
            p { "First time here? " a href="/console/enroll" { "Create your passkey from an invite" } "." }
        },
    )
}

pub fn enroll() -> Markup {
    layout(
        "Create your passkey",
        None,
        html! {
            h1 { "Create your Daypass passkey" }
            p { "Your administrator sent you an invite code. It works once, for a limited time." }
            form id="enroll" method="post" action="/console/needs-script" {
                label for="invite" { "Invite code" }
                input id="invite" name="invite" required autocomplete="off" spellcheck="false";
                button type="submit" { "Create my passkey" }
            }
            p id="status" role="status" aria-live="polite" {}
            p { "Have a passkey already? " a href="/console/sign-in" { "Sign in" } "." }
        },
    )
}

pub fn home(who: &Signed, passkeys: &[PasskeyView], devices: &[String]) -> Markup {
    let roles: Vec<String> = who.roles.iter().map(|r| r.to_string()).collect();
    let body = html! {
        h1 { "Daypass" }
        p id="who" {
            "Signed in as " strong { (who.name) } " (" (who.id) ")"
            @if !roles.is_empty() { " — " (roles.join(", ")) }
        }
        p { "This session ends at " time datetime=(machine(who.session_ends)) { (when(who.session_ends)) } "." }
        section aria-labelledby="passkeys-title" {
            h2 id="passkeys-title" { "Your passkeys" }
            table id="passkeys" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Added" } th scope="col" { "Last used" } th scope="col" { "State" } th scope="col" { span class="visually-hidden" { "Actions" } } } }
                tbody {
                    @for p in passkeys {
                        tr {
                            td { (p.name) }
                            td { (when(p.created_at)) }
                            td { (p.last_used_at.map(when).unwrap_or_else(|| "never".into())) }
                            td { @if p.revoked { "revoked" } @else { "active" } }
                            td {
                                @if !p.revoked {
                                    form method="post" action={ "/console/passkeys/" (p.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(who.csrf);
                                        button type="submit" aria-label={ "Revoke passkey " (p.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form id="add-passkey" method="post" action="/console/needs-script" {
                label for="passkey-name" { "Add another passkey, named" }
                input id="passkey-name" name="name" required maxlength="64" placeholder="e.g. YubiKey on my keyring";
                button type="submit" { "Confirm and add" }
            }
        }
        section id="devices" aria-labelledby="devices-title" {
            h2 id="devices-title" { "Your devices" }
            @if devices.is_empty() { p { "No device is enrolled for you." } }
            ul {
                @for d in devices {
                    li {
                        (d)
                        form class="act" data-endpoint={ "/console/api/devices/" (d) "/revoke" } method="post" action="/console/needs-script" {
                            label for={ "lost-" (d) } { "Revoke " (d) " because" }
                            input id={ "lost-" (d) } name="reason" required placeholder="lost, replaced, …";
                            button type="submit" { "Revoke device" }
                        }
                    }
                }
            }
        }
        p id="status" role="status" aria-live="polite" {}
    };
    layout("Home", Some((who, "/console")), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_the_csrf_token_is_in_every_form() {
        let who = Signed {
            id: "ana".into(),
            name: "<script>alert(1)</script>".into(),
            roles: [Role::Approver].into(),
            session_ends: OffsetDateTime::UNIX_EPOCH,
            csrf: "c0ffee".into(),
        };
        let passkey = PasskeyView {
            id: "cred\"1".into(),
            name: "key & <b>".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_used_at: None,
            revoked: false,
        };
        let page = home(&who, &[passkey], &[]).into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("key &amp; &lt;b&gt;"));
        assert!(page.contains("cred&quot;1"));
        assert_eq!(
            page.matches("name=\"csrf\" value=\"c0ffee\"").count(),
            2,
            "{page}"
        );
        assert!(page.contains(r#"<meta name="csrf-token" content="c0ffee">"#));
        assert_eq!(
            page.matches("<script").count(),
            2,
            "only the two scripts of the broker"
        );
        assert!(
            page.contains(r#"href="/console/approvals""#),
            "an approver sees the approvals"
        );
        assert!(page.contains(r#"aria-current="page""#));
    }
}
