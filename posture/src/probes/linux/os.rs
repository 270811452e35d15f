//! Which Linux: `/etc/os-release` `ID` and `VERSION_ID`, and the kernel release.

use crate::facts::{Observed, OsFacts, OsFamily};
use crate::system::System;

/// Parses os-release `KEY=value` lines (values optionally quoted).
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').trim_matches('\'').to_string(),
            )
        })
        .collect()
}

pub fn probe(sys: &dyn System) -> Observed<OsFacts> {
    let (path, text) = match sys.read_file("/etc/os-release") {
        Ok(t) => ("/etc/os-release", t),
        Err(_) => match sys.read_file("/usr/lib/os-release") {
            Ok(t) => ("/usr/lib/os-release", t),
            Err(e) => return Observed::unknown(format!("cannot read os-release: {e}")),
        },
    };
    let fields = parse_os_release(&text);
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let Some(id) = get("ID") else {
        return Observed::unknown(format!("{path} has no ID line"));
    };
    let version = get("VERSION_ID").unwrap_or_else(|| "rolling".into());
    let kernel = sys
        .read_file("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    let evidence = [format!("{path}: ID={id} VERSION_ID={version}")]
        .into_iter()
        .chain(get("PRETTY_NAME").map(|p| format!("{path}: PRETTY_NAME={p}")))
        .chain(kernel.as_ref().map(|k| format!("kernel {k}")));
    Observed::seen(
        OsFacts {
            family: OsFamily::Linux,
            name: id,
            version,
            version_extra: None,
            detail: kernel,
        },
        evidence.collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_unquoted_values_parse() {
        let f = parse_os_release(
            "ID=ubuntu\nVERSION_ID=\"24.04\"\n# comment\nPRETTY_NAME='Ubuntu 24.04.1 LTS'\n",
        );
        assert!(f.contains(&("ID".into(), "ubuntu".into())));
        assert!(f.contains(&("VERSION_ID".into(), "24.04".into())));
        assert!(f.contains(&("PRETTY_NAME".into(), "Ubuntu 24.04.1 LTS".into())));
    }
}
