//! Device-bound sessions: a request made with a session token carries `Daypass-Signature:
//! t=UNIX_SECONDS,n=NONCE,sig=BASE64`, an Ed25519 signature by the device's report key over the
//! method, the host, the path with its query, the time, a nonce, the session token's id and the
//! SHA-256 of the body. A token copied off the machine is useless without the key; a signature fits
//! only its own request, to its own broker, with its own session, for a minute, and the broker takes
//! each nonce once.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "daypass-signature";

/// How far the signing time may be from the broker's clock, either way.
pub const SKEW_SECONDS: i64 = 60;

/// What one signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The broker's `host[:port]`, as the request's `Host` says it.
    pub host: &'a str,
    pub path_and_query: &'a str,
    /// The session token the request is made with (only its id is signed).
    pub token: &'a str,
    pub body: &'a [u8],
}

/// A short, one-way id of a session token: the signature names the session without holding it.
pub fn token_id(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

fn message(r: &Request<'_>, at: i64, nonce: &str) -> Vec<u8> {
    format!(
        "daypass-request-v2\n{}\n{}\n{}\n{at}\n{nonce}\n{}\n{}",
        r.method.to_ascii_uppercase(),
        r.host.to_ascii_lowercase(),
        r.path_and_query,
        token_id(r.token),
        hex::encode(Sha256::digest(r.body))
    )
    .into_bytes()
}

/// A nonce from 16 random bytes (the caller draws them: this crate does no I/O).
pub fn nonce(random: [u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// The header value for a request, with `nonce` (fresh for every request: see `nonce`).
pub fn sign(key: &SigningKey, request: &Request<'_>, at: i64, nonce: &str) -> String {
    let sig = key.sign(&message(request, at, nonce));
    format!("t={at},n={nonce},sig={}", B64.encode(sig.to_bytes()))
}

/// Checks a header value against the device's key and the broker's time; gives the nonce, which
/// the caller must accept only once (within the time window). The error says what to fix.
pub fn verify(
    key: &VerifyingKey,
    header: &str,
    request: &Request<'_>,
    now: i64,
) -> Result<String, &'static str> {
    let mut at = None;
    let mut sig = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => at = v.parse::<i64>().ok(),
            Some(("sig", v)) => sig = B64.decode(v).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()),
            _ => {}
        }
    }
    let (Some(at), Some(nonce), Some(sig)) = (at, nonce_of(header), sig) else {
        return Err("the Daypass-Signature header is not t=UNIX_SECONDS,n=NONCE,sig=BASE64");
    };
    if (now - at).abs() > SKEW_SECONDS {
        return Err("the request's signature time is more than a minute off: check this device's clock");
    }
    key.verify(&message(request, at, nonce), &Signature::from_bytes(&sig))
        .map_err(|_| "the request is not signed by the device this session is bound to")?;
    Ok(nonce.to_string())
}

/// The nonce a header names, read before its signature is checked (as `verify` reads it).
pub fn nonce_of(header: &str) -> Option<&str> {
    header
        .split(',')
        .find_map(|part| match part.trim().split_once('=') {
            Some(("n", v)) if (16..=64).contains(&v.len()) => Some(v),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: Request<'static> = Request {
        method: "post",
        host: "broker.example:8443",
        path_and_query: "/api/v1/requests?x=1",
        token: "dps_session",
        body: b"{}",
    };

    #[test]
    fn a_signature_fits_only_its_own_request_host_session_key_and_minute() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let h = sign(&key, &REQUEST, 1000, &nonce([7; 16]));
        let pk = key.verifying_key();
        assert_eq!(verify(&pk, &h, &REQUEST, 1030).unwrap(), nonce([7; 16]));
        assert_eq!(
            nonce_of(&h),
            Some(nonce([7; 16]).as_str()),
            "read before checking"
        );
        assert!(verify(&pk, &h, &REQUEST, 1061).is_err(), "stale");
        let changed = [
            Request {
                path_and_query: "/api/v1/requests?x=2",
                ..REQUEST
            },
            Request {
                body: b"{ }",
                ..REQUEST
            },
            Request {
                method: "GET",
                ..REQUEST
            },
            Request {
                host: "other.example:8443",
                ..REQUEST
            },
            Request {
                token: "dps_another_session",
                ..REQUEST
            },
        ];
        for request in changed {
            assert!(verify(&pk, &h, &request, 1000).is_err(), "{request:?}");
        }
        assert!(verify(&other.verifying_key(), &h, &REQUEST, 1000).is_err());
        assert!(verify(&pk, "t=1000", &REQUEST, 1000).is_err());
        let without_nonce = h
            .split(',')
            .filter(|p| !p.starts_with("n="))
            .collect::<Vec<_>>()
            .join(",");
        assert!(
            verify(&pk, &without_nonce, &REQUEST, 1000).is_err(),
            "a v1 header"
        );
    }

    #[test]
    fn the_token_itself_is_never_in_what_is_signed() {
        let id = token_id("dps_secret_session");
        assert_eq!(id.len(), 16);
        assert!(!String::from_utf8_lossy(&message(&REQUEST, 1, "n")).contains("dps_session"));
    }
}
