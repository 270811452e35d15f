//! The authenticators the `daypass` CLI answers passkey ceremonies with (the system browser is the
//! other way, in `browser_flow`): a FIDO2 security key over USB on Linux and macOS, the Windows
//! WebAuthn API on Windows, and for tests a software token in a file. Each answers as a page at the
//! broker's origin would; the broker checks origin, RP ID, user verification and counter as for any.

#[cfg(feature = "soft-authenticator")]
mod soft;
#[cfg(feature = "soft-authenticator")]
pub use soft::SoftAuthenticator;

#[cfg(all(feature = "security-key", not(windows)))]
mod security_key;
#[cfg(all(feature = "security-key", not(windows)))]
pub use security_key::answer as native;

#[cfg(all(feature = "security-key", windows))]
mod windows_hello;
#[cfg(all(feature = "security-key", windows))]
pub use windows_hello::answer as native;

use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator as _};

/// Answers the broker's registration or authentication options with `backend`, as a page at
/// `origin`: the WebAuthn JSON the broker's `…/finish` call takes.
pub(crate) fn answer_with(
    backend: &mut impl AuthenticatorBackend,
    options: serde_json::Value,
    origin: &str,
) -> Result<serde_json::Value, String> {
    let origin = Url::parse(origin).map_err(|e| format!("the broker's origin {origin:?}: {e}"))?;
    let registering = options["publicKey"].get("user").is_some();
    let answer = if registering {
        let options: CreationChallengeResponse = serde_json::from_value(options)
            .map_err(|e| format!("a registration challenge this client does not understand: {e}"))?;
        let credential = backend
            .do_registration(origin, options)
            .map_err(|e| format!("the authenticator refused: {e:?}"))?;
        serde_json::to_value(credential)
    } else {
        let options: RequestChallengeResponse = serde_json::from_value(options)
            .map_err(|e| format!("a sign-in challenge this client does not understand: {e}"))?;
        let credential = backend
            .do_authentication(origin, options)
            .map_err(|e| format!("the authenticator refused: {e:?}"))?;
        serde_json::to_value(credential)
    };
    answer.map_err(|e| e.to_string())
}
