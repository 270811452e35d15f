//! Answering a passkey ceremony the service handed out, outside the web view (WebKitGTK has no
//! WebAuthn): a security key spoken to directly, or the broker's page in the system browser with
//! the answer coming back to a loopback port. The service keeps the PKCE verifier; the answer is
//! only good for its single-use challenge.

use crate::views::{PasskeyMethod, Problem};
use daypass_client::browser_flow;
use uuid::Uuid;

pub async fn answer(
    method: PasskeyMethod,
    ceremony: Uuid,
    options: serde_json::Value,
    origin: &str,
    on_page: impl Fn(&str),
) -> Result<serde_json::Value, Problem> {
    let refused = |message: String| Problem::new("authenticator", message);
    match method {
        PasskeyMethod::Browser => browser_flow::confirm(origin, ceremony, |page| {
            on_page(page);
            open_in_browser(page);
        })
        .await
        .map_err(refused),
        PasskeyMethod::SecurityKey => {
            let origin = origin.to_string();
            blocking(move || daypass_client::authenticator::native(options, &origin)).await
        }
        PasskeyMethod::TestToken => test_token(options, origin).await,
    }
}

/// Runs an authenticator (it waits for a touch) off the async threads.
async fn blocking(
    work: impl FnOnce() -> Result<serde_json::Value, String> + Send + 'static,
) -> Result<serde_json::Value, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err("the authenticator stopped unexpectedly".into()))
        .map_err(|m| Problem::new("authenticator", m))
}

#[cfg(feature = "soft-authenticator")]
async fn test_token(options: serde_json::Value, origin: &str) -> Result<serde_json::Value, Problem> {
    let Some(file) = std::env::var_os("DAYPASS_SOFT_AUTHENTICATOR") else {
        return Err(Problem::new(
            "authenticator",
            "no test token: set DAYPASS_SOFT_AUTHENTICATOR to its file",
        ));
    };
    let origin = origin.to_string();
    blocking(move || {
        daypass_client::authenticator::SoftAuthenticator::open(std::path::Path::new(&file))
            .and_then(|mut token| token.answer(options, &origin))
    })
    .await
}

#[cfg(not(feature = "soft-authenticator"))]
async fn test_token(_options: serde_json::Value, _origin: &str) -> Result<serde_json::Value, Problem> {
    Err(Problem::new(
        "authenticator",
        "this build has no test token: use a security key or the browser",
    ))
}

/// Whether this build offers the test token (the window offers only the methods that work).
pub fn test_token_available() -> bool {
    cfg!(feature = "soft-authenticator") && std::env::var_os("DAYPASS_SOFT_AUTHENTICATOR").is_some()
}

/// Opens `page` in the person's default browser; the window shows the address as well, for when
/// no browser opens.
fn open_in_browser(page: &str) {
    let opener = if cfg!(target_os = "macos") {
        ("open", vec![page])
    } else if cfg!(windows) {
        ("explorer", vec![page])
    } else {
        ("xdg-open", vec![page])
    };
    if let Err(e) = std::process::Command::new(opener.0).args(opener.1).spawn() {
        tracing::warn!(error = %e, "could not open the system browser; the window shows the address");
    }
}
