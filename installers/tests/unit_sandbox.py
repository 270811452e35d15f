#!/usr/bin/env python3
"""Runs a packaged Daypass service the way its systemd unit would, inside a root it was installed in.

  unit_sandbox.py ROOT UNIT [NETNS]

systemd cannot run as PID 1 on this machine (no nspawn boot), so this reads ROOT's
/usr/lib/systemd/system/UNIT.service and applies what can be applied without it, then runs ExecStart
in the foreground:
  - User=, Group= and supplementary groups; CapabilityBoundingSet= and AmbientCapabilities=;
    NoNewPrivileges= (util-linux setpriv)
  - EnvironmentFile=, Environment= and %d; LoadCredential= (copied into /run/credentials/UNIT,
    0400, owned by the service's user)
  - ProtectSystem=strict: ROOT read-only but StateDirectory=, RuntimeDirectory= and ReadWritePaths=
    (the tmpfiles.d entries made first); ProtectHome= and PrivateTmp=
  - DevicePolicy=closed with DeviceAllow=, and PrivateDevices=: a /dev holding only the pseudo
    devices systemd allows and the allowed ones, mode 0666 for /dev/net/tun as udev makes it on an
    installed system (this machine's own node is root's alone)
  - in the network namespace NETNS when given
Not applied (they need systemd itself): the system-call filter, MemoryDenyWriteExecute=, the
device ACL, RestrictAddressFamilies= and the Protect*= kernel settings. `systemd-analyze security`
scores those from the unit file.
"""

import os
import shlex
import sys

CAPABILITY_NAMES = {"CAP_NET_ADMIN": "net_admin"}
# The pseudo devices systemd leaves in a closed or private /dev: (major, minor).
PSEUDO_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}


def read_unit(path):
    """The [Service] settings as a list of (key, value), repeated keys kept in order."""
    settings, section = [], None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]":
                key, _, value = line.partition("=")
                settings.append((key.strip(), value.strip()))
    return settings


def values(settings, key):
    return [value for k, value in settings if k == key]


def one(settings, key, default=""):
    found = values(settings, key)
    return found[-1] if found else default


def environment(root, settings, credentials):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for file in values(settings, "EnvironmentFile"):
        with open(root + file.lstrip("-")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    env[key] = value
    for assignments in values(settings, "Environment"):
        for assignment in shlex.split(assignments):
            key, _, value = assignment.partition("=")
            env[key] = value.replace("%d", credentials)
    return env


def capabilities(settings):
    names = [CAPABILITY_NAMES[c] for c in " ".join(values(settings, "CapabilityBoundingSet")).split()]
    ambient = [CAPABILITY_NAMES[c] for c in " ".join(values(settings, "AmbientCapabilities")).split()]
    bounding = ",".join(["-all"] + ["+" + n for n in names])
    ambient_caps = ",".join(["-all"] + ["+" + n for n in ambient])
    return ["--bounding-set", bounding, "--inh-caps", ambient_caps, "--ambient-caps", ambient_caps]


def devices(settings):
    """Shell lines giving the service the /dev its unit allows."""
    if one(settings, "DevicePolicy") != "closed" and one(settings, "PrivateDevices") != "yes":
        return ['mount --rbind /dev "$R/dev"']
    lines = ['mount -t tmpfs -o mode=0755 tmpfs "$R/dev"']
    for name, (major, minor) in PSEUDO_DEVICES.items():
        lines.append(f'mknod -m 0666 "$R/dev/{name}" c {major} {minor}')
    for allowed in values(settings, "DeviceAllow"):
        path = allowed.split()[0]
        device = os.stat(path).st_rdev
        lines.append(f'mkdir -p "$R{os.path.dirname(path)}"')
        lines.append(f'mknod -m 0666 "$R{path}" c {os.major(device)} {os.minor(device)}')
    return lines


def script(root, unit, settings):
    user, group = one(settings, "User", "root"), one(settings, "Group", "")
    group = group or ("root" if user == "root" else user)
    credentials = f"/run/credentials/{unit}.service"
    env = environment(root, settings, credentials)
    q = shlex.quote
    lines = ["set -eu", f"R={q(root)}", 'mount --bind "$R" "$R"']
    lines += ['mount -t proc proc "$R/proc"', 'mount -t sysfs -o ro sysfs "$R/sys"']
    lines += devices(settings)
    lines += ['mount -t tmpfs -o mode=0755 tmpfs "$R/run"', 'chroot "$R" systemd-tmpfiles --create >/dev/null 2>&1 || true']
    writable = []
    for directory in " ".join(values(settings, "StateDirectory")).split():
        mode = one(settings, "StateDirectoryMode", "0755")
        path = f"/var/lib/{directory}"
        lines.append(f'install -d -m {mode} "$R{path}" && chroot "$R" chown {user}:{group} {path}')
        writable.append(path)
    for directory in " ".join(values(settings, "RuntimeDirectory")).split():
        mode = one(settings, "RuntimeDirectoryMode", "0755")
        path = f"/run/{directory}"
        lines.append(f'install -d -m {mode} "$R{path}" && chroot "$R" chown {user}:{group} {path}')
        writable.append(path)
    writable += [p.lstrip("-") for p in " ".join(values(settings, "ReadWritePaths")).split()]
    lines.append(f'install -d -m 0700 "$R{credentials}"')
    for credential in values(settings, "LoadCredential"):
        name, _, source = credential.partition(":")
        lines.append(f'install -m 0400 "$R{source}" "$R{credentials}/{name}"')
    lines.append(f'chroot "$R" chown -R {user}:{group} {credentials} && chmod 0500 "$R{credentials}"')
    if one(settings, "PrivateTmp") == "yes":
        lines += ['mount -t tmpfs tmpfs "$R/tmp"', 'mount -t tmpfs tmpfs "$R/var/tmp"']
    if one(settings, "ProtectHome") == "yes":
        lines += ['mount -t tmpfs -o ro tmpfs "$R/home"', 'mount -t tmpfs -o ro tmpfs "$R/root"']
    if one(settings, "ProtectSystem") == "strict":
        lines += [f'mount --bind "$R{path}" "$R{path}"' for path in writable]
        lines += ['mount -o remount,bind,ro "$R"', 'mount -o remount,bind,ro "$R/run"']
    setpriv = ["setpriv", "--reuid", user, "--regid", group]
    setpriv += ["--init-groups"] if user != "root" else ["--clear-groups"]
    setpriv += capabilities(settings)
    if one(settings, "NoNewPrivileges") == "yes":
        setpriv.append("--no-new-privs")
    command = shlex.split(one(settings, "ExecStart"))
    umask = one(settings, "UMask", "0022")
    env_args = [f"{k}={v}" for k, v in env.items()]
    lines.append(f'umask {umask}')
    lines.append('exec chroot "$R" ' + " ".join(q(a) for a in setpriv + ["--", "env", "-i"] + env_args + command))
    return "\n".join(lines)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    root, unit = os.path.realpath(argv[1]), argv[2]
    settings = read_unit(f"{root}/usr/lib/systemd/system/{unit}.service")
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script(root, unit, settings)]
    if len(argv) == 4:
        command = ["ip", "netns", "exec", argv[3]] + command
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
