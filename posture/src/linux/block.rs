//! Block-device ancestry from `/sys/dev/block/*/` (`dm/uuid`, `slaves/`): a device is encrypted when
//! it is a dm-crypt device, or every device under it is. dm-verity and dm-integrity use the same
//! `CRYPT-` uuid prefix but do not encrypt.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockDevice {
    /// Kernel name, e.g. `dm-1`, `nvme0n1p3`.
    pub name: String,
    /// Contents of `dm/uuid` for device-mapper devices, e.g. `CRYPT-LUKS2-<uuid>-luks-<uuid>`, `LVM-…`.
    pub dm_uuid: Option<String>,
    /// Names listed in `slaves/`.
    pub slaves: Vec<String>,
}

/// cryptsetup's device types that encrypt (`lib/libcryptsetup.h`); VERITY and INTEGRITY do not.
const ENCRYPTING: &[&str] = &["LUKS1", "LUKS2", "PLAIN", "LOOPAES", "BITLK", "TCRYPT", "FVAULT2"];

/// The dm-crypt scheme of this one device, from its uuid (`CRYPT-<TYPE>-…`).
fn own_scheme(dev: &BlockDevice) -> Option<&str> {
    let kind = dev
        .dm_uuid
        .as_deref()?
        .strip_prefix("CRYPT-")?
        .split('-')
        .next()?;
    ENCRYPTING.iter().find(|t| **t == kind).copied()
}

/// The encryption scheme protecting `name` (e.g. `LUKS2`), or `None` when some path from it down to a
/// disk is not encrypted. Unknown device names count as unencrypted.
pub fn encryption_of(name: &str, devices: &BTreeMap<String, BlockDevice>) -> Option<String> {
    walk(name, devices, 0)
}

fn walk(name: &str, devices: &BTreeMap<String, BlockDevice>, depth: usize) -> Option<String> {
    let dev = devices.get(name)?;
    if let Some(scheme) = own_scheme(dev) {
        return Some(scheme.to_string());
    }
    // A stack deeper than this is a loop in a damaged capture.
    if dev.slaves.is_empty() || depth > 16 {
        return None;
    }
    let mut schemes: Vec<String> = dev
        .slaves
        .iter()
        .map(|s| walk(s, devices, depth + 1))
        .collect::<Option<_>>()?;
    schemes.sort();
    schemes.dedup();
    Some(schemes.join("+"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(devs: &[(&str, Option<&str>, &[&str])]) -> BTreeMap<String, BlockDevice> {
        devs.iter()
            .map(|(n, u, s)| {
                let d = BlockDevice {
                    name: n.to_string(),
                    dm_uuid: u.map(String::from),
                    slaves: s.iter().map(|x| x.to_string()).collect(),
                };
                (n.to_string(), d)
            })
            .collect()
    }

    #[test]
    fn lvm_on_luks_counts_as_encrypted() {
        // Ubuntu's installer: nvme0n1p3 → dm-0 (LUKS2) → dm-1 (LVM root).
        let t = tree(&[
            ("nvme0n1p3", None, &[]),
            (
                "dm-0",
                Some("CRYPT-LUKS2-6f1c0d7e3b5a4c2d9e8f7a6b5c4d3e2f-dm_crypt-0"),
                &["nvme0n1p3"],
            ),
            ("dm-1", Some("LVM-Xr7Qm2Lk9Pq3Ws5Ev8Yt1Uo4Ia6Sd0Fg"), &["dm-0"]),
        ]);
        assert_eq!(encryption_of("dm-1", &t).as_deref(), Some("LUKS2"));
    }

    #[test]
    fn verity_and_integrity_are_not_encryption() {
        let t = tree(&[
            ("sda3", None, &[]),
            ("dm-0", Some("CRYPT-VERITY-1a2b3c4d5e6f-root"), &["sda3"]),
            ("dm-1", Some("CRYPT-INTEGRITY-7a8b-data"), &["sda3"]),
        ]);
        assert_eq!(encryption_of("dm-0", &t), None);
        assert_eq!(encryption_of("dm-1", &t), None);
    }

    #[test]
    fn plain_partition_and_unknown_devices_are_not_encrypted() {
        let t = tree(&[("sda1", None, &[])]);
        assert_eq!(encryption_of("sda1", &t), None);
        assert_eq!(encryption_of("sdz9", &t), None);
    }

    #[test]
    fn a_volume_spanning_an_unencrypted_disk_is_not_encrypted() {
        let t = tree(&[
            ("sda2", None, &[]),
            ("sdb1", None, &[]),
            ("dm-0", Some("CRYPT-LUKS1-aa-crypt"), &["sda2"]),
            ("dm-1", Some("LVM-vg-data"), &["dm-0", "sdb1"]),
        ]);
        assert_eq!(encryption_of("dm-1", &t), None);
    }

    #[test]
    fn loops_in_a_damaged_capture_end_unencrypted() {
        let t = tree(&[
            ("dm-0", Some("LVM-a"), &["dm-1"]),
            ("dm-1", Some("LVM-b"), &["dm-0"]),
        ]);
        assert_eq!(encryption_of("dm-0", &t), None);
    }
}
