//! The device key in the real OS keyring (Linux keyutils, in a session keyring of the test's own):
//! created once, kept, and used to sign reports the broker's verification accepts.

use super::fixture_dir;
use base64::Engine as _;
use daypass_posture::signed_report::{self, ReportClaims};
use daypass_proto::Signed;
use std::process::Command;

/// Runs a shell script inside a fresh session keyring, so keys never leak into the caller's.
fn in_session_keyring(script: &str) -> (i32, String, String) {
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", script])
        .env("POSTURE", env!("CARGO_BIN_EXE_daypass-posture"))
        .output()
        .expect("keyctl (package keyutils) runs the keyring tests; scripts/test.sh installs it");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_keyring_key_is_created_once_and_signs_reports_that_verify() {
    let fixture = fixture_dir("windows-11-24h2-bitlocker-on");
    let script = format!(
        r#"set -e
"$POSTURE" key --device lap-7
"$POSTURE" key --device lap-7
echo ---
"$POSTURE" report --device lap-7 --nonce n-123 --fixture '{fixture}'"#
    );
    let (code, out, err) = in_session_keyring(&script);
    assert_eq!(code, 0, "{out}{err}");
    let (keys, report) = out.split_once("---\n").unwrap();
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the second call reuses the stored key");
    let public: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(keys[0])
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();

    let body: serde_json::Value = serde_json::from_str(report).unwrap();
    assert_eq!(body["device"], "lap-7");
    let signed: Signed<ReportClaims> = serde_json::from_value(body["report"].clone()).unwrap();
    let claims = signed_report::verify(&signed, &public, "lap-7", "n-123").unwrap();
    assert_eq!(
        claims.facts.os,
        daypass_posture::probes::collect(&super::fixture("windows-11-24h2-bitlocker-on")).os
    );
    assert!(
        signed_report::verify(&signed, &public, "lap-7", "n-other").is_err(),
        "another nonce"
    );

    // A fact changed after signing no longer verifies.
    let mut tampered = signed.clone();
    let mut payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(&tampered.payload)
            .unwrap(),
    )
    .unwrap();
    payload["facts"]["firewall"]["value"]["enabled"] = serde_json::Value::Bool(false);
    tampered.payload =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&payload).unwrap());
    assert!(signed_report::verify(&tampered, &public, "lap-7", "n-123").is_err());
}

#[test]
fn a_report_without_an_enrolled_key_or_nonce_is_refused_clearly() {
    let (code, _, err) = in_session_keyring(r#""$POSTURE" report --device nobody --nonce n-1"#);
    assert_eq!(code, 2);
    assert!(err.contains("has no report-signing key"), "{err}");
    let (code, _, err) = in_session_keyring(
        r#""$POSTURE" key --device lap-8 >/dev/null && "$POSTURE" report --device lap-8 --nonce ' '"#,
    );
    assert_eq!(code, 2);
    assert!(err.contains("--nonce is empty"), "{err}");
}
