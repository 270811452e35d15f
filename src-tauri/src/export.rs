//! "Export posture report": the latest check as a standalone HTML page (no script, every value
//! escaped) or as JSON, written whole into a folder the person chose, to attach to a helpdesk
//! ticket.

use crate::views::{ExportFormat as Format, Outcome, Posture, Problem};
use std::path::{Path, PathBuf};

/// Writes the report for `device` into `folder` and answers its path.
pub fn write(posture: &Posture, device: &str, format: Format, folder: &Path) -> Result<PathBuf, Problem> {
    let stamp: String = posture
        .checked_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect();
    let safe_device: String = device
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let (body, extension) = match format {
        Format::Html => (html(posture, device), "html"),
        Format::Json => (json(posture, device), "json"),
    };
    let path = folder.join(format!("daypass-posture-{safe_device}-{stamp}.{extension}"));
    let partial = path.with_extension(format!("{extension}.partial"));
    let failed = |e: std::io::Error| {
        let _ = std::fs::remove_file(&partial);
        Problem::new(
            "export",
            format!("could not write the report into {}: {e}", folder.display()),
        )
    };
    std::fs::write(&partial, body).map_err(failed)?;
    std::fs::rename(&partial, &path).map_err(failed)?;
    Ok(path)
}

/// The person's Downloads folder: `XDG_DOWNLOAD_DIR`, else `Downloads` in their home folder.
pub fn downloads() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DOWNLOAD_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join("Downloads"))
}

fn json(posture: &Posture, device: &str) -> String {
    let report = serde_json::json!({ "device": device, "posture": posture });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::Unknown => "unknown",
        Outcome::NotApplicable => "not applicable",
    }
}

fn html(posture: &Posture, device: &str) -> String {
    let mut rows = String::new();
    for c in &posture.checks {
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&c.check),
            outcome_word(c.outcome),
            if c.required { "" } else { " (not required)" },
            c.evidence
                .iter()
                .map(|e| escape(e))
                .collect::<Vec<_>>()
                .join("<br>"),
            escape(c.remediation.as_deref().unwrap_or("")),
            escape(&c.blocks.join(", ")),
        ));
    }
    let verdict = if posture.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    let sent = match &posture.not_sent {
        None => "The broker received this report and judged it.".to_string(),
        Some(why) => format!(
            "The broker did not receive it ({}); this is the device's own reading.",
            escape(why)
        ),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Daypass posture report: {device}</title>\n\
         <style>body{{font-family:sans-serif;margin:2rem}}table{{border-collapse:collapse}}th,td{{border:1px solid #999;padding:.4rem;text-align:left;vertical-align:top}}</style></head>\n\
         <body><h1>Posture report for {device}</h1>\n<p>Checked {at}: <strong>{verdict}</strong>. {sent}</p>\n\
         <table><thead><tr><th>Check</th><th>Result</th><th>Evidence</th><th>How to fix</th><th>Keeps closed</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n</body></html>\n",
        device = escape(device),
        at = escape(&posture.checked_at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::Check;

    fn posture() -> Posture {
        Posture {
            compliant: false,
            checks: vec![Check {
                check: "disk encryption".into(),
                outcome: Outcome::Fail,
                required: true,
                evidence: vec!["/ is not on an encrypted volume <sda1>".into()],
                remediation: Some("Turn on full-disk encryption".into()),
                blocks: vec!["prod".into()],
            }],
            not_sent: None,
            checked_at: "2026-11-24T18:00:00Z".into(),
        }
    }

    #[test]
    fn html_and_json_are_written_whole_with_values_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let page = write(&posture(), "ana<desk>", Format::Html, dir.path()).unwrap();
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            text.contains("&lt;sda1&gt;") && !text.contains("<sda1>"),
            "{text}"
        );
        assert!(text.contains("FAIL") && text.contains("prod") && !text.contains("<script"));
        assert_eq!(
            page.file_name().unwrap(),
            "daypass-posture-ana_desk_-20261124T180000.html"
        );
        let json = write(&posture(), "ana-desk", Format::Json, dir.path()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
        assert_eq!(value["posture"]["checks"][0]["outcome"], "fail");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no partial files left"
        );
    }

    #[test]
    fn a_folder_that_cannot_be_written_says_which() {
        let e = write(&posture(), "d", Format::Json, Path::new("/nonexistent/folder")).unwrap_err();
        assert!(e.message.contains("/nonexistent/folder"), "{e}");
    }
}
