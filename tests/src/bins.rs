//! The workspace's binaries, as `cargo test --workspace` (or `cargo build --bins`) left them next to
//! this test executable, and the folder for test artifacts beside them.

use std::path::PathBuf;

/// `target/debug` for the test executable `target/debug/deps/it-HASH`, or for a binary of this
/// crate (`target/debug/daypass-demo`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the executable's path");
    let dir = exe.parent().expect("a target directory");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("a target directory")
    } else {
        dir
    };
    dir.to_path_buf()
}

/// The path of binary `name`, or a failure saying how to build it.
pub fn bin(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run cargo build --workspace --bins first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Where tests keep what a person may want to look at afterwards (screenshots): `test-artifacts/`
/// beside the binaries (`target/debug/test-artifacts`), one folder per test.
pub fn artifacts(test: &str) -> PathBuf {
    profile_dir().join("test-artifacts").join(test)
}
