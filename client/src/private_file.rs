//! Files only their owner may read (keys, tokens, kept sessions), replaced whole or not at all.

use std::io::Write as _;
use std::path::Path;

/// Writes `dir/name` readable by its owner only: a fresh temporary file renamed over the old one.
pub fn write(dir: &Path, name: &str, value: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
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
