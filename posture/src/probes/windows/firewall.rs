//! Windows Defender Firewall on for every profile (domain, private, public): the group-policy value
//! where one is set, else the local one.

use super::reg_number;
use crate::facts::{FirewallFacts, Observed};
use crate::system::System;

const POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall";
const LOCAL: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy";

/// (shown name, policy key name, local key name): the private profile is `StandardProfile` locally.
const PROFILES: [(&str, &str, &str); 3] = [
    ("domain", "DomainProfile", "DomainProfile"),
    ("private", "PrivateProfile", "StandardProfile"),
    ("public", "PublicProfile", "PublicProfile"),
];

pub fn probe(sys: &dyn System) -> Observed<FirewallFacts> {
    let mut evidence = Vec::new();
    let mut all_on = true;
    for (shown, policy, local) in PROFILES {
        let (source, value) = match reg_number(sys, &format!(r"{POLICY}\{policy}"), "EnableFirewall") {
            Ok(v) => ("group policy", v),
            Err(_) => match reg_number(sys, &format!(r"{LOCAL}\{local}"), "EnableFirewall") {
                Ok(v) => ("local setting", v),
                Err(e) => return Observed::unknown(format!("cannot read the {shown} firewall profile: {e}")),
            },
        };
        all_on &= value == 1;
        evidence.push(format!(
            "{shown} profile: {} ({source})",
            if value == 1 { "on" } else { "OFF" }
        ));
    }
    Observed::seen(FirewallFacts { enabled: all_on }, evidence)
}
