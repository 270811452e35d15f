//! The macOS launchd daemon definition (`installers/macos/com.daypass.tunneld.plist`): a valid
//! property list whose daemon runs as root, is kept alive, names every program by absolute path,
//! and whose arguments this build of `daypass-tunneld` accepts (`--check`, with the installer's
//! placeholders filled in). It cannot be loaded here (no Mac).

use std::path::Path;

const PLIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../installers/macos/com.daypass.tunneld.plist"
);

#[test]
fn the_launchd_daemon_runs_tunneld_as_root_with_options_it_accepts() {
    let daemon: plist::Dictionary = plist::from_file(PLIST).unwrap();
    let text = |key: &str| {
        daemon
            .get(key)
            .and_then(|v| v.as_string())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(text("Label"), "com.daypass.tunneld");
    assert_eq!(text("UserName"), "root");
    assert_eq!(daemon.get("RunAtLoad").and_then(|v| v.as_boolean()), Some(true));
    assert_eq!(daemon.get("KeepAlive").and_then(|v| v.as_boolean()), Some(true));
    let args: Vec<String> = daemon["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap().to_string())
        .collect();
    assert!(Path::new(&args[0]).is_absolute(), "{}", args[0]);
    let after = |flag: &str| {
        let at = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag}"));
        args[at + 1].clone()
    };
    assert!(Path::new(&after("--wireguard-go")).is_absolute());
    assert_eq!(after("--socket"), "/var/run/daypass/tunneld.sock");
    assert_eq!(after("--group"), "daypass");
    // The arguments with the installer's placeholders filled in are ones this tunneld takes.
    let key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        ed25519_dalek::SigningKey::from_bytes(&[3u8; 32])
            .verifying_key()
            .as_bytes(),
    );
    let filled: Vec<String> = args[1..]
        .iter()
        .map(|a| match a.as_str() {
            "@BROKER_URL@" => "https://broker.example:8443".to_string(),
            "@BROKER_KEY@" => key.clone(),
            "@DEVICE@" => "mac-1".to_string(),
            other => other.to_string(),
        })
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_daypass-tunneld"))
        .args(&filled)
        .arg("--check")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unfilled = std::process::Command::new(env!("CARGO_BIN_EXE_daypass-tunneld"))
        .args(&args[1..])
        .arg("--check")
        .output()
        .unwrap();
    assert!(!unfilled.status.success(), "a placeholder key must not pass");
}
