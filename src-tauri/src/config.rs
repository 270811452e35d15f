//! Where the app finds the tunnel service and which broker it must be talking to. IT's managed
//! configuration wins over everything (Linux `/etc/daypass/config.toml`, macOS managed preferences
//! `com.daypass.desktop`, Windows policy `HKLM\SOFTWARE\Policies\Daypass`): with one present, a
//! broker named anywhere else is refused, and the app works only with a tunnel service that
//! talks to the managed broker and pins the managed key. Without one, the person's own file
//! (`~/.config/daypass/config.toml`) may name the service's socket; the broker is whatever the
//! root-owned service was set up with.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The settings a file (or a policy) may give.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The broker's base URL.
    pub broker_url: Option<String>,
    /// The broker's grant-signing public key (base64), as pinned by the tunnel service.
    pub broker_key: Option<String>,
    /// The tunnel service's socket.
    pub socket: Option<PathBuf>,
}

/// The configuration in force, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub socket: PathBuf,
    /// The broker URL and key the service must use, when a configuration names them.
    pub expected: Option<Expected>,
    /// Whether that came from IT's policy.
    pub managed: bool,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub broker_url: String,
    pub broker_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: {why}")]
    Unreadable { origin: String, why: String },
    #[error(
        "{origin} names a broker but not its key (broker_url and broker_key go together): ask IT to fix it"
    )]
    Incomplete { origin: String },
    #[error("your own configuration ({origin}) names broker {named}, but IT manages this app: remove broker_url and broker_key from it")]
    Overridden { origin: String, named: String },
}

/// The service's address when no configuration names one (a socket path; on Windows its pipe).
pub const DEFAULT_SOCKET: &str = daypass_client::ipc::address::DEFAULT_ADDRESS;

impl Config {
    /// The configuration from IT's policy, if any, over the person's own file, if any.
    /// `DAYPASS_SOCKET` names the service's socket unless IT's policy does (as for the CLI).
    pub fn load() -> Result<Config, ConfigError> {
        let managed = managed_settings()?;
        let mut own = match own_file() {
            Some(path) if path.exists() => Some((path.display().to_string(), read_toml(&path)?)),
            _ => None,
        };
        if let Some(socket) = std::env::var_os("DAYPASS_SOCKET") {
            let (_, settings) = own.get_or_insert_with(|| ("DAYPASS_SOCKET".into(), Settings::default()));
            settings.socket = Some(socket.into());
        }
        Config::resolve(managed, own)
    }

    /// The managed settings (with where they came from) over the person's own: pure, for tests.
    pub fn resolve(
        managed: Option<(String, Settings)>,
        own: Option<(String, Settings)>,
    ) -> Result<Config, ConfigError> {
        let own_socket = own.as_ref().and_then(|(_, s)| s.socket.clone());
        let Some((source, it)) = managed else {
            // Without IT's policy, a broker named in the person's own file is what they expect the
            // service to use: held against it the same way, but the service still decides.
            let (source, own) = own.unwrap_or_else(|| ("built-in defaults".into(), Settings::default()));
            return Ok(Config {
                expected: expected(&source, own.broker_url, own.broker_key)?,
                socket: own.socket.unwrap_or_else(|| DEFAULT_SOCKET.into()),
                managed: false,
                source,
            });
        };
        if let Some((own_source, own)) = &own {
            let names_other = own
                .broker_url
                .as_ref()
                .is_some_and(|u| Some(u) != it.broker_url.as_ref())
                || own
                    .broker_key
                    .as_ref()
                    .is_some_and(|k| Some(k) != it.broker_key.as_ref());
            if names_other {
                return Err(ConfigError::Overridden {
                    origin: own_source.clone(),
                    named: own.broker_url.clone().unwrap_or_else(|| "(another key)".into()),
                });
            }
        }
        Ok(Config {
            expected: expected(&source, it.broker_url, it.broker_key)?,
            socket: it.socket.or(own_socket).unwrap_or_else(|| DEFAULT_SOCKET.into()),
            managed: true,
            source,
        })
    }
}

