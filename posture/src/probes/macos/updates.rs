//! Recommended software updates waiting on macOS (`softwareupdate --list --no-scan`, from the last
//! scan, so it does not go online); macOS does not mark which are security updates, so every
//! recommended one counts.

use super::output;
use crate::facts::{Observed, UpdateFacts};
use crate::system::{Cmd, System};

/// The titles of the recommended updates listed, or an error when the output is neither a list nor
/// "No new software available".
pub fn parse_softwareupdate(text: &str) -> Result<Vec<String>, String> {
    if text.contains("No new software available") {
        return Ok(vec![]);
    }
    if !text.contains("Software Update found the following") {
        return Err(format!("softwareupdate printed {:?}", text.trim()));
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Title:") && l.contains("Recommended: YES"))
        .map(|l| {
            l.trim_start_matches("Title:")
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect())
}

pub fn probe(sys: &dyn System) -> Observed<UpdateFacts> {
    match output(sys, Cmd::Softwareupdate, &["--list", "--no-scan"]).and_then(|t| parse_softwareupdate(&t)) {
        Ok(titles) => {
            let mut evidence = vec![format!(
                "softwareupdate: {} recommended update(s) waiting",
                titles.len()
            )];
            evidence.extend(titles.iter().map(|t| format!("waiting: {t}")));
            Observed::seen(
                UpdateFacts {
                    pending_security_updates: Some(u32::try_from(titles.len()).unwrap_or(u32::MAX)),
                    reboot_required: None,
                },
                evidence,
            )
        }
        Err(e) => Observed::unknown(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softwareupdate_lists_recommended_titles() {
        let text = "Software Update Tool\n\nFinding available software\nSoftware Update found the following new or updated software:\n* Label: macOS Sonoma 14.7.1-23H222\n\tTitle: macOS Sonoma 14.7.1, Version: 14.7.1, Size: 1234567KiB, Recommended: YES, Action: restart, \n* Label: Safari18.1\n\tTitle: Safari, Version: 18.1, Size: 1KiB, Recommended: NO, \n";
        assert_eq!(
            parse_softwareupdate(text),
            Ok(vec!["macOS Sonoma 14.7.1".to_string()])
        );
        assert_eq!(parse_softwareupdate("No new software available.\n"), Ok(vec![]));
        assert!(parse_softwareupdate("").is_err());
    }
}
