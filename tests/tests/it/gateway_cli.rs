//! The gateway agent refuses bad configuration with a clear message and exit code 2, before it
//! touches any interface or firewall.

use daypass_e2e::bins::bin;
use std::process::Command;

const VALID_KEY: &str = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";

/// Runs the agent with a valid base configuration changed by `broker_key`, `key_file`, `tunnel`.
fn gateway(broker_key: &str, key_file: &str, tunnel: &str) -> (i32, String) {
    let out = Command::new(bin("daypass-gateway"))
        .args([
            "--broker",
            "https://127.0.0.1:9",
            "--name",
            "gw",
            "--interface",
            "dpnever0",
        ])
        .args([
            "--broker-key",
            broker_key,
            "--private-key-file",
            key_file,
            "--tunnel-address",
            tunnel,
        ])
        .env("DAYPASS_GATEWAY_TOKEN", "t")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_keys_are_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("gw.key");
    std::fs::write(&key_file, "not used").unwrap();
    let key = key_file.to_str().unwrap();

    let (code, err) = gateway("short", key, "100.96.0.1/16");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--broker-key is not the base64 of a 32-byte Ed25519 public key"),
        "{err}"
    );

    let missing = dir.path().join("missing.key");
    let (code, err) = gateway(VALID_KEY, missing.to_str().unwrap(), "100.96.0.1/16");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reading the WireGuard private key"), "{err}");
    assert!(
        !std::path::Path::new("/var/run/wireguard/dpnever0.sock").exists(),
        "no interface was made"
    );

    let (code, err) = gateway(VALID_KEY, key, "banana");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid value 'banana' for '--tunnel-address"),
        "{err}"
    );
}
