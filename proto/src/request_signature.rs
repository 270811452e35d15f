//! Device-bound sessions: a request made with a session token carries `Daypass-Signature:
//! t=UNIX_SECONDS,sig=BASE64`, an Ed25519 signature by the device's report key over the method, the
//! path with its query, the time and the SHA-256 of the body. A token copied off the machine is
//! useless without the key, and a signature fits only its own request for a minute.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "daypass-signature";

/// How far the signing time may be from the broker's clock, either way.
pub const SKEW_SECONDS: i64 = 60;

fn message(method: &str, path_and_query: &str, at: i64, body: &[u8]) -> Vec<u8> {
    format!(
        "daypass-request-v1\n{}\n{path_and_query}\n{at}\n{}",
        method.to_ascii_uppercase(),
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

/// The header value for a request.
pub fn sign(key: &SigningKey, method: &str, path_and_query: &str, at: i64, body: &[u8]) -> String {
    let sig = key.sign(&message(method, path_and_query, at, body));
    format!("t={at},sig={}", B64.encode(sig.to_bytes()))
}

/// Checks a header value against the device's key and the broker's time; the error says what to fix.
pub fn verify(
    key: &VerifyingKey,
    header: &str,
    method: &str,
    path_and_query: &str,
    now: i64,
    body: &[u8],
) -> Result<(), &'static str> {
    let mut at = None;
    let mut sig = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => at = v.parse::<i64>().ok(),
            Some(("sig", v)) => sig = B64.decode(v).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()),
            _ => {}
        }
    }
    let (Some(at), Some(sig)) = (at, sig) else {
        return Err("the Daypass-Signature header is not t=UNIX_SECONDS,sig=BASE64");
    };
    if (now - at).abs() > SKEW_SECONDS {
        return Err("the request's signature time is more than a minute off: check this device's clock");
    }
    key.verify(
        &message(method, path_and_query, at, body),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| "the request is not signed by the device this session is bound to")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_fits_only_its_own_request_key_and_minute() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let h = sign(&key, "post", "/api/v1/requests?x=1", 1000, b"{}");
        let pk = key.verifying_key();
        assert!(verify(&pk, &h, "POST", "/api/v1/requests?x=1", 1030, b"{}").is_ok());
        assert!(
            verify(&pk, &h, "POST", "/api/v1/requests?x=1", 1061, b"{}").is_err(),
            "stale"
        );
        assert!(
            verify(&pk, &h, "POST", "/api/v1/requests?x=2", 1000, b"{}").is_err(),
            "other path"
        );
        assert!(
            verify(&pk, &h, "POST", "/api/v1/requests?x=1", 1000, b"{ }").is_err(),
            "other body"
        );
        assert!(
            verify(&pk, &h, "GET", "/api/v1/requests?x=1", 1000, b"{}").is_err(),
            "other method"
        );
        assert!(verify(
            &other.verifying_key(),
            &h,
            "POST",
            "/api/v1/requests?x=1",
            1000,
            b"{}"
        )
        .is_err());
        assert!(verify(&pk, "t=1000", "POST", "/", 1000, b"").is_err());
    }
}
