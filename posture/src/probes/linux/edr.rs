//! EDR products on Linux, climbed as far as the verification ladder allows: installed, process
//! running, and the vendor's own health command where it has one.

use crate::facts::{EdrProduct, EdrRung, Observed};
use crate::system::{Cmd, System};

/// A vendor health command and how to read its answer (`Some(true)` healthy).
struct Health {
    cmd: Cmd,
    args: &'static [&'static str],
    read: fn(&str) -> Option<bool>,
}

struct Product {
    name: &'static str,
    installed: &'static [&'static str],
    /// Process names (`/proc/PID/comm`, at most 15 characters).
    processes: &'static [&'static str],
    health: Option<Health>,
}

fn falcon_rfm(out: &str) -> Option<bool> {
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

fn mdatp_health(out: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(out).ok()?;
    Some(v.get("healthy")?.as_bool()? && v.get("licensed")?.as_bool()?)
}

fn wazuh_status(out: &str) -> Option<bool> {
    Some(
        out.lines()
            .any(|l| l.trim() == "wazuh-agentd is running..." || l.trim() == "wazuh-agentd is running"),
    )
}

fn sentinel_status(out: &str) -> Option<bool> {
    let line = out
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("agent state"))?;
    Some(line.to_ascii_lowercase().contains("enabled"))
}

const CATALOGUE: &[Product] = &[
    Product {
        name: "crowdstrike-falcon",
        installed: &["/opt/CrowdStrike/falconctl"],
        processes: &["falcon-sensor"],
        health: Some(Health {
            cmd: Cmd::Falconctl,
            args: &["-g", "--rfm-state"],
            read: falcon_rfm,
        }),
    },
    Product {
        name: "microsoft-defender",
        installed: &["/opt/microsoft/mdatp", "/usr/bin/mdatp"],
        processes: &["wdavdaemon"],
        health: Some(Health {
            cmd: Cmd::Mdatp,
            args: &["health", "--output", "json"],
            read: mdatp_health,
        }),
    },
    Product {
        name: "sentinelone",
        installed: &["/opt/sentinelone/bin/sentinelctl"],
        processes: &["s1-agent"],
        health: Some(Health {
            cmd: Cmd::Sentinelctl,
            args: &["control", "status"],
            read: sentinel_status,
        }),
    },
    Product {
        name: "carbon-black-cloud",
        installed: &["/opt/carbonblack/psc/bin/repcli"],
        processes: &["cbagentd"],
        health: None,
    },
    Product {
        name: "cortex-xdr",
        installed: &["/opt/traps/bin/cytool"],
        processes: &["pmd"],
        health: None,
    },
    Product {
        name: "elastic-defend",
        installed: &["/opt/Elastic/Endpoint/elastic-endpoint"],
        processes: &["elastic-endpoint"],
        health: None,
    },
    Product {
        name: "wazuh",
        installed: &["/var/ossec/bin/wazuh-control"],
        processes: &["wazuh-agentd"],
        health: Some(Health {
            cmd: Cmd::WazuhControl,
            args: &["status"],
            read: wazuh_status,
        }),
    },
    Product {
        name: "eset",
        installed: &["/opt/eset/RemoteAdministrator/Agent"],
        processes: &["ERAAgent"],
        health: None,
    },
];

/// Names of running processes, from `/proc/*/comm`.
fn running(sys: &dyn System) -> Result<Vec<String>, String> {
    let pids = sys
        .read_dir("/proc")
        .map_err(|e| format!("cannot list processes: {e}"))?;
    Ok(pids
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|p| sys.read_file(&format!("/proc/{p}/comm")).ok())
        .map(|c| c.trim().to_string())
        .collect())
}

pub fn probe(sys: &dyn System) -> Observed<Vec<EdrProduct>> {
    let processes = match running(sys) {
        Ok(p) => p,
        Err(e) => return Observed::unknown(e),
    };
    let mut evidence = Vec::new();
    let mut found = Vec::new();
    for p in CATALOGUE {
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
        if let Some(h) = &p.health {
            match sys.run(h.cmd, h.args) {
                Ok(out) => match (h.read)(&out.stdout) {
                    Some(healthy) => {
                        product.vendor_healthy = Some(healthy);
                        if healthy && product.rung == EdrRung::ServiceRunning {
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
        let names: Vec<_> = CATALOGUE.iter().map(|p| p.name).collect();
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
