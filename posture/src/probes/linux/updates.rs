//! Pending security updates and pending reboots: Debian and Ubuntu through `apt-check` and
//! `reboot-required`, Fedora and RHEL through dnf's cached advisories and `needs-restarting`.

use crate::facts::{Observed, UpdateFacts};
use crate::system::{Cmd, SysError, System};

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

/// Security advisories from `dnf -C -q updateinfo list --security` (dnf 4: `ID severity/Sec. package`;
/// dnf 5: a header, then `ID security severity package issued`): the distinct advisory ids.
pub fn parse_dnf_advisories(stdout: &str) -> Result<usize, String> {
    let mut ids: Vec<&str> = Vec::new();
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let id = line.split_whitespace().next().unwrap_or("");
        let looks_like_advisory = id.contains('-')
            && id.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && id.chars().any(|c| c.is_ascii_digit());
        if looks_like_advisory {
            ids.push(id);
        } else if !line.starts_with("Name")
            && !line.starts_with("Updating")
            && !line.starts_with("Last metadata")
        {
            return Err(format!("dnf printed {line:?}, not an advisory list"));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids.len())
}

/// `apt-get -s upgrade` lists `Inst PACKAGE [OLD] (NEW ORIGINS [ARCH])`; an upgrade whose origins
/// name a `-security` suite is a security update. Returns (all, security).
pub fn parse_apt_simulation(stdout: &str) -> Result<(u32, u32), String> {
    if !stdout.contains("Reading package lists") && !stdout.lines().any(|l| l.starts_with("Inst ")) {
        return Err(format!(
            "apt-get printed {:?}, not a simulated upgrade",
            stdout.trim()
        ));
    }
    let installs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("Inst ")).collect();
    let security = installs.iter().filter(|l| l.contains("-security")).count();
    let n = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
    Ok((n(installs.len()), n(security)))
}

/// What apt says is pending: `apt-check` where update-notifier is installed (Ubuntu), else a
/// simulated upgrade (Debian), which needs no lock and changes nothing.
fn apt_pending(sys: &dyn System) -> Option<Result<(u32, u32, &'static str), String>> {
    match sys.run(Cmd::AptCheck, &[]) {
        Ok(out) => return Some(parse_apt_check(&out.stderr).map(|(a, s)| (a, s, "apt-check"))),
        Err(SysError::NotFound(_)) => {}
        Err(e) => return Some(Err(format!("cannot count pending security updates: {e}"))),
    }
    match sys.run(Cmd::AptGet, &["-s", "-o", "Debug::NoLocking=1", "upgrade"]) {
        Ok(out) if out.status == 0 => {
            Some(parse_apt_simulation(&out.stdout).map(|(a, s)| (a, s, "apt-get -s upgrade")))
        }
        Ok(out) => Some(Err(format!("apt-get -s upgrade failed: {}", out.stderr.trim()))),
        Err(SysError::NotFound(_)) => None,
        Err(e) => Some(Err(format!("cannot count pending security updates: {e}"))),
    }
}

fn apt(sys: &dyn System) -> Option<Observed<UpdateFacts>> {
    let (all, security, source) = match apt_pending(sys)? {
        Ok(found) => found,
        Err(e) => return Some(Observed::unknown(e)),
    };
    let reboot_required = sys.exists("/run/reboot-required") || sys.exists("/var/run/reboot-required");
    Some(Observed::seen(
        UpdateFacts {
            pending_security_updates: Some(security),
            reboot_required: Some(reboot_required),
        },
        [format!(
            "{source}: {all} updates pending, {security} of them security updates"
        )]
        .into_iter()
        .chain(reboot_required.then(|| "/run/reboot-required exists".to_string())),
    ))
}

