//! Which Windows: `10.0.BUILD.UBR` from the registry (the UBR is what cumulative updates raise), with
//! client and server told apart, since their support lifecycles differ.

use super::{reg, reg_number, CURRENT_VERSION};
use crate::facts::{Observed, OsFacts, OsFamily};
use crate::system::System;

pub fn probe(sys: &dyn System) -> Observed<OsFacts> {
    let numbers = [
        "CurrentMajorVersionNumber",
        "CurrentMinorVersionNumber",
        "CurrentBuildNumber",
        "UBR",
    ]
    .map(|v| reg_number(sys, CURRENT_VERSION, v));
    let [major, minor, build, ubr] = match numbers {
        [Ok(a), Ok(b), Ok(c), Ok(d)] => [a, b, c, d],
        other => {
            let reasons: Vec<String> = other.into_iter().filter_map(Result::err).collect();
            return Observed::unknown(format!("cannot read the Windows version: {}", reasons.join("; ")));
        }
    };
    let text = |value: &str| {
        reg(sys, CURRENT_VERSION, value)
            .ok()
            .and_then(|v| v.text().map(str::to_string))
    };
    let server = text("InstallationType").is_some_and(|t| t.eq_ignore_ascii_case("server"));
    let edition = text("EditionID");
    let display = text("DisplayVersion");
    let version = format!("{major}.{minor}.{build}.{ubr}");
    let detail = [edition.clone(), display.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Observed::seen(
        OsFacts {
            family: OsFamily::Windows,
            name: if server { "windows-server" } else { "windows" }.into(),
            version: version.clone(),
            version_extra: None,
            detail: (!detail.is_empty()).then_some(detail),
        },
        [format!(
            "{CURRENT_VERSION}: build {build}, UBR {ubr}{}{}",
            edition.map(|e| format!(", edition {e}")).unwrap_or_default(),
            display.map(|d| format!(", {d}")).unwrap_or_default()
        )],
    )
}
