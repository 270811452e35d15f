//! The service's state directory on Windows, made SYSTEM's and the Administrators' alone before
//! anything in it is trusted. `C:\ProgramData` lets every user create files in a new subfolder, so
//! a user could otherwise plant the posture probes' cache there and have SYSTEM sign the facts it
//! claims. At each start the directory and everything in it get SYSTEM as owner and a protected
//! DACL (SYSTEM and Administrators, full control), and the probes' cache is dropped. Done with
//! Windows' own `icacls` (no FFI); the argument lists are pure and tested on every OS.

use std::ffi::OsString;
use std::path::Path;

/// LocalSystem and the Administrators group, by SID (names are localised).
const SYSTEM: &str = "*S-1-5-18";
const ADMINISTRATORS: &str = "*S-1-5-32-544";

/// The `icacls` runs, in order, for `dir`; `has_entries` says whether it holds anything to reset.
pub fn icacls_runs(dir: &Path, has_entries: bool) -> Vec<Vec<OsString>> {
    let os = |s: &str| OsString::from(s);
    let mut runs = vec![
        vec![
            dir.as_os_str().to_owned(),
            os("/setowner"),
            os(SYSTEM),
            os("/T"),
            os("/Q"),
        ],
        vec![
            dir.as_os_str().to_owned(),
            os("/inheritance:r"),
            os("/grant:r"),
            os(&format!("{SYSTEM}:(OI)(CI)F")),
            os(&format!("{ADMINISTRATORS}:(OI)(CI)F")),
            os("/Q"),
        ],
    ];
    if has_entries {
        // Children lose any access of their own (a planting user's) and take the directory's.
        runs.push(vec![
            dir.join("*").into_os_string(),
            os("/reset"),
            os("/T"),
            os("/Q"),
        ]);
    }
    runs
}

/// Creates `dir` if needed, makes it SYSTEM's alone and drops `cache`; any failure stops the
/// service (it will not trust a directory it could not lock).
#[cfg(windows)]
pub fn lock(dir: &Path, cache: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let has_entries = std::fs::read_dir(dir)?.next().is_some();
    let system_root = std::env::var_os("SystemRoot").unwrap_or_else(|| r"C:\Windows".into());
    let icacls = Path::new(&system_root).join(r"System32\icacls.exe");
    for args in icacls_runs(dir, has_entries) {
        let out = std::process::Command::new(&icacls)
            .args(&args)
            .output()
            .with_context(|| format!("running {}", icacls.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "locking {} to SYSTEM and Administrators failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    match std::fs::remove_file(cache) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("dropping {}", cache.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(runs: Vec<Vec<OsString>>) -> Vec<String> {
        runs.iter()
            .map(|r| {
                r.iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn the_directory_becomes_systems_with_a_protected_dacl_and_children_are_reset() {
        let dir = Path::new("/state");
        assert_eq!(
            strings(icacls_runs(dir, true)),
            [
                "/state /setowner *S-1-5-18 /T /Q",
                "/state /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F /Q",
                "/state/* /reset /T /Q",
            ]
        );
        assert_eq!(
            icacls_runs(dir, false).len(),
            2,
            "nothing to reset in an empty directory"
        );
    }
}
