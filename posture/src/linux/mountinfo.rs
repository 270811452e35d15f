//! `/proc/self/mountinfo`: which filesystems are mounted, from which device, and whether writable.

/// One mount, as the disk-encryption check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub major: u32,
    pub minor: u32,
    pub mount_point: String,
    pub read_only: bool,
    pub fs_type: String,
    /// The mount source, e.g. `/dev/mapper/vg-root` (btrfs reports device number 0:N and needs this).
    pub source: String,
}

/// Filesystems that hold no user data on a disk.
const PSEUDO: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "fuse.portal",
    "fuse.gvfsd-fuse",
];

impl Mount {
    /// Writable, disk-backed and holding data: `/boot` and the EFI partition are left out (they
    /// cannot be encrypted on most systems), as are read-only and pseudo filesystems.
    pub fn holds_data(&self) -> bool {
        !self.read_only
            && !PSEUDO.contains(&self.fs_type.as_str())
            && !matches!(self.mount_point.as_str(), "/boot" | "/boot/efi" | "/efi")
    }
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let n = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            out.push(n as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the whole file; a malformed line is an error naming it (a truncated capture must not pass).
pub fn parse(text: &str) -> Result<Vec<Mount>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            parse_line(line)
                .ok_or_else(|| format!("mountinfo line {} is not in the kernel's format: {line:?}", n + 1))
        })
        .collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let dash = fields.iter().position(|f| *f == "-")?;
    if dash < 6 || fields.len() < dash + 3 {
        return None;
    }
    let (major, minor) = fields[2].split_once(':')?;
    Some(Mount {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        mount_point: unescape(fields[4]),
        read_only: fields[5].split(',').any(|o| o == "ro"),
        fs_type: fields[dash + 1].to_string(),
        source: unescape(fields[dash + 2]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines in the format of proc(5), as on an Ubuntu 24.04 install with LVM on LUKS.
    const UBUNTU: &str = "\
22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/mapper/ubuntu--vg-ubuntu--lv rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 22 259:2 / /boot rw,relatime shared:29 - ext4 /dev/nvme0n1p2 rw
31 30 259:1 / /boot/efi rw,relatime shared:30 - vfat /dev/nvme0n1p1 rw,fmask=0077
40 22 0:35 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1629000k
45 22 7:3 / /snap/core22/1380 ro,nodev,relatime shared:31 - squashfs /dev/loop3 ro
50 22 252:1 /home /home\\040dir rw,relatime shared:40 - ext4 /dev/mapper/ubuntu--vg-ubuntu--lv rw
";

    #[test]
    fn only_writable_data_filesystems_need_checking() {
        let mounts = parse(UBUNTU).unwrap();
        let data: Vec<_> = mounts
            .iter()
            .filter(|m| m.holds_data())
            .map(|m| m.mount_point.as_str())
            .collect();
        assert_eq!(data, ["/", "/home dir"]);
        assert_eq!((mounts[0].major, mounts[0].minor), (252, 1));
        assert_eq!(mounts[0].source, "/dev/mapper/ubuntu--vg-ubuntu--lv");
    }

    #[test]
    fn read_only_mounts_are_skipped() {
        let m = parse("45 22 7:3 / /snap/x ro,relatime - ext4 /dev/loop3 ro").unwrap();
        assert!(!m[0].holds_data());
    }

    #[test]
    fn truncated_or_garbage_lines_are_errors() {
        for bad in [
            "22 1 252:1 / / rw,relatime shared:1 - ext4",
            "hello world",
            "22 1 x:y / / rw - ext4 /dev/sda1 rw",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
