//! Disk encryption on Linux: every writable data filesystem and swap partition, traced through
//! `/sys/class/block/*/slaves/` down to the disks, must sit on dm-crypt.

use crate::facts::{DiskEncryptionFacts, Observed, Protection, Volume};
use crate::linux::block::{encryption_of, BlockDevice};
use crate::linux::mountinfo;
use crate::system::System;
use std::collections::BTreeMap;

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// The kernel name (`dm-1`, `sda2`) of a mount's device.
fn device_of(sys: &dyn System, m: &mountinfo::Mount) -> Result<String, String> {
    if m.major != 0 {
        let link = format!("/sys/dev/block/{}:{}", m.major, m.minor);
        return sys
            .read_link(&link)
            .map(|t| basename(&t).to_string())
            .map_err(|e| format!("{link}: {e}"));
    }
    // btrfs reports an anonymous device number; its source names the real device.
    if m.source.starts_with("/dev/") {
        return Ok(sys
            .read_link(&m.source)
            .map(|t| basename(&t).to_string())
            .unwrap_or_else(|_| basename(&m.source).to_string()));
    }
    Err(format!(
        "{} ({}) is not backed by a block device Daypass can trace",
        m.mount_point, m.fs_type
    ))
}

/// Reads `dm/uuid` and `slaves/` for `name` and everything under it.
fn load_tree(sys: &dyn System, name: &str, tree: &mut BTreeMap<String, BlockDevice>) {
    if tree.contains_key(name) || tree.len() > 64 {
        return;
    }
    let base = format!("/sys/class/block/{name}");
    let dev = BlockDevice {
        name: name.to_string(),
        dm_uuid: sys
            .read_file(&format!("{base}/dm/uuid"))
            .ok()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty()),
        slaves: sys.read_dir(&format!("{base}/slaves")).unwrap_or_default(),
    };
    let slaves = dev.slaves.clone();
    tree.insert(name.to_string(), dev);
    for s in slaves {
        load_tree(sys, &s, tree);
    }
}

/// Swap partitions from `/proc/swaps` (swap files live on a filesystem already checked).
fn swap_devices(sys: &dyn System) -> Vec<String> {
    sys.read_file("/proc/swaps")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next()) {
                (Some(file), Some("partition")) => Some(file.to_string()),
                _ => None,
            }
        })
        .collect()
}

pub fn probe(sys: &dyn System) -> Observed<DiskEncryptionFacts> {
    let text = match sys.read_file("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => return Observed::unknown(format!("cannot read the mount table: {e}")),
    };
    let mounts = match mountinfo::parse(&text) {
        Ok(m) => m,
        Err(e) => return Observed::unknown(e),
    };
    let mut targets: Vec<(String, String)> = Vec::new();
    for m in mounts.iter().filter(|m| m.holds_data()) {
        match device_of(sys, m) {
            Ok(dev) if !targets.iter().any(|(mp, _)| *mp == m.mount_point) => {
                targets.push((m.mount_point.clone(), dev))
            }
            Ok(_) => {}
            Err(e) => {
                return Observed::unknown(format!("cannot trace the device behind {}: {e}", m.mount_point))
            }
        }
    }
    let mut evidence = Vec::new();
    for swap in swap_devices(sys) {
        let dev = sys
            .read_link(&swap)
            .map(|t| basename(&t).to_string())
            .unwrap_or_else(|_| basename(&swap).to_string());
        // zram (Fedora's default swap) is compressed memory: nothing of it reaches a disk.
        if dev.starts_with("zram") {
            evidence.push(format!(
                "[swap] {swap}: compressed memory (zram), never written to disk"
            ));
            continue;
        }
        targets.push((format!("[swap] {swap}"), dev));
    }
    let mut tree = BTreeMap::new();
    let volumes = targets
        .into_iter()
        .map(|(mount, dev)| {
            load_tree(sys, &dev, &mut tree);
            let scheme = encryption_of(&dev, &tree);
            evidence.push(format!(
                "{mount} on {dev}: {}",
                scheme.as_deref().unwrap_or("no dm-crypt underneath")
            ));
            Volume {
                mount,
                protection: if scheme.is_some() {
                    Protection::On
                } else {
                    Protection::Off
                },
                scheme,
            }
        })
        .collect();
    Observed::seen(DiskEncryptionFacts { volumes }, evidence)
}
