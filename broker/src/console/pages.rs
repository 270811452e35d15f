//! The markup of the broker's pages (maud: every value escaped by construction): one layout, the
//! sign-in and enrollment pages, and the signed-in person's home with their passkeys.

use daypass_proto::api::PasskeyView;
use maud::{html, Markup, DOCTYPE};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A whole page: title, the session's CSRF token for scripts (when signed in), and the body.
pub fn layout(title: &str, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(token) = csrf { meta name="csrf-token" content=(token); }
                title { (title) " — Daypass" }
                link rel="stylesheet" href="/static/page.css";
                script src="/static/webauthn.js" defer {}
                script src="/static/console.js" defer {}
            }
            body {
                main { (body) }
            }
        }
    }
}

/// A time as people read it (`2026-11-24 15:28 UTC`).
fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&format).unwrap_or_else(|_| t.to_string())
}

/// The same time for machines (`<time datetime=…>`).
fn machine(t: OffsetDateTime) -> String {
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

/// Who is signed in, shown on their home page.
pub struct Signed<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub roles: Vec<String>,
    pub session_ends: OffsetDateTime,
    pub csrf: &'a str,
}

pub fn home(who: &Signed<'_>, passkeys: &[PasskeyView]) -> Markup {
    let body = html! {
        header {
            h1 { "Daypass" }
            p id="who" {
                "Signed in as " strong { (who.name) } " (" (who.id) ")"
                @if !who.roles.is_empty() { " — " (who.roles.join(", ")) }
            }
            p { "This session ends at " time datetime=(machine(who.session_ends)) { (when(who.session_ends)) } "." }
            form method="post" action="/console/sign-out" {
                input type="hidden" name="csrf" value=(who.csrf);
                button type="submit" { "Sign out" }
            }
        }
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
            p id="status" role="status" aria-live="polite" {}
        }
    };
    layout("Home", Some(who.csrf), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_the_csrf_token_is_in_every_form() {
        let who = Signed {
            id: "ana",
            name: "<script>alert(1)</script>",
            roles: vec!["approver".into()],
            session_ends: OffsetDateTime::UNIX_EPOCH,
            csrf: "c0ffee",
        };
        let passkey = PasskeyView {
            id: "cred\"1".into(),
            name: "key & <b>".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_used_at: None,
            revoked: false,
        };
        let page = home(&who, &[passkey]).into_string();
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
    }
}
