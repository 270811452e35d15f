//! The EDR verification ladder shared by the Linux and macOS probes (installed, process running,
//! system extension active, the vendor's health command healthy), and the vendors' health parsers.

use crate::facts::{EdrProduct, EdrRung, Observed};
use crate::system::{Cmd, System};

/// A vendor health command and how to read its answer (`Some(true)` healthy).
pub struct Health {
    pub cmd: Cmd,
    pub args: &'static [&'static str],
    pub read: fn(&str) -> Option<bool>,
}

pub struct Product {
    pub name: &'static str,
    pub installed: &'static [&'static str],
    /// Process names (Linux: `/proc/PID/comm`, at most 15 characters; macOS: the executable's file name).
    pub processes: &'static [&'static str],
    /// A kernel or system extension whose active state is the "component active" rung (macOS).
    pub system_extension: Option<&'static str>,
    pub health: Option<Health>,
}

pub fn falcon_rfm(out: &str) -> Option<bool> {
    // "rfm-state=false." means the sensor runs in full mode; true is reduced functionality.
    let v = out
        .trim()
        .strip_prefix("rfm-state=")?
        .trim_end_matches('.')
        .trim_end_matches(',');
    match v {
        "false" => Some(true),
        "true" => Some(false),
        _ => None,
    }
}

pub fn mdatp_health(out: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(out).ok()?;
    Some(v.get("healthy")?.as_bool()? && v.get("licensed")?.as_bool()?)
}

pub fn wazuh_status(out: &str) -> Option<bool> {
    Some(
        out.lines()
            .any(|l| l.trim() == "wazuh-agentd is running..." || l.trim() == "wazuh-agentd is running"),
    )
}

pub fn sentinel_status(out: &str) -> Option<bool> {
    let line = out
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("agent state"))?;
    Some(line.to_ascii_lowercase().contains("enabled"))
}

/// Climbs each installed product of `catalogue` up the ladder: installed, process running (or
/// its system extension active), vendor health command healthy.
pub fn climb(
    sys: &dyn System,
    catalogue: &[Product],
    processes: &[String],
    active_extensions: &[String],
) -> Observed<Vec<EdrProduct>> {
    let mut evidence = Vec::new();
    let mut found = Vec::new();
    for p in catalogue {
        let Some(path) = p.installed.iter().find(|path| sys.exists(path)) else {
            continue;
        };
        let mut product = EdrProduct {
            product: p.name.into(),
            rung: EdrRung::Installed,
            vendor_healthy: None,
        };
        evidence.push(format!("{}: installed ({path})", p.name));
        if p.processes.iter().any(|name| processes.iter().any(|r| r == name)) {
            product.rung = EdrRung::ServiceRunning;
            evidence.push(format!("{}: process {} running", p.name, p.processes.join("/")));
        }
        if let Some(ext) = p.system_extension {
            if active_extensions.iter().any(|a| a == ext) && product.rung == EdrRung::ServiceRunning {
                product.rung = EdrRung::ComponentActive;
                evidence.push(format!(
                    "{}: system extension {ext} activated and enabled",
                    p.name
                ));
            }
        }
        if let Some(h) = &p.health {
            match sys.run(h.cmd, h.args) {
                Ok(out) => match (h.read)(&out.stdout) {
                    Some(healthy) => {
                        product.vendor_healthy = Some(healthy);
                        if healthy && product.rung >= EdrRung::ServiceRunning {
                            product.rung = EdrRung::VendorHealthy;
                        }
                        evidence.push(format!(
                            "{}: {} {} → {}",
                            p.name,
                            h.cmd,
                            h.args.join(" "),
                            out.stdout.trim()
                        ));
                    }
                    None => evidence.push(format!(
                        "{}: could not read {}'s answer: {:?}",
                        p.name,
                        h.cmd,
                        out.stdout.trim()
                    )),
                },
                Err(e) => evidence.push(format!("{}: health command failed: {e}", p.name)),
            }
        }
        found.push(product);
    }
    if found.is_empty() {
        let names: Vec<_> = catalogue.iter().map(|p| p.name).collect();
        evidence.push(format!(
            "none of the known EDR products is installed (looked for {})",
            names.join(", ")
        ));
    }
    Observed::seen(found, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falcon_reduced_functionality_mode_is_unhealthy() {
        assert_eq!(falcon_rfm("rfm-state=false.\n"), Some(true));
        assert_eq!(falcon_rfm("rfm-state=true."), Some(false));
        assert_eq!(falcon_rfm("Error: unable to contact sensor"), None);
    }

    #[test]
    fn unlicensed_defender_is_unhealthy() {
        assert_eq!(
            mdatp_health(r#"{"healthy":true,"licensed":true,"real_time_protection_enabled":{"value":true}}"#),
            Some(true)
        );
        assert_eq!(mdatp_health(r#"{"healthy":true,"licensed":false}"#), Some(false));
        assert_eq!(mdatp_health("ATTENTION: No license found."), None);
    }

    #[test]
    fn wazuh_and_sentinelone_status_lines() {
        assert_eq!(
            wazuh_status("wazuh-modulesd is running...\nwazuh-agentd is running...\n"),
            Some(true)
        );
        assert_eq!(wazuh_status("wazuh-agentd not running...\n"), Some(false));
        assert_eq!(
            sentinel_status("Agent state: Enabled\nConnectivity: On\n"),
            Some(true)
        );
        assert_eq!(sentinel_status("Agent state: Disabled\n"), Some(false));
    }
}
