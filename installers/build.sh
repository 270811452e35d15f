#!/usr/bin/env bash
# Builds everything IT ships into OUT_DIR, on Debian 12 as root: a release build, then
#   packages/  daypass-{desktop,tunneld,broker,gateway} .deb and .rpm (RPMs signed), the Windows
#              installer (Authenticode-signed, its programs too), the macOS packaging kit
#   mdm/       the Group Policy ADMX/ADML and the macOS configuration profile
#   repo/      a signed apt repository and a signed dnf/yum repository of the Linux packages
#   keys/      the public keys that verify all of it
#   SHA256SUMS of every artifact, and a minisign signature (.minisig) beside each file and SHA256SUMS
# Release keys come from the environment (installers/README.md, "Signing keys"); without them the
# build signs with throwaway keys and says so. DAYPASS_VERSION overrides the workspace's version.
#   bash installers/build.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 1 ]] || { echo "usage: bash installers/build.sh OUT_DIR" >&2; exit 2; }
out=$(realpath -m "$1")
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
export CARGO_TARGET_DIR=$target_dir
export DAYPASS_VERSION=${DAYPASS_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)}
export DAYPASS_RELEASE=1 DAYPASS_RELEASE_DIR=$target_dir/release
[[ $DAYPASS_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || { echo "DAYPASS_VERSION must be MAJOR.MINOR.PATCH, not '$DAYPASS_VERSION'" >&2; exit 2; }

source scripts/packages.sh
need_product_packages
for tool in makensis:nsis osslsigncode:osslsigncode minisign:minisign rpmsign:rpm createrepo_c:createrepo-c \
            apt-ftparchive:apt-utils gpg:gnupg openssl:openssl objdump:binutils; do
  command -v "${tool%%:*}" >/dev/null || need_packages+=("${tool#*:}")
done
python3 -c 'import ensurepip' 2>/dev/null || need_packages+=(python3-venv)
command -v x86_64-w64-mingw32-gcc >/dev/null || need_packages+=(gcc-mingw-w64-x86-64)
install_needed_packages
rustup target list --installed | grep -qx x86_64-pc-windows-gnu || rustup target add x86_64-pc-windows-gnu

source installers/lib/signing.sh
source installers/lib/linux-packages.sh
source installers/lib/repositories.sh
source installers/lib/other-platforms.sh

# OUT_DIR is replaced only when it is empty or an earlier build's (never someone's other files).
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/SHA256SUMS && ! -d $out/packages ]]; then
  echo "$out is not empty and not an earlier Daypass build: give a new or empty directory" >&2
  exit 2
fi
rm -rf "$out"
packages=$out/packages docs=$signing_dir/docs scripts=$signing_dir/scripts
mkdir -p "$packages" "$docs" "$scripts"
export DAYPASS_DOC_DIR=$docs DAYPASS_SCRIPTS_DIR=$scripts
setup_signing_keys "$out/keys"
install_nfpm

echo "== the window (ui/dist) and the release build (Linux)"
[[ -d ui/node_modules ]] || build_window
[[ -f ui/dist/index.html ]] || npm run --prefix ui --silent build >/dev/null
started=$(date +%s)
cargo build --quiet --release -p daypass-tunnel --bins -p daypass-broker -p daypass-gateway \
  -p daypass-desktop --features daypass-desktop/custom-protocol
echo "release build: $(( $(date +%s) - started ))s"
bash installers/lib/check-glibc.sh 2.34 "$DAYPASS_RELEASE_DIR"/{daypass-tunneld,daypass,daypass-broker,daypass-gateway,daypass-desktop}

echo "== Linux packages"
package_docs daypass-tunneld daypass-tunnel
package_docs daypass-gateway daypass-gateway
package_docs daypass-broker daypass-broker
package_docs daypass-desktop daypass-desktop
nfpm_packages
desktop_packages

echo "== repositories (apt, dnf/yum)"
rpm_repository
apt_repository

echo "== Windows installer"
windows_installer
echo "== macOS packaging kit and MDM templates"
macos_kit
mdm_templates

echo "== checksums and signatures"
(cd "$out" && find packages mdm -type f ! -name '*.minisig' | sort | xargs sha256sum > SHA256SUMS)
mapfile -t artifacts < <(cd "$out" && find packages mdm -type f ! -name '*.minisig' | sort)
(cd "$out" && minisign_files SHA256SUMS "${artifacts[@]}")
echo "built in $out:"
(cd "$out" && for f in "${artifacts[@]}"; do printf '  %8s  %s\n' "$(du -k "$f" | cut -f1)K" "$f"; done)
