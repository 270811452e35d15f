//! Pending security updates and pending reboots on Debian and Ubuntu (`apt-check`, `reboot-required`).

use crate::facts::{Observed, UpdateFacts};
use crate::system::{Cmd, System};

/// `apt-check` prints `UPDATES;SECURITY_UPDATES` on stderr.
pub fn parse_apt_check(stderr: &str) -> Result<(u32, u32), String> {
    let line = stderr.lines().last().unwrap_or("").trim();
    let (all, security) = line
        .split_once(';')
        .ok_or_else(|| format!("apt-check printed {line:?}, not N;M"))?;
    let n = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("apt-check printed {line:?}, not N;M"))
    };
    Ok((n(all)?, n(security)?))
}

pub fn probe(sys: &dyn System) -> Observed<UpdateFacts> {
    let reboot_required = sys.exists("/run/reboot-required") || sys.exists("/var/run/reboot-required");
    match sys.run(Cmd::AptCheck, &[]) {
        Ok(out) => match parse_apt_check(&out.stderr) {
            Ok((all, security)) => Observed::seen(
                UpdateFacts {
                    pending_security_updates: Some(security),
                    reboot_required: Some(reboot_required),
                },
                [format!(
                    "apt-check: {all} updates pending, {security} of them security updates"
                )]
                .into_iter()
                .chain(reboot_required.then(|| "/run/reboot-required exists".to_string())),
            ),
            Err(e) => Observed::unknown(e),
        },
        Err(e) => Observed::unknown(format!(
            "cannot count pending security updates ({e}); on Debian and Ubuntu install update-notifier-common"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_check_counts_parse_and_garbage_does_not() {
        assert_eq!(parse_apt_check("12;3"), Ok((12, 3)));
        assert_eq!(parse_apt_check("W: some warning\n0;0\n"), Ok((0, 0)));
        assert!(parse_apt_check("E: Unable to lock").is_err());
        assert!(parse_apt_check("").is_err());
    }
}
