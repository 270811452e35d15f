//! A captured machine replayed from a directory (format in `posture/README.md`): `files/` mirrors
//! the filesystem, `links.json` holds symbolic links, `commands/<name>.json` command answers, and
//! `fixture.json` says what the machine is, where the data came from, and the time it was captured.

use super::{Cmd, CmdOutput, SysError, System};
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
}

/// A command's recorded answer, or the failure it met.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Recorded {
    Ran(CmdOutput),
    Failed { error: String },
}

#[derive(Debug)]
pub struct FixtureSystem {
    root: PathBuf,
    links: BTreeMap<String, String>,
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
        let links = match read("links.json") {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{}/links.json: {e}", root.display()))?
            }
            Err(_) => BTreeMap::new(),
        };
        Ok(FixtureSystem {
            root: root.to_path_buf(),
            links,
            info,
        })
    }

    fn file(&self, path: &str) -> PathBuf {
        self.root.join("files").join(path.trim_start_matches('/'))
    }
}

/// The file name a command's answer is stored under: its path with `/` as `_`.
pub fn command_file(cmd: Cmd, args: &[&str]) -> String {
    let mut name = cmd.path().trim_start_matches('/').replace('/', "_");
    for a in args {
        name.push('_');
        name.push_str(&a.replace(['/', ' '], "_"));
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
        match serde_json::from_str::<Recorded>(&text) {
            Ok(Recorded::Ran(out)) => Ok(out),
            Ok(Recorded::Failed { error }) => Err(match error.as_str() {
                "timed_out" => SysError::TimedOut(cmd.path().to_string(), super::COMMAND_TIMEOUT_SECS),
                "denied" => SysError::Denied(cmd.path().to_string()),
                "not_found" => SysError::NotFound(cmd.path().to_string()),
                other => SysError::Other(other.to_string()),
            }),
            Err(e) => Err(SysError::Other(format!("{}: {e}", file.display()))),
        }
    }

    fn now(&self) -> OffsetDateTime {
        self.info.captured_at
    }
}
