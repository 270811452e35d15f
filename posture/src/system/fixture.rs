//! A captured machine replayed from a directory (format in `posture/README.md`): `files/` mirrors
//! the filesystem, `links.json` holds symbolic links, `commands/<name>.json` command answers,
//! `registry.json` and `wmi.json` Windows answers, and `fixture.json` says what the machine is, where
//! the data came from, and the time it was captured.

use super::{Cmd, CmdOutput, RegValue, SysError, System, WmiObject};
use crate::facts::OsFamily;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureInfo {
    /// One line: what situation this machine represents.
    pub describes: String,
    /// Where the data came from (a capture, or constructed by hand from named documentation).
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
    /// The captured machine's operating system (older Linux captures leave it out).
    #[serde(default = "linux")]
    pub family: OsFamily,
}

fn linux() -> OsFamily {
    OsFamily::Linux
}

/// An answer as recorded: the failure it met (`timed_out`, `denied`, `not_found` or a message), or
/// what came back.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Recorded<T> {
    Failed { error: String },
    Answered(T),
}

impl<T> Recorded<T> {
    fn into_result(self, what: &str) -> Result<T, SysError> {
        match self {
            Recorded::Answered(v) => Ok(v),
            Recorded::Failed { error } => Err(match error.as_str() {
                "timed_out" => SysError::TimedOut(what.to_string(), super::COMMAND_TIMEOUT_SECS),
                "denied" => SysError::Denied(what.to_string()),
                "not_found" => SysError::NotFound(what.to_string()),
                other => SysError::Other(other.to_string()),
            }),
        }
    }
}

/// The error a recorded failure stands for, as written by a capture.
pub(super) fn recorded_error(e: &SysError) -> serde_json::Value {
    let error = match e {
        SysError::TimedOut(..) => "timed_out".to_string(),
        SysError::Denied(_) => "denied".to_string(),
        SysError::NotFound(_) => "not_found".to_string(),
        SysError::Other(m) => m.clone(),
    };
    serde_json::json!({ "error": error })
}

#[derive(Debug)]
pub struct FixtureSystem {
    root: PathBuf,
    links: BTreeMap<String, String>,
    registry: BTreeMap<String, serde_json::Value>,
    wmi: BTreeMap<String, serde_json::Value>,
    pub info: FixtureInfo,
}

impl FixtureSystem {
    pub fn open(root: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            std::fs::read_to_string(root.join(name))
                .map_err(|e| format!("{}: {e}", root.join(name).display()))
        };
        let info: FixtureInfo = serde_json::from_str(&read("fixture.json")?)
            .map_err(|e| format!("{}/fixture.json: {e}", root.display()))?;
        // Optional maps: a fixture without one has no links, no registry or no WMI.
        fn optional<T: DeserializeOwned + Default>(root: &Path, name: &str) -> Result<T, String> {
            match std::fs::read_to_string(root.join(name)) {
                Ok(text) => {
                    serde_json::from_str(&text).map_err(|e| format!("{}/{name}: {e}", root.display()))
                }
                Err(_) => Ok(T::default()),
            }
        }
        Ok(FixtureSystem {
            root: root.to_path_buf(),
            links: optional(root, "links.json")?,
            registry: optional(root, "registry.json")?,
            wmi: optional(root, "wmi.json")?,
            info,
        })
    }

    /// A recorded Windows answer; an entry that is missing does not exist on the captured machine.
    fn windows_answer<T: DeserializeOwned>(
        map: &BTreeMap<String, serde_json::Value>,
        entry: &str,
    ) -> Result<T, SysError> {
        let v = map
            .get(entry)
            .ok_or_else(|| SysError::NotFound(entry.to_string()))?;
        serde_json::from_value::<Recorded<T>>(v.clone())
            .map_err(|e| SysError::Other(format!("fixture entry {entry}: {e}")))?
            .into_result(entry)
    }

    fn file(&self, path: &str) -> PathBuf {
        self.root.join("files").join(path.trim_start_matches('/'))
    }
}

/// Longest file name (without `.json`) before the arguments are replaced by their digest.
const MAX_COMMAND_FILE: usize = 120;

/// The file name a command's answer is stored under: its path and arguments joined with `_`, with
/// path separators and characters no file system takes as `_`; a long script's arguments become a
/// digest so the name stays within file-name limits.
pub fn command_file(cmd: Cmd, args: &[&str]) -> String {
    let mut name = cmd.path().trim_start_matches('/').replace(['/', '\\', ':'], "_");
    for a in args {
        name.push('_');
        name.push_str(&a.replace(['/', '\\', ':', ' ', '\'', '"', '|', '*', '?', '<', '>'], "_"));
    }
    if name.len() > MAX_COMMAND_FILE {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(args.join("\0").as_bytes()));
        name = format!(
            "{}_args-{}",
            cmd.path().trim_start_matches('/').replace(['/', '\\', ':'], "_"),
            &digest[..16]
        );
    }
    format!("{name}.json")
}

impl System for FixtureSystem {
    fn read_file(&self, path: &str) -> Result<String, SysError> {
        if let Some(target) = self.links.get(path) {
            return Err(SysError::Other(format!("{path} is a link to {target}")));
        }
        match std::fs::read(self.file(path)) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
                Err(SysError::Other(format!("{path} is a directory")))
            }
            Err(_) => Err(SysError::NotFound(path.to_string())),
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError> {
        let dir = self.file(path);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let prefix = format!("{}/", path.trim_end_matches('/'));
        names.extend(
            self.links
                .keys()
                .filter_map(|l| l.strip_prefix(&prefix))
                .filter(|rest| !rest.contains('/'))
                .map(String::from),
        );
        if names.is_empty() && !dir.is_dir() {
            return Err(SysError::NotFound(path.to_string()));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn read_link(&self, path: &str) -> Result<String, SysError> {
        self.links
            .get(path)
            .cloned()
            .ok_or_else(|| SysError::NotFound(path.to_string()))
    }

    fn run(&self, cmd: Cmd, args: &[&str]) -> Result<CmdOutput, SysError> {
        let file = self.root.join("commands").join(command_file(cmd, args));
        let text = std::fs::read_to_string(&file).map_err(|_| SysError::NotFound(cmd.path().to_string()))?;
        serde_json::from_str::<Recorded<CmdOutput>>(&text)
            .map_err(|e| SysError::Other(format!("{}: {e}", file.display())))?
            .into_result(cmd.path())
    }

    fn family(&self) -> OsFamily {
        self.info.family
    }

    fn registry(&self, key: &str, value: &str) -> Result<RegValue, SysError> {
        Self::windows_answer(&self.registry, &super::registry_entry(key, value))
    }

    fn wmi_query(&self, namespace: &str, query: &str) -> Result<Vec<WmiObject>, SysError> {
        Self::windows_answer(&self.wmi, &super::wmi_query_entry(namespace, query))
    }

    fn wmi_method(&self, namespace: &str, object_path: &str, method: &str) -> Result<WmiObject, SysError> {
        Self::windows_answer(
            &self.wmi,
            &super::wmi_method_entry(namespace, object_path, method),
        )
    }

    fn now(&self) -> OffsetDateTime {
        self.info.captured_at
    }
}