fn expected(source: &str, url: Option<String>, key: Option<String>) -> Result<Option<Expected>, ConfigError> {
    match (url, key) {
        (Some(broker_url), Some(broker_key)) => Ok(Some(Expected {
            broker_url,
            broker_key,
        })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Incomplete {
            origin: source.to_string(),
        }),
    }
}

fn read_toml(path: &Path) -> Result<Settings, ConfigError> {
    let unreadable = |why: String| ConfigError::Unreadable {
        origin: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    toml::from_str(&text).map_err(|e| unreadable(format!("not a Daypass configuration: {e}")))
}

fn own_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("daypass/config.toml"))
}

/// Where IT's file is on Linux. Debug builds (tests, the demo) may name another with
/// `DAYPASS_MANAGED_CONFIG`; release builds read only the system's.
#[cfg(all(unix, not(target_os = "macos")))]
fn managed_settings() -> Result<Option<(String, Settings)>, ConfigError> {
    let path = match std::env::var_os("DAYPASS_MANAGED_CONFIG") {
        Some(p) if cfg!(debug_assertions) => PathBuf::from(p),
        _ => PathBuf::from("/etc/daypass/config.toml"),
    };
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some((path.display().to_string(), read_toml(&path)?)))
}

/// macOS: a configuration profile's payload for `com.daypass.desktop`, as managed preferences.
#[cfg(target_os = "macos")]
fn managed_settings() -> Result<Option<(String, Settings)>, ConfigError> {
    let path = Path::new(MANAGED_PREFERENCES);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Unreadable {
                origin: MANAGED_PREFERENCES.into(),
                why: e.to_string(),
            })
        }
    };
    Ok(Some((
        MANAGED_PREFERENCES.into(),
        from_managed_preferences(&bytes)?,
    )))
}

/// Where macOS puts the managed preferences a configuration profile installs for the app.
pub const MANAGED_PREFERENCES: &str = "/Library/Managed Preferences/com.daypass.desktop.plist";

/// The managed preferences' keys (`BrokerUrl`, `BrokerKey`, `Socket`, as the `.mobileconfig`
/// payload names them), from the property list macOS writes (XML or binary). Keys macOS adds
/// itself (`PayloadUUID`, …) are ignored; a known key of the wrong type is refused.
pub fn from_managed_preferences(bytes: &[u8]) -> Result<Settings, ConfigError> {
    let unreadable = |why: String| ConfigError::Unreadable {
        origin: MANAGED_PREFERENCES.into(),
        why,
    };
    let value: plist::Value = plist::from_bytes(bytes).map_err(|e| unreadable(e.to_string()))?;
    let dict = value
        .as_dictionary()
        .ok_or_else(|| unreadable("not a dictionary of preferences".into()))?;
    from_policy_values(|name| match dict.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| unreadable(format!("{name} is not a string"))),
    })
}

/// Windows: group policy values `BrokerUrl`, `BrokerKey` and `Socket` under `POLICY_KEY` in
/// `HKEY_LOCAL_MACHINE` (what the ADMX template sets).
#[cfg(windows)]
fn managed_settings() -> Result<Option<(String, Settings)>, ConfigError> {
    use winreg::enums::HKEY_LOCAL_MACHINE;
    let source = format!(r"HKLM\{POLICY_KEY}");
    let Ok(key) = winreg::RegKey::predef(HKEY_LOCAL_MACHINE).open_subkey(POLICY_KEY) else {
        return Ok(None);
    };
    let settings = from_policy_values(|name| match key.get_value::<String, _>(name) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::Unreadable {
            origin: format!(r"{source}\{name}"),
            why: format!("{e} (it must be a string, REG_SZ)"),
        }),
    })?;
    Ok(Some((source, settings)))
}

/// The policy key, under `HKEY_LOCAL_MACHINE`.
pub const POLICY_KEY: &str = r"SOFTWARE\Policies\Daypass";

