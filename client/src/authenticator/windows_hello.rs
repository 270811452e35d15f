//! The Windows WebAuthn API (webauthn.dll): Windows Hello, platform passkeys, security keys and
//! phones, with Windows' own prompts. Direct USB access to security keys needs administrator rights
//! on Windows, so this is the way there.

use webauthn_authenticator_rs::win10::Win10;

/// Answers the broker's options through Windows' own passkey dialog. Blocking.
pub fn answer(options: serde_json::Value, origin: &str) -> Result<serde_json::Value, String> {
    super::answer_with(&mut Win10::default(), options, origin)
}
