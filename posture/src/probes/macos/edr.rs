//! EDR products on macOS: installed bundle or tool, process running (`ps`), system extension
//! activated and enabled (`systemextensionsctl list`), and the vendor's health command where it has one.

use super::output;
use crate::facts::{EdrProduct, Observed};
use crate::probes::edr::{climb, mdatp_health, Health, Product};
use crate::system::{Cmd, System};

const CATALOGUE: &[Product] = &[
    Product {
        name: "crowdstrike-falcon",
        installed: &["/Applications/Falcon.app"],
        processes: &["com.crowdstrike.falcon.Agent"],
        system_extension: Some("com.crowdstrike.falcon.Agent"),
        health: None,
    },
    Product {
        name: "microsoft-defender",
        installed: &["/Applications/Microsoft Defender.app", "/usr/local/bin/mdatp"],
        processes: &["wdavdaemon"],
        system_extension: Some("com.microsoft.wdav.epsext"),
        health: Some(Health {
            cmd: Cmd::MdatpMacos,
            args: &["health", "--output", "json"],
            read: mdatp_health,
        }),
    },
    Product {
        name: "sentinelone",
        installed: &["/Library/Sentinel/sentinel-agent.bundle"],
        processes: &["sentineld"],
        system_extension: Some("com.sentinelone.network-monitoring"),
        health: None,
    },
    Product {
        name: "carbon-black-cloud",
        installed: &["/Applications/VMware Carbon Black Cloud/repcli.bundle/Contents/MacOS/repcli"],
        processes: &["com.vmware.carbonblack.cloud.se-agent.extension"],
        system_extension: Some("com.vmware.carbonblack.cloud.se-agent.extension"),
        health: None,
    },
    Product {
        name: "cortex-xdr",
        installed: &["/Library/Application Support/PaloAltoNetworks/Traps/bin/cytool"],
        processes: &["pmd"],
        system_extension: Some("com.paloaltonetworks.traps.securityextension"),
        health: None,
    },
    Product {
        name: "elastic-defend",
        installed: &["/Library/Elastic/Endpoint/elastic-endpoint"],
        processes: &["elastic-endpoint"],
        system_extension: Some("co.elastic.systemextension"),
        health: None,
    },
    Product {
        name: "wazuh",
        installed: &["/Library/Ossec/bin/wazuh-control"],
        processes: &["wazuh-agentd"],
        system_extension: None,
        health: None,
    },
    Product {
        name: "eset",
        installed: &[
            "/Applications/ESET Endpoint Security.app",
            "/Applications/ESET Endpoint Antivirus.app",
        ],
        processes: &["esets_daemon"],
        system_extension: Some("com.eset.endpoint"),
        health: None,
    },
];

/// Executable file names from `ps -axo comm=` (one full path per line).
pub fn parse_ps(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

/// Bundle identifiers of system extensions that are `[activated enabled]`.
pub fn parse_system_extensions(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("[activated enabled]"))
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| {
                    w.contains('.')
                        && !w.starts_with('[')
                        && w.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
                        && !w.chars().next().is_some_and(|c| c.is_ascii_digit())
                })
                .map(String::from)
        })
        .collect()
}

pub fn probe(sys: &dyn System) -> Observed<Vec<EdrProduct>> {
    let processes = match output(sys, Cmd::Ps, &["-axo", "comm="]) {
        Ok(t) => parse_ps(&t),
        Err(e) => return Observed::unknown(format!("cannot list processes: {e}")),
    };
    // Without the extension list the ladder stops below "component active"; that is not an error.
    let extensions = output(sys, Cmd::Systemextensionsctl, &["list"])
        .map(|t| parse_system_extensions(&t))
        .unwrap_or_default();
    climb(sys, CATALOGUE, &processes, &extensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_names_are_executable_file_names() {
        assert_eq!(
            parse_ps("/sbin/launchd\n/Library/SystemExtensions/X/com.crowdstrike.falcon.Agent.systemextension/Contents/MacOS/com.crowdstrike.falcon.Agent\n"),
            vec!["launchd".to_string(), "com.crowdstrike.falcon.Agent".to_string()]
        );
    }

    #[test]
    fn only_activated_enabled_extensions_count() {
        let text = "2 extension(s)\n--- com.apple.system_extension.endpoint_security\nenabled\tactive\tteamID\tbundleID (version)\tname\t[state]\n*\t*\tX9E956P446\tcom.crowdstrike.falcon.Agent (7.10/18110.0)\tFalcon Sensor\t[activated enabled]\n\t\tUBF8T346G9\tcom.microsoft.wdav.epsext (101.24/101.24)\tMicrosoft Defender ES\t[terminated waiting to uninstall on reboot]\n";
        assert_eq!(
            parse_system_extensions(text),
            vec!["com.crowdstrike.falcon.Agent".to_string()]
        );
    }
}
