//! macOS probes, one fact each, through Apple's command-line tools run with the C locale.

pub mod disk;
pub mod edr;
pub mod firewall;
pub mod os;
pub mod screen_lock;
pub mod updates;

use crate::system::{Cmd, System};

/// A tool's output (stdout, then stderr: several of Apple's tools answer on stderr), or why not.
fn output(sys: &dyn System, cmd: Cmd, args: &[&str]) -> Result<String, String> {
    let out = sys
        .run(cmd, args)
        .map_err(|e| format!("{cmd} {}: {e}", args.join(" ")))?;
    Ok(format!("{}{}", out.stdout, out.stderr))
}
