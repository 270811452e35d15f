//! A FIDO2 security key plugged in over USB, spoken to directly (CTAP2 over HID): the key asks for
//! its PIN on the terminal and for a touch. Exactly one key must be plugged in, so a touch never
//! goes to a key the person did not mean.

use webauthn_authenticator_rs::ctap2::CtapAuthenticator;
use webauthn_authenticator_rs::transport::Transport as _;
use webauthn_authenticator_rs::ui::Cli;
use webauthn_authenticator_rs::usb::USBTransport;

/// Answers the broker's options with the one security key plugged in. Blocking: call it off the
/// async runtime.
pub fn answer(options: serde_json::Value, origin: &str) -> Result<serde_json::Value, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the USB reader: {e}"))?;
    let token = runtime.block_on(async {
        let usb = USBTransport::new()
            .await
            .map_err(|e| format!("cannot read USB devices ({e:?}): run as a user allowed to use the security key (udev rules), or use --browser"))?;
        let mut tokens = usb
            .tokens()
            .await
            .map_err(|e| format!("cannot list USB security keys: {e:?}"))?;
        match tokens.len() {
            0 => Err("no FIDO2 security key is plugged in over USB: plug yours in and try again, or use --browser for a platform or phone passkey".to_string()),
            1 => Ok(tokens.remove(0)),
            n => Err(format!("{n} security keys are plugged in: leave only the one you want to use")),
        }
    })?;
    let ui = Cli {};
    eprintln!("Touch your security key when it blinks.");
    let mut key = runtime
        .block_on(CtapAuthenticator::new(token, &ui))
        .ok_or("the USB device did not answer as a FIDO2 (CTAP2) security key")?;
    super::answer_with(&mut key, options, origin)
}

#[cfg(test)]
mod tests {
    /// On a machine with no security key plugged in (as CI is), the real USB enumeration finds none
    /// and says what to do; nothing hangs waiting for a touch.
    #[test]
    fn without_a_key_plugged_in_it_says_so_at_once() {
        let options = serde_json::json!({ "publicKey": { "challenge": "AAAA", "allowCredentials": [] } });
        let err = super::answer(options, "https://localhost:8443").unwrap_err();
        assert!(err.contains("no FIDO2 security key is plugged in"), "{err}");
        assert!(err.contains("--browser"), "{err}");
    }
}
