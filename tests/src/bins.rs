//! The workspace's binaries, as `cargo test --workspace` (or `cargo build --bins`) left them next to
//! this test executable.

use std::path::PathBuf;

/// The path of binary `name`, or a failure saying how to build it.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/debug/deps/it-HASH → target/debug/NAME
    let dir = exe.parent().and_then(|d| d.parent()).expect("a target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run cargo build --workspace --bins first (scripts/test.sh does)",
        path.display()
    );
    path
}
