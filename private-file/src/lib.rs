//! Files only their owner may read (keys, tokens, kept sessions, a gateway's live grants), in a
//! directory only their owner may enter, replaced whole or not at all.

use std::io::Write as _;
use std::path::Path;

/// Writes `dir/name` readable by its owner only (0600 in a 0700 directory on Unix, the directory
/// tightened if it existed more open): a fresh temporary file renamed over the old one.
pub fn write(dir: &Path, name: &str, value: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let tmp = dir.join(format!(".{name}.new"));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(value)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn only_the_owner_may_read_or_enter() {
        let root = tempfile::tempdir().unwrap();
        let open_dir = root.path().join("state");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::write(&open_dir, "grants.json", b"{}").unwrap();
        assert_eq!(mode(&open_dir.join("grants.json")), 0o600);
        assert_eq!(
            mode(&open_dir),
            0o700,
            "a directory that existed open is tightened"
        );
        let fresh = root.path().join("a/b");
        super::write(&fresh, "k", b"1").unwrap();
        assert_eq!((mode(&fresh), mode(&fresh.join("k"))), (0o700, 0o600));
        super::write(&fresh, "k", b"2").unwrap();
        assert_eq!(std::fs::read(fresh.join("k")).unwrap(), b"2", "replaced whole");
    }
}
