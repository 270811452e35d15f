//! Answers of slow commands kept between checks: a package manager takes seconds to work out the
//! pending updates, and its answer changes only when its database or package lists do. An answer is
//! reused while the size, modification time and inode of every input it depends on (`cache_inputs`)
//! are unchanged; it is kept in memory and, where a cache file is given, across runs.

use super::{cache_inputs, Cmd, CmdOutput, RegValue, SysError, System, WmiObject};
use crate::facts::OsFamily;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    fingerprint: String,
    output: CmdOutput,
}

pub struct CachingSystem<S> {
    inner: S,
    kept: Mutex<BTreeMap<String, Kept>>,
    file: Option<PathBuf>,
    /// Where the inputs' paths start: `/` on a real machine.
    root: PathBuf,
}

/// What the inputs look like now: each path (and each entry of a directory) with its size,
/// modification time and inode; a missing path counts as missing, so it appearing changes it too.
fn fingerprint(root: &Path, inputs: &[&str]) -> String {
    let mut out = String::new();
    let mut describe = |path: &Path| {
        let line = match std::fs::metadata(path) {
            Ok(m) => {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{} {} {mtime} {}\n", path.display(), m.len(), inode(&m))
            }
            Err(_) => format!("{} missing\n", path.display()),
        };
        out.push_str(&line);
    };
    for input in inputs {
        let path = root.join(input.trim_start_matches('/'));
        let path = path.as_path();
        describe(path);
        if let Ok(entries) = std::fs::read_dir(path) {
            let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            names.iter().for_each(|p| describe(p));
        }
    }
    out
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

fn key(cmd: Cmd, args: &[&str]) -> String {
    format!("{} {}", cmd.path(), args.join(" "))
}

impl<S: System> CachingSystem<S> {
    /// Keeps answers in memory only.
    pub fn new(inner: S) -> Self {
        CachingSystem {
            inner,
            kept: Mutex::default(),
            file: None,
            root: PathBuf::from("/"),
        }
    }

    /// Keeps answers in `file` too; an unreadable or damaged file is started afresh.
    pub fn with_file(inner: S, file: PathBuf) -> Self {
        let kept = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        CachingSystem {
            inner,
            kept: Mutex::new(kept),
            file: Some(file),
            root: PathBuf::from("/"),
        }
    }

    /// Writes the kept answers; failing to is not an error for the check, only slower next time.
    fn persist(&self, kept: &BTreeMap<String, Kept>) {
        let Some(file) = &self.file else { return };
        let Ok(text) = serde_json::to_string(kept) else {
            return;
        };
        let tmp = file.with_extension("tmp");
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&tmp, text))
            .and_then(|_| std::fs::rename(&tmp, file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

impl<S: System> System for CachingSystem<S> {
    fn family(&self) -> OsFamily {
        self.inner.family()
    }

    fn read_file(&self, path: &str) -> Result<String, SysError> {
        self.inner.read_file(path)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError> {
        self.inner.read_dir(path)
    }

    fn read_link(&self, path: &str) -> Result<String, SysError> {
        self.inner.read_link(path)
    }

    fn run(&self, cmd: Cmd, args: &[&str]) -> Result<CmdOutput, SysError> {
        let Some(inputs) = cache_inputs(cmd, args) else {
            return self.inner.run(cmd, args);
        };
        let key = key(cmd, args);
        let now = fingerprint(&self.root, inputs);
        if let Some(k) = self.kept.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if k.fingerprint == now {
                return Ok(k.output.clone());
            }
        }
        let output = self.inner.run(cmd, args)?;
        // A failed run is not kept: the next check tries again.
        if output.status == 0 {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            kept.insert(
                key,
                Kept {
                    fingerprint: now,
                    output: output.clone(),
                },
            );
            self.persist(&kept);
        }
        Ok(output)
    }

    fn exists(&self, path: &str) -> bool {
        self.inner.exists(path)
    }

    fn registry(&self, key: &str, value: &str) -> Result<RegValue, SysError> {
        self.inner.registry(key, value)
    }

    fn wmi_query(&self, namespace: &str, query: &str) -> Result<Vec<WmiObject>, SysError> {
        self.inner.wmi_query(namespace, query)
    }

    fn wmi_method(&self, namespace: &str, object_path: &str, method: &str) -> Result<WmiObject, SysError> {
        self.inner.wmi_method(namespace, object_path, method)
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Answers every command with how many commands it has run so far.
    #[derive(Default)]
    struct Counting(AtomicU32);

    impl System for Counting {
        fn family(&self) -> OsFamily {
            OsFamily::Linux
        }
        fn read_file(&self, path: &str) -> Result<String, SysError> {
            Err(SysError::NotFound(path.into()))
        }
        fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError> {
            Err(SysError::NotFound(path.into()))
        }
        fn read_link(&self, path: &str) -> Result<String, SysError> {
            Err(SysError::NotFound(path.into()))
        }
        fn run(&self, _: Cmd, _: &[&str]) -> Result<CmdOutput, SysError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(CmdOutput {
                status: 0,
                stdout: n.to_string(),
                stderr: String::new(),
            })
        }
        fn now(&self) -> OffsetDateTime {
            OffsetDateTime::UNIX_EPOCH
        }
    }

    const SIMULATE: [&str; 4] = ["-s", "-o", "Debug::NoLocking=1", "upgrade"];

    fn machine() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
        std::fs::create_dir_all(root.path().join("var/lib/apt/lists")).unwrap();
        std::fs::write(root.path().join("var/lib/dpkg/status"), "Package: a\n").unwrap();
        root
    }

    fn caching(root: &Path, file: Option<PathBuf>) -> CachingSystem<Counting> {
        let mut c = match file {
            Some(f) => CachingSystem::with_file(Counting::default(), f),
            None => CachingSystem::new(Counting::default()),
        };
        c.root = root.to_path_buf();
        c
    }

    #[test]
    fn a_package_answer_is_reused_until_its_inputs_change() {
        let root = machine();
        let sys = caching(root.path(), None);
        let first = sys.run(Cmd::AptGet, &SIMULATE).unwrap();
        assert_eq!(sys.run(Cmd::AptGet, &SIMULATE).unwrap(), first);
        assert_eq!(sys.inner.0.load(Ordering::SeqCst), 1);

        std::fs::write(root.path().join("var/lib/apt/lists/new_InRelease"), "x").unwrap();
        assert_eq!(
            sys.run(Cmd::AptGet, &SIMULATE).unwrap().stdout,
            "2",
            "new package lists"
        );
        std::fs::write(
            root.path().join("var/lib/dpkg/status"),
            "Package: a\nPackage: b\n",
        )
        .unwrap();
        assert_eq!(
            sys.run(Cmd::AptGet, &SIMULATE).unwrap().stdout,
            "3",
            "a package installed"
        );
    }

    #[test]
    fn answers_that_depend_on_the_running_system_are_never_kept() {
        let root = machine();
        let sys = caching(root.path(), None);
        sys.run(Cmd::Nft, &["-j", "list", "ruleset"]).unwrap();
        sys.run(Cmd::Nft, &["-j", "list", "ruleset"]).unwrap();
        sys.run(Cmd::Dnf, &["-C", "-q", "needs-restarting", "-r"])
            .unwrap();
        sys.run(Cmd::Dnf, &["-C", "-q", "needs-restarting", "-r"])
            .unwrap();
        assert_eq!(sys.inner.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn kept_answers_survive_a_restart_through_the_cache_file() {
        let root = machine();
        let file = root.path().join("cache/posture-commands.json");
        let first = caching(root.path(), Some(file.clone()))
            .run(Cmd::AptGet, &SIMULATE)
            .unwrap();
        let again = caching(root.path(), Some(file.clone()));
        assert_eq!(again.run(Cmd::AptGet, &SIMULATE).unwrap(), first);
        assert_eq!(again.inner.0.load(Ordering::SeqCst), 0, "answered from the file");

        std::fs::write(&file, "not json").unwrap();
        let damaged = caching(root.path(), Some(file));
        damaged.run(Cmd::AptGet, &SIMULATE).unwrap();
        assert_eq!(
            damaged.inner.0.load(Ordering::SeqCst),
            1,
            "a damaged file is started afresh"
        );
    }
}