fn dnf(sys: &dyn System) -> Option<Observed<UpdateFacts>> {
    // -C: from the metadata cache dnf keeps fresh itself, so the check never goes online.
    let out = match sys.run(Cmd::Dnf, &["-C", "-q", "updateinfo", "list", "--security"]) {
        Err(SysError::NotFound(_)) => return None,
        Err(e) => {
            return Some(Observed::unknown(format!(
                "cannot count pending security updates: {e}"
            )))
        }
        Ok(out) if out.status != 0 => {
            return Some(Observed::unknown(format!(
                "dnf updateinfo failed ({}); run dnf makecache once",
                out.stderr.trim()
            )))
        }
        Ok(out) => out,
    };
    let advisories = match parse_dnf_advisories(&out.stdout) {
        Ok(n) => n,
        Err(e) => return Some(Observed::unknown(e)),
    };
    // needs-restarting -r: exit 1 when a reboot is needed, 0 when not; anything else says nothing.
    let reboot = match sys.run(Cmd::Dnf, &["-C", "-q", "needs-restarting", "-r"]) {
        Ok(o) if o.status == 0 => Some(false),
        Ok(o) if o.status == 1 => Some(true),
        _ => None,
    };
    let mut evidence = vec![format!("dnf: {advisories} security advisories pending")];
    match reboot {
        Some(true) => evidence.push("dnf needs-restarting: a reboot is needed".into()),
        Some(false) => {}
        None => evidence.push("dnf needs-restarting gave no answer; pending reboot unknown".into()),
    }
    Some(Observed::seen(
        UpdateFacts {
            pending_security_updates: Some(u32::try_from(advisories).unwrap_or(u32::MAX)),
            reboot_required: reboot,
        },
        evidence,
    ))
}

pub fn probe(sys: &dyn System) -> Observed<UpdateFacts> {
    apt(sys).or_else(|| dnf(sys)).unwrap_or_else(|| {
        Observed::unknown(
            "cannot count pending security updates: neither apt (Debian, Ubuntu) nor dnf (Fedora, RHEL) is installed",
        )
    })
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

    #[test]
    fn a_simulated_upgrade_counts_security_suites() {
        let out = "Reading package lists...\nBuilding dependency tree...\nThe following packages will be upgraded:\n  openssl python3-jwt\nInst openssl [3.0.17-1~deb12u2] (3.0.20-1~deb12u1 Debian:12.14/oldstable [amd64])\nInst python3-jwt [2.6.0-1] (2.6.0-1+deb12u1 Debian:12.14/oldstable, Debian-Security:12/oldstable-security [all])\nConf openssl (3.0.20-1~deb12u1 Debian:12.14/oldstable [amd64])\n";
        assert_eq!(parse_apt_simulation(out), Ok((2, 1)));
        assert_eq!(
            parse_apt_simulation("Reading package lists...\n0 upgraded, 0 newly installed.\n"),
            Ok((0, 0))
        );
        assert!(parse_apt_simulation("E: Could not open lock file").is_err());
    }

    #[test]
    fn dnf_advisories_are_counted_once_in_both_formats() {
        let dnf4 = "FEDORA-2024-1a2b3c4d5e important/Sec.  openssl-1:3.2.2-3.fc40.x86_64\nFEDORA-2024-1a2b3c4d5e important/Sec.  openssl-libs-1:3.2.2-3.fc40.x86_64\nFEDORA-2024-99aa88bb77 moderate/Sec.   curl-8.6.0-10.fc40.x86_64\n";
        assert_eq!(parse_dnf_advisories(dnf4), Ok(2));
        let dnf5 = "Name                 Type     Severity  Package                          Issued\nFEDORA-2026-0b1c2d3e4f security Important kernel-6.11.9-300.fc41.x86_64 2026-11-18 01:02:03\n";
        assert_eq!(parse_dnf_advisories(dnf5), Ok(1));
        assert_eq!(parse_dnf_advisories(""), Ok(0));
        assert!(parse_dnf_advisories("Fehler: Keine passenden Pakete").is_err());
    }
}
