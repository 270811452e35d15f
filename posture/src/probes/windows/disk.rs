//! BitLocker on the system drive: the `Win32_EncryptableVolume` methods (the cached
//! `ProtectionStatus` property can be stale), which need an administrator; without one, the
//! shell's coarse `System.Volume.BitLockerProtection` property.

use super::{reg, CURRENT_VERSION};
use crate::facts::{DiskEncryptionFacts, Observed, Protection, Volume};
use crate::system::{Cmd, SysError, System, WmiObject};

pub const BITLOCKER_NAMESPACE: &str = r"ROOT\CIMV2\Security\MicrosoftVolumeEncryption";

/// The system drive (`C:`), from `SystemRoot` (`C:\WINDOWS`).
fn system_drive(sys: &dyn System) -> Result<String, String> {
    let root = reg(sys, CURRENT_VERSION, "SystemRoot")?;
    root.text()
        .and_then(|t| t.get(..2))
        .filter(|d| d.ends_with(':'))
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| format!("SystemRoot is {root}, not a drive path"))
}

/// A WQL string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn number(obj: &WmiObject, name: &str) -> Option<u64> {
    obj.get(name).and_then(serde_json::Value::as_u64)
}

/// The out-parameter `field` of `method`, checking the method's own return code.
fn method_value(sys: &dyn System, path: &str, method: &str, field: &str) -> Result<u64, SysError> {
    let out = sys.wmi_method(BITLOCKER_NAMESPACE, path, method)?;
    match number(&out, "ReturnValue") {
        Some(0) => {}
        other => {
            return Err(SysError::Other(format!(
                "{method} returned {}",
                other.map_or("nothing".into(), |c| format!("0x{c:08X}"))
            )))
        }
    }
    number(&out, field).ok_or_else(|| SysError::Other(format!("{method} gave no {field}")))
}

/// Protection from the two methods: protection on and fully encrypted is on; fully encrypted with
/// protection off is suspended (the key is in the clear); anything else is off.
pub fn classify(protection_status: u64, conversion_status: u64) -> Result<Protection, String> {
    match (protection_status, conversion_status) {
        (1, 1) => Ok(Protection::On),
        (0, 1) => Ok(Protection::Suspended),
        (0 | 1, _) => Ok(Protection::Off),
        (2, _) => Err("BitLocker says the protection status is unknown (is the volume locked?)".into()),
        (p, _) => Err(format!(
            "GetProtectionStatus gave {p}, which is not a documented value"
        )),
    }
}

const CONVERSION: [&str; 6] = [
    "fully decrypted",
    "fully encrypted",
    "encryption in progress",
    "decryption in progress",
    "encryption paused",
    "decryption paused",
];

fn by_methods(sys: &dyn System, drive: &str) -> Result<Observed<DiskEncryptionFacts>, SysError> {
    let query = format!(
        "SELECT DeviceID, DriveLetter FROM Win32_EncryptableVolume WHERE DriveLetter = {}",
        quoted(drive)
    );
    let rows = sys.wmi_query(BITLOCKER_NAMESPACE, &query)?;
    let Some(id) = rows
        .first()
        .and_then(|r| r.get("DeviceID"))
        .and_then(|v| v.as_str())
    else {
        return Ok(Observed::seen(
            DiskEncryptionFacts {
                volumes: vec![Volume {
                    mount: drive.into(),
                    protection: Protection::Off,
                    scheme: None,
                }],
            },
            [format!("{drive} is not a BitLocker-encryptable volume")],
        ));
    };
    let path = format!(
        "Win32_EncryptableVolume.DeviceID={}",
        quoted(id).replace('\'', "\"")
    );
    let protection = method_value(sys, &path, "GetProtectionStatus", "ProtectionStatus")?;
    let conversion = method_value(sys, &path, "GetConversionStatus", "ConversionStatus")?;
    let state = classify(protection, conversion).map_err(SysError::Other)?;
    Ok(Observed::seen(
        DiskEncryptionFacts {
            volumes: vec![Volume {
                mount: drive.into(),
                protection: state,
                scheme: (state != Protection::Off || conversion != 0).then(|| "BitLocker".into()),
            }],
        },
        [format!(
            "Win32_EncryptableVolume({drive}): GetProtectionStatus = {protection}, GetConversionStatus = {conversion} ({})",
            CONVERSION.get(conversion as usize).unwrap_or(&"undocumented")
        )],
    ))
}

/// The shell property, readable without elevation: 1 on, 2 off. It cannot see a suspension
/// reliably, so the evidence says it was the fallback.
fn by_shell_property(sys: &dyn System, drive: &str) -> Result<Observed<DiskEncryptionFacts>, String> {
    let script = format!(
        "(New-Object -ComObject Shell.Application).NameSpace('{drive}\\').Self.ExtendedProperty('System.Volume.BitLockerProtection')"
    );
    let out = sys
        .run(
            Cmd::PowerShell,
            &["-NoProfile", "-NonInteractive", "-Command", &script],
        )
        .map_err(|e| format!("the shell's BitLocker property could not be read: {e}"))?;
    let protection = match out.stdout.trim() {
        "1" => Protection::On,
        "2" => Protection::Off,
        other => {
            return Err(format!(
                "the shell's BitLocker property for {drive} is {other:?}, which this check does not interpret; run it as administrator"
            ))
        }
    };
    Ok(Observed::seen(
        DiskEncryptionFacts {
            volumes: vec![Volume {
                mount: drive.into(),
                protection,
                scheme: (protection == Protection::On).then(|| "BitLocker".into()),
            }],
        },
        [format!(
            "System.Volume.BitLockerProtection({drive}) = {} (unprivileged fallback: run as administrator to tell suspended protection apart)",
            out.stdout.trim()
        )],
    ))
}

pub fn probe(sys: &dyn System) -> Observed<DiskEncryptionFacts> {
    let drive = match system_drive(sys) {
        Ok(d) => d,
        Err(e) => return Observed::unknown(format!("cannot find the system drive: {e}")),
    };
    match by_methods(sys, &drive) {
        Ok(facts) => facts,
        // Without elevation (or without the BitLocker feature on some Server installs) the methods
        // are out of reach: fall back to what an ordinary user can read.
        Err(SysError::Denied(_) | SysError::NotFound(_)) => match by_shell_property(sys, &drive) {
            Ok(facts) => facts,
            Err(e) => Observed::unknown(e),
        },
        Err(e) => Observed::unknown(format!("BitLocker status of {drive}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspended_bitlocker_is_not_protection() {
        assert_eq!(classify(1, 1), Ok(Protection::On));
        assert_eq!(classify(0, 1), Ok(Protection::Suspended));
        assert_eq!(classify(0, 0), Ok(Protection::Off));
        assert_eq!(
            classify(0, 2),
            Ok(Protection::Off),
            "still encrypting is not yet protected"
        );
        assert!(classify(2, 1).is_err());
        assert!(classify(7, 1).is_err());
    }

    #[test]
    fn wql_literals_escape_backslashes_and_quotes() {
        assert_eq!(quoted(r"\\?\Volume{1}\"), r"'\\\\?\\Volume{1}\\'");
        assert_eq!(quoted("a'b"), r"'a\'b'");
    }
}
