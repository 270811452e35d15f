//! Proof that the one who finishes a passkey ceremony started it (PKCE, RFC 7636, method S256): the
//! app keeps a random code verifier and sends only its SHA-256 (the code challenge) when it starts;
//! the finish call must present the verifier. A ceremony answer intercepted on its way back from the
//! browser (the loopback redirect) is then useless to anyone else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The code challenge of `verifier`: base64url (no padding) of its SHA-256, 43 characters.
pub fn challenge_of(verifier: &str) -> String {
    B64URL.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `challenge` has the shape of a code challenge (43 base64url characters).
pub fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is the one `challenge` was made from, compared in constant time.
pub fn verifies(challenge: &str, verifier: &str) -> bool {
    challenge_of(verifier)
        .as_bytes()
        .ct_eq(challenge.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_holds() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            challenge_of(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_challenge(&challenge_of(verifier)));
        assert!(verifies(&challenge_of(verifier), verifier));
        assert!(!verifies(&challenge_of(verifier), "another verifier"));
        assert!(!verifies(&challenge_of(verifier), ""));
        assert!(!is_challenge("too short"));
        assert!(!is_challenge(&format!("{}+", "a".repeat(42))));
    }
}
