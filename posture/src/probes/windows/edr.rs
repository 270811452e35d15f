//! EDR on Windows: each catalogued product's services (installed, running and starting
//! automatically), the vendor's health where Windows exposes it, and Windows Security Center as the
//! generic source. WSC registrations can be forged, so WSC alone never lifts a product past
//! "installed"; Windows Server has no WSC at all.

use super::reg_number;
use crate::facts::{EdrProduct, EdrRung, Observed};
use crate::system::{SysError, System, WmiObject};

pub const CIMV2: &str = r"ROOT\CIMV2";
pub const SECURITY_CENTER: &str = r"ROOT\SecurityCenter2";
pub const DEFENDER: &str = r"ROOT\Microsoft\Windows\Defender";
pub const DEFENDER_STATUS_QUERY: &str =
    "SELECT AMServiceEnabled, AntivirusEnabled, RealTimeProtectionEnabled, AntivirusSignatureAge FROM MSFT_MpComputerStatus";
pub const WSC_QUERY: &str = "SELECT displayName, productState FROM AntiVirusProduct";
const MDE_STATUS: &str = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status";

/// How a product's own health is read on Windows, where it exposes one.
#[derive(Clone, Copy)]
enum Health {
    /// `MSFT_MpComputerStatus`: real-time protection on and signatures at most a day old.
    DefenderStatus,
    /// Defender for Endpoint onboarded: `OnboardingState` = 1 (a device that is not, or whose
    /// licence lapsed, reports 0).
    MdeOnboarded,
}

struct Product {
    name: &'static str,
    /// Every one must run and start automatically.
    services: &'static [&'static str],
    health: Option<Health>,
}

const CATALOGUE: &[Product] = &[
    Product {
        name: "crowdstrike-falcon",
        services: &["CSFalconService"],
        health: None,
    },
    Product {
        name: "microsoft-defender",
        services: &["WinDefend"],
        health: Some(Health::DefenderStatus),
    },
    Product {
        name: "microsoft-defender-for-endpoint",
        services: &["Sense"],
        health: Some(Health::MdeOnboarded),
    },
    Product {
        name: "sentinelone",
        services: &["SentinelAgent", "SentinelStaticEngine"],
        health: None,
    },
    Product {
        name: "carbon-black-cloud",
        services: &["CbDefense"],
        health: None,
    },
    Product {
        name: "cortex-xdr",
        services: &["cyserver"],
        health: None,
    },
    Product {
        name: "sophos",
        services: &["Sophos Endpoint Defense Service", "Sophos MCS Agent"],
        health: None,
    },
    Product {
        name: "elastic-defend",
        services: &["ElasticEndpoint"],
        health: None,
    },
    Product {
        name: "wazuh",
        services: &["WazuhSvc"],
        health: None,
    },
    Product {
        name: "eset",
        services: &["ekrn", "EraAgentSvc"],
        health: None,
    },
];

/// One query for every catalogued service, in catalogue order so captures replay.
pub fn services_query() -> String {
    let names: Vec<String> = CATALOGUE
        .iter()
        .flat_map(|p| p.services)
        .map(|s| format!("Name = '{s}'"))
        .collect();
    format!(
        "SELECT Name, State, StartMode FROM Win32_Service WHERE {}",
        names.join(" OR ")
    )
}

fn text<'a>(row: &'a WmiObject, field: &str) -> &'a str {
    row.get(field).and_then(|v| v.as_str()).unwrap_or("")
}

/// WSC `productState`: bits 12–15 the state (1 on, 2 snoozed, 3 expired), bit 4 out-of-date
/// signatures. Undocumented, but stable since Windows 7.
pub fn wsc_state(product_state: u64) -> (&'static str, bool) {
    let state = match (product_state >> 12) & 0xF {
        1 => "on",
        2 => "snoozed",
        3 => "expired",
        _ => "off",
    };
    (state, product_state & 0x10 == 0)
}

fn defender_healthy(sys: &dyn System) -> Result<(bool, String), String> {
    let rows = sys
        .wmi_query(DEFENDER, DEFENDER_STATUS_QUERY)
        .map_err(|e| format!("MSFT_MpComputerStatus: {e}"))?;
    let row = rows.first().ok_or("MSFT_MpComputerStatus returned no row")?;
    let flag = |f: &str| row.get(f).and_then(|v| v.as_bool()).unwrap_or(false);
    let age = row.get("AntivirusSignatureAge").and_then(|v| v.as_u64());
    let healthy = flag("AMServiceEnabled")
        && flag("AntivirusEnabled")
        && flag("RealTimeProtectionEnabled")
        && age.is_some_and(|a| a <= 1);
    Ok((
        healthy,
        format!(
            "MSFT_MpComputerStatus: real-time protection {}, antivirus {}, signatures {} day(s) old",
            if flag("RealTimeProtectionEnabled") {
                "on"
            } else {
                "OFF"
            },
            if flag("AntivirusEnabled") { "on" } else { "OFF" },
            age.map_or("unknown".into(), |a| a.to_string())
        ),
    ))
}

