//! Capture: the real machine, with every answer the probes get written out in the fixture format,
//! so that replaying the capture gives the same facts.

use super::fixture::{command_file, recorded_error};
use super::{Cmd, CmdOutput, RealSystem, RegValue, SysError, System, WmiObject};
use crate::facts::OsFamily;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

pub struct RecordingSystem {
    out: PathBuf,
    links: Mutex<BTreeMap<String, String>>,
    registry: Mutex<BTreeMap<String, serde_json::Value>>,
    wmi: Mutex<BTreeMap<String, serde_json::Value>>,
    /// Strings replaced by `redacted` in everything written (host name, user names).
    redactions: Vec<String>,
    failures: Mutex<Vec<String>>,
}

impl RecordingSystem {
    /// Records into `out`, which must not exist yet (a capture never mixes with older files).
    pub fn create(out: &Path, redactions: Vec<String>) -> Result<Self, String> {
        if out.exists() {
            return Err(format!(
                "{} already exists: capture into a new directory",
                out.display()
            ));
        }
        std::fs::create_dir_all(out.join("files")).map_err(|e| format!("creating {}: {e}", out.display()))?;
        let redactions = redactions.into_iter().filter(|r| r.len() >= 3).collect();
        Ok(RecordingSystem {
            out: out.to_path_buf(),
            links: Mutex::default(),
            registry: Mutex::default(),
            wmi: Mutex::default(),
            redactions,
            failures: Mutex::default(),
        })
    }

    fn redact(&self, text: &str) -> String {
        self.redactions
            .iter()
            .fold(text.to_string(), |t, r| t.replace(r.as_str(), "redacted"))
    }

    fn file(&self, path: &str) -> PathBuf {
        self.out
            .join("files")
            .join(self.redact(path).trim_start_matches('/'))
    }

    fn write(&self, target: PathBuf, text: &str) {
        let result = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&target, self.redact(text)));
        if let Err(e) = result {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("{}: {e}", target.display()));
        }
    }

    fn link(&self, path: &str, target: &str) {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(self.redact(path), self.redact(target));
    }

    /// Keeps a Windows answer (or the failure it met) for `registry.json` / `wmi.json`.
    fn answer<T: serde::Serialize>(
        &self,
        map: &Mutex<BTreeMap<String, serde_json::Value>>,
        entry: String,
        r: &Result<T, SysError>,
    ) {
        let body = match r {
            Ok(v) => serde_json::to_value(v).unwrap_or_default(),
            Err(e) => recorded_error(e),
        };
        let body = serde_json::from_str(&self.redact(&body.to_string())).unwrap_or(body);
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(self.redact(&entry), body);
    }

    /// Writes `links.json`, `registry.json`, `wmi.json` and `fixture.json`; returns the files that
    /// could not be written.
    pub fn finish(
        self,
        describes: &str,
        captured_at: OffsetDateTime,
        redacted: bool,
    ) -> Result<Vec<String>, String> {
        let take =
            |m: Mutex<BTreeMap<String, serde_json::Value>>| m.into_inner().unwrap_or_else(|p| p.into_inner());
        let links = self.links.into_inner().unwrap_or_else(|p| p.into_inner());
        let (registry, wmi) = (take(self.registry), take(self.wmi));
        let info = serde_json::json!({
            "describes": describes,
            "source": format!("captured with daypass-posture capture{}", if redacted { ", host and user names redacted" } else { "" }),
            "captured_at": captured_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "family": RealSystem.family(),
        });
        let write = |name: &str, v: &serde_json::Value| {
            std::fs::write(
                self.out.join(name),
                serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
            )
            .map_err(|e| format!("writing {name}: {e}"))
        };
        write("links.json", &serde_json::to_value(&links).unwrap_or_default())?;
        if !registry.is_empty() {
            write(
                "registry.json",
                &serde_json::to_value(&registry).unwrap_or_default(),
            )?;
        }
        if !wmi.is_empty() {
            write("wmi.json", &serde_json::to_value(&wmi).unwrap_or_default())?;
        }
        write("fixture.json", &info)?;
        Ok(self.failures.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

impl System for RecordingSystem {
    fn read_file(&self, path: &str) -> Result<String, SysError> {
        let r = RealSystem.read_file(path);
        if let Ok(text) = &r {
            self.write(self.file(path), text);
        }
        r
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError> {
        let r = RealSystem.read_dir(path);
        if let Ok(names) = &r {
            // Subdirectories and links are recorded now; plain files only when a probe reads them.
            let _ = std::fs::create_dir_all(self.file(path));
            for name in names {
                let full = format!("{}/{name}", path.trim_end_matches('/'));
                match std::fs::symlink_metadata(&full) {
                    Ok(m) if m.file_type().is_symlink() => {
                        if let Ok(target) = RealSystem.read_link(&full) {
                            self.link(&full, &target);
                        }
                    }
                    Ok(m) if m.is_dir() => {
                        let _ = std::fs::create_dir_all(self.file(&full));
                    }
                    _ => {}
                }
            }
        }
        r
    }

    fn read_link(&self, path: &str) -> Result<String, SysError> {
        let r = RealSystem.read_link(path);
        if let Ok(target) = &r {
            self.link(path, target);
        }
        r
    }

    fn run(&self, cmd: Cmd, args: &[&str]) -> Result<CmdOutput, SysError> {
        let r = RealSystem.run(cmd, args);
        let body = match &r {
            Ok(out) => serde_json::to_value(out).unwrap_or_default(),
            // A command that is not installed is recorded by leaving its file out.
            Err(SysError::NotFound(_)) => return r,
            Err(e) => recorded_error(e),
        };
        self.write(
            self.out.join("commands").join(command_file(cmd, args)),
            &serde_json::to_string_pretty(&body).unwrap_or_default(),
        );
        r
    }

    fn exists(&self, path: &str) -> bool {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                RealSystem.read_link(path).map(|t| self.link(path, &t)).is_ok()
            }
            Ok(m) if m.is_dir() => std::fs::create_dir_all(self.file(path)).is_ok(),
            // Existence is what matters here: an empty stand-in, filled if a probe reads the file.
            Ok(_) => {
                if !self.file(path).exists() {
                    self.write(self.file(path), "");
                }
                true
            }
            Err(_) => false,
        }
    }

    fn family(&self) -> OsFamily {
        RealSystem.family()
    }

    fn registry(&self, key: &str, value: &str) -> Result<RegValue, SysError> {
        let r = RealSystem.registry(key, value);
        self.answer(&self.registry, super::registry_entry(key, value), &r);
        r
    }

    fn wmi_query(&self, namespace: &str, query: &str) -> Result<Vec<WmiObject>, SysError> {
        let r = RealSystem.wmi_query(namespace, query);
        self.answer(&self.wmi, super::wmi_query_entry(namespace, query), &r);
        r
    }

    fn wmi_method(&self, namespace: &str, object_path: &str, method: &str) -> Result<WmiObject, SysError> {
        let r = RealSystem.wmi_method(namespace, object_path, method);
        self.answer(
            &self.wmi,
            super::wmi_method_entry(namespace, object_path, method),
            &r,
        );
        r
    }

    fn now(&self) -> OffsetDateTime {
        RealSystem.now()
    }
}