/// The managed settings from named string values (a registry key's, a preferences dictionary's);
/// an empty value counts as not set.
pub fn from_policy_values(
    value: impl Fn(&str) -> Result<Option<String>, ConfigError>,
) -> Result<Settings, ConfigError> {
    let text = |name: &str| -> Result<Option<String>, ConfigError> {
        Ok(value(name)?
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    };
    Ok(Settings {
        broker_url: text("BrokerUrl")?,
        broker_key: text("BrokerKey")?,
        socket: text("Socket")?.map(PathBuf::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: Option<&str>, key: Option<&str>) -> Settings {
        Settings {
            broker_url: url.map(String::from),
            broker_key: key.map(String::from),
            socket: None,
        }
    }

    #[test]
    fn it_wins_and_no_other_broker_is_accepted_beside_it() {
        let it = Some((
            "/etc/daypass/config.toml".to_string(),
            settings(Some("https://b.corp"), Some("K")),
        ));
        let config = Config::resolve(it.clone(), None).unwrap();
        assert_eq!(
            (config.managed, config.expected),
            (
                true,
                Some(Expected {
                    broker_url: "https://b.corp".into(),
                    broker_key: "K".into()
                })
            )
        );
        assert_eq!(config.socket, PathBuf::from(DEFAULT_SOCKET));
        let other = Some((
            "~/.config/daypass/config.toml".to_string(),
            settings(Some("https://evil"), None),
        ));
        assert!(matches!(
            Config::resolve(it.clone(), other),
            Err(ConfigError::Overridden { named, .. }) if named == "https://evil"
        ));
        let same = Some(("own".to_string(), settings(Some("https://b.corp"), Some("K"))));
        assert!(Config::resolve(it, same).is_ok());
        let half = Some(("it".to_string(), settings(Some("https://b.corp"), None)));
        assert!(matches!(
            Config::resolve(half, None),
            Err(ConfigError::Incomplete { .. })
        ));
    }

    #[test]
    fn without_it_the_persons_own_file_names_the_socket_and_what_they_expect() {
        let own = Settings {
            socket: Some("/tmp/t.sock".into()),
            ..settings(Some("https://mine"), Some("M"))
        };
        let config = Config::resolve(None, Some(("own".into(), own))).unwrap();
        assert_eq!(
            (config.socket, config.managed),
            (PathBuf::from("/tmp/t.sock"), false)
        );
        assert_eq!(config.expected.map(|e| e.broker_url), Some("https://mine".into()));
        let defaults = Config::resolve(None, None).unwrap();
        assert_eq!(
            (defaults.expected, defaults.source.as_str()),
            (None, "built-in defaults")
        );
    }

    #[test]
    fn managed_preferences_are_read_from_the_plist_macos_writes() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>BrokerUrl</key><string>https://broker.corp:8443</string>
  <key>BrokerKey</key><string>K3y</string>
  <key>PayloadUUID</key><string>ignored</string>
</dict></plist>"#;
        let read = from_managed_preferences(xml).unwrap();
        assert_eq!(read, settings(Some("https://broker.corp:8443"), Some("K3y")));
        let wrong_type =
            br#"<plist version="1.0"><dict><key>BrokerUrl</key><integer>3</integer></dict></plist>"#;
        let e = from_managed_preferences(wrong_type).unwrap_err().to_string();
        assert!(e.contains("BrokerUrl is not a string"), "{e}");
        assert!(from_managed_preferences(b"not a plist").is_err());
    }

    #[test]
    fn policy_values_map_to_settings_and_blank_ones_are_unset() {
        let values = |name: &str| -> Result<Option<String>, ConfigError> {
            Ok(match name {
                "BrokerUrl" => Some(" https://broker.corp ".into()),
                "BrokerKey" => Some("K".into()),
                "Socket" => Some("".into()),
                _ => None,
            })
        };
        let read = from_policy_values(values).unwrap();
        assert_eq!(read, settings(Some("https://broker.corp"), Some("K")));
        let broken = |_: &str| -> Result<Option<String>, ConfigError> {
            Err(ConfigError::Unreadable {
                origin: "HKLM".into(),
                why: "REG_DWORD".into(),
            })
        };
        assert!(from_policy_values(broken).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_configuration_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "broker = 3").unwrap();
        let e = read_toml(&path).unwrap_err().to_string();
        assert!(
            e.contains("config.toml") && e.contains("not a Daypass configuration"),
            "{e}"
        );
    }
}