fn mde_onboarded(sys: &dyn System) -> Result<(bool, String), String> {
    let state = reg_number(sys, MDE_STATUS, "OnboardingState")?;
    Ok((state == 1, format!("{MDE_STATUS}\\OnboardingState = {state}")))
}

fn security_center(sys: &dyn System, evidence: &mut Vec<String>) -> Vec<EdrProduct> {
    match sys.wmi_query(SECURITY_CENTER, WSC_QUERY) {
        Ok(rows) => rows
            .iter()
            .map(|row| {
                let name = text(row, "displayName").to_string();
                let (state, current) =
                    wsc_state(row.get("productState").and_then(|v| v.as_u64()).unwrap_or(0));
                evidence.push(format!(
                    "Security Center: {name} is {state}, signatures {}",
                    if current { "up to date" } else { "OUT OF DATE" }
                ));
                EdrProduct {
                    product: format!("security-center:{name}"),
                    rung: EdrRung::Installed,
                    vendor_healthy: Some(state == "on" && current),
                }
            })
            .collect(),
        Err(SysError::NotFound(_)) => {
            evidence.push(
                "no Windows Security Center on this machine (Windows Server has none): only the catalogued products were checked"
                    .into(),
            );
            vec![]
        }
        Err(e) => {
            evidence.push(format!("Security Center could not be read: {e}"));
            vec![]
        }
    }
}

pub fn probe(sys: &dyn System) -> Observed<Vec<EdrProduct>> {
    let services = match sys.wmi_query(CIMV2, &services_query()) {
        Ok(rows) => rows,
        Err(e) => return Observed::unknown(format!("cannot list services: {e}")),
    };
    let mut evidence = Vec::new();
    let mut found = Vec::new();
    for p in CATALOGUE {
        let rows: Vec<&WmiObject> = p
            .services
            .iter()
            .filter_map(|s| services.iter().find(|r| text(r, "Name").eq_ignore_ascii_case(s)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut product = EdrProduct {
            product: p.name.into(),
            rung: EdrRung::Installed,
            vendor_healthy: None,
        };
        for r in &rows {
            evidence.push(format!(
                "{}: service {} is {}, starts {}",
                p.name,
                text(r, "Name"),
                text(r, "State"),
                text(r, "StartMode")
            ));
        }
        let all_running = rows.len() == p.services.len()
            && rows
                .iter()
                .all(|r| text(r, "State") == "Running" && text(r, "StartMode") == "Auto");
        if all_running {
            product.rung = EdrRung::ServiceRunning;
        }
        if let Some(health) = p.health {
            let answer = match health {
                Health::DefenderStatus => defender_healthy(sys),
                Health::MdeOnboarded => mde_onboarded(sys),
            };
            match answer {
                Ok((healthy, line)) => {
                    product.vendor_healthy = Some(healthy);
                    if healthy && all_running {
                        product.rung = EdrRung::VendorHealthy;
                    }
                    evidence.push(format!("{}: {line}", p.name));
                }
                Err(e) => evidence.push(format!("{}: health could not be read: {e}", p.name)),
            }
        }
        found.push(product);
    }
    found.extend(security_center(sys, &mut evidence));
    if found.is_empty() {
        evidence.push("none of the known EDR products is installed".into());
    }
    Observed::seen(found, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_center_product_state_decodes() {
        assert_eq!(
            wsc_state(397_568),
            ("on", true),
            "0x61100: Defender on, up to date"
        );
        assert_eq!(
            wsc_state(397_584),
            ("on", false),
            "0x61110: signatures out of date"
        );
        assert_eq!(wsc_state(393_472), ("off", true), "0x60100: off");
        assert_eq!(wsc_state(0x62100), ("snoozed", true));
    }

    #[test]
    fn the_services_query_names_every_catalogued_service() {
        let q = services_query();
        assert!(
            q.starts_with("SELECT Name, State, StartMode FROM Win32_Service WHERE Name = 'CSFalconService'")
        );
        assert!(q.contains("Name = 'Sophos MCS Agent'"));
    }
}
