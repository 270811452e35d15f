//! EDR products on Linux, climbed as far as the verification ladder allows: installed, process
//! running, and the vendor's own health command where it has one.

use crate::facts::{EdrProduct, Observed};
use crate::probes::edr::{climb, falcon_rfm, mdatp_health, sentinel_status, wazuh_status, Health, Product};
use crate::system::{Cmd, System};

const CATALOGUE: &[Product] = &[
    Product {
        name: "crowdstrike-falcon",
        installed: &["/opt/CrowdStrike/falconctl"],
        processes: &["falcon-sensor"],
        system_extension: None,
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
        system_extension: None,
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
        system_extension: None,
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
        system_extension: None,
        health: None,
    },
    Product {
        name: "cortex-xdr",
        installed: &["/opt/traps/bin/cytool"],
        processes: &["pmd"],
        system_extension: None,
        health: None,
    },
    Product {
        name: "elastic-defend",
        installed: &["/opt/Elastic/Endpoint/elastic-endpoint"],
        processes: &["elastic-endpoint"],
        system_extension: None,
        health: None,
    },
    Product {
        name: "wazuh",
        installed: &["/var/ossec/bin/wazuh-control"],
        processes: &["wazuh-agentd"],
        system_extension: None,
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
        system_extension: None,
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
    match running(sys) {
        Ok(processes) => climb(sys, CATALOGUE, &processes, &[]),
        Err(e) => Observed::unknown(e),
    }
}
