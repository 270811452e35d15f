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

/// The agent with a broker key that is refused, so it stops before touching anything, given its
/// token by `how`.
fn gateway_given_token(how: &[&str], env_token: Option<&str>) -> (i32, String) {
    let mut command = Command::new(bin("daypass-gateway"));
    command
        .args([
            "--broker",
            "https://127.0.0.1:9",
            "--name",
            "gw",
            "--interface",
            "dpnever0",
        ])
        .args(["--broker-key", "short", "--private-key-file", "/nonexistent"])
        .args(["--tunnel-address", "100.96.0.1/16"])
        .args(how)
        .env_remove("DAYPASS_GATEWAY_TOKEN");
    if let Some(t) = env_token {
        command.env("DAYPASS_GATEWAY_TOKEN", t);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_token_comes_from_a_file_or_the_environment_and_a_command_line_one_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "dpg_from_a_file\n").unwrap();
    let file = file.to_str().unwrap();
    let warning = "every local user can read it";

    let (code, err) = gateway_given_token(&["--token", "dpg_on_argv"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(warning), "{err}");
    assert!(!err.contains("dpg_on_argv"), "the token is never printed: {err}");

    let (code, err) = gateway_given_token(&["--token-file", file], None);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains(warning), "{err}");
    assert!(err.contains("--broker-key"), "it got past the token: {err}");

    let (_, err) = gateway_given_token(&[], Some("dpg_from_env"));
    assert!(!err.contains(warning) && err.contains("--broker-key"), "{err}");

    let (code, err) = gateway_given_token(&[], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--token"), "says which option is missing: {err}");

    let (code, err) = gateway_given_token(&["--token", "a", "--token-file", file], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
}
