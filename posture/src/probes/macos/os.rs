//! Which macOS: `sw_vers` (product version, build, and the Rapid Security Response suffix such as
//! `(a)`, which patches without changing the version).

use super::output;
use crate::facts::{Observed, OsFacts, OsFamily};
use crate::system::{Cmd, System};

/// `sw_vers` prints `Key:<tabs>value` lines.
pub fn parse_sw_vers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The major version (`15` of `15.1`), which picks where some settings live.
pub fn major(sys: &dyn System) -> Option<u64> {
    match probe(sys) {
        Observed::Seen { value, .. } => value.version.split('.').next()?.parse().ok(),
        Observed::Unknown { .. } => None,
    }
}

pub fn probe(sys: &dyn System) -> Observed<OsFacts> {
    let text = match output(sys, Cmd::SwVers, &[]) {
        Ok(t) => t,
        Err(e) => return Observed::unknown(format!("cannot read the macOS version: {e}")),
    };
    let fields = parse_sw_vers(&text);
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let Some(version) = get("ProductVersion").filter(|v| v.split('.').all(|p| p.parse::<u32>().is_ok()))
    else {
        return Observed::unknown(format!("sw_vers printed no ProductVersion: {:?}", text.trim()));
    };
    let extra = get("ProductVersionExtra").filter(|e| !e.is_empty());
    let build = get("BuildVersion");
    Observed::seen(
        OsFacts {
            family: OsFamily::Macos,
            name: "macos".into(),
            version: version.clone(),
            version_extra: extra.clone(),
            detail: build.clone(),
        },
        [format!(
            "sw_vers: {version}{}{}",
            extra
                .map(|e| format!(" {e} (Rapid Security Response)"))
                .unwrap_or_default(),
            build.map(|b| format!(", build {b}")).unwrap_or_default()
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sw_vers_lines_with_a_rapid_security_response() {
        let f = parse_sw_vers("ProductName:\t\tmacOS\nProductVersion:\t\t14.6.1\nProductVersionExtra:\t(a)\nBuildVersion:\t\t23G93\n");
        assert!(f.contains(&("ProductVersionExtra".into(), "(a)".into())));
        assert!(f.contains(&("ProductVersion".into(), "14.6.1".into())));
    }
}
