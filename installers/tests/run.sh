#!/usr/bin/env bash
# Builds the installers twice (installers/build.sh: this version, then the next patch version, both
# signed with one set of throwaway keys given as release keys would be) and tests them the way IT
# would use them, on Debian 12 as root:
#   bash installers/tests/run.sh
# Each check fails the run:
#   - the units: `systemd-analyze security` exposure (tunneld, gateway <= 2.5; broker <= 1.5) and
#     `systemd-analyze verify` printing nothing, in a root where the packages are installed
#   - every signature verifies and a tampered copy of each kind is refused (minisign, SHA256SUMS,
#     RPM, repomd.xml, apt InRelease, a .deb behind the apt repository, the Windows installer)
#   - a clean Debian root (mmdebstrap): the apt repository added with signed-by=, every package
#     installed, files, users, groups and enabled units checked; broker, gateway and tunneld run
#     as their units say (installers/tests/unit_sandbox.py) in a network namespace and answer;
#     the upgrade keeps configuration and state; purge leaves nothing; a repository signed by
#     another key is refused
#   - the RPMs: signatures, and installed with rpm --root (no RPM distribution root here)
# DAYPASS_KEEP_INSTALLERS_TEST=1 keeps its work directory (builds, the Debian root) to look into.
set -euo pipefail
cd "$(dirname "$0")/../.."
# What this test runs itself (installers/build.sh installs what building takes, but the throwaway
# keys are made before it runs).
source scripts/packages.sh
for tool in mmdebstrap:mmdebstrap gpgv:gpgv systemd-analyze:systemd curl:curl minisign:minisign gpg:gnupg openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null || need_packages+=("${tool#*:}")
done
install_needed_packages

work=$(mktemp -d /var/tmp/daypass-installers-test.XXXXXX)
netns=daypass-inst-$$
root=$work/root
service_pids=()
cleanup() {
  for pid in "${service_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$netns" 2>/dev/null || true
  for mount in $(awk -v r="$root" '$2 ~ "^"r { print $2 }' /proc/mounts | sort -r); do umount -l "$mount" 2>/dev/null || true; done
  if [[ -n ${DAYPASS_KEEP_INSTALLERS_TEST:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
in_root() { chroot "$root" "$@"; }

# A copy of FILE with one byte changed in its middle.
tampered() {
  local copy=$work/tampered-$(basename "$1") size
  cp "$1" "$copy"
  size=$(stat -c %s "$copy")
  printf '\x5a' | dd of="$copy" bs=1 seek=$((size / 2)) conv=notrunc status=none
  cmp -s "$1" "$copy" && printf '\x5b' | dd of="$copy" bs=1 seek=$((size / 2)) conv=notrunc status=none
  echo "$copy"
}

echo "== two builds, one set of keys"
keys_env=$(bash installers/lib/throwaway-keys.sh "$work/keys")  # fails the test if a key cannot be made
eval "$keys_env"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
out=$work/out newer=$work/newer
bash installers/build.sh "$out" > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "installers/build.sh"; }
DAYPASS_VERSION=${version%.*}.$((${version##*.} + 1)) bash installers/build.sh "$newer" > "$work/build-newer.log" 2>&1 \
  || { tail -n 40 "$work/build-newer.log"; fail "installers/build.sh (the newer version)"; }
ok "built $version and ${version%.*}.$((${version##*.} + 1)): $(grep -c 'K  packages/' "$work/build.log") packages each"
[[ ! -e $out/keys/THROWAWAY ]] || fail "keys given by the environment were not used"

echo "== units: exposure"
# --threshold counts tenths: the exposure shown as 2.5 is 25.
for unit in tunneld:25 gateway:25 broker:15; do
  name=daypass-${unit%%:*}
  systemd-analyze security --offline=true --threshold="${unit#*:}" "installers/linux/systemd/$name.service" >/dev/null \
    || fail "$name: $(systemd-analyze security --offline=true "installers/linux/systemd/$name.service" | tail -n 1), above ${unit#*:}/10"
  ok "$name: $(systemd-analyze security --offline=true "installers/linux/systemd/$name.service" | tail -n 1)"
done

echo "== the macOS kit and the MDM templates: syntax (no Mac here to build or load them)"
for script in installers/macos/scripts/preinstall installers/macos/scripts/postinstall; do
  sh -n "$script" || fail "$script"
done
bash -n installers/macos/build-pkg.sh || fail "build-pkg.sh"
python3 - installers/macos/entitlements.plist installers/macos/com.daypass.tunneld.plist \
  installers/macos/com.daypass.desktop.mobileconfig <<'PY' || fail "a macOS property list does not parse"
import plistlib, sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        plistlib.load(f)
PY
python3 -c 'import sys, xml.dom.minidom as m; [m.parse(p) for p in sys.argv[1:]]' installers/macos/distribution.xml \
  installers/windows/policy/daypass.admx installers/windows/policy/en-US/daypass.adml || fail "an XML file does not parse"
grep -q "scripts/postinstall" <<<"$(tar -tzf "$out/packages/daypass-macos-$version.tar.gz")" || fail "the macOS kit lacks its scripts"
ok "macOS pkg scripts, build-pkg.sh, property lists, distribution and ADMX/ADML parse"

echo "== the packages start a service only once its settings are complete (lifecycle.sh's all_set)"
configured_test=$work/tunneld.env
cp installers/linux/etc/tunneld.env "$configured_test"
! sh -c '. installers/linux/scripts/lifecycle.sh; all_set "$1" DAYPASS_BROKER_URL DAYPASS_DEVICE' - "$configured_test" \
  || fail "the shipped tunneld.env counts as configured"
sed -i -e 's|^DAYPASS_BROKER_URL=.*|DAYPASS_BROKER_URL=https://b.example|' -e 's|^DAYPASS_DEVICE=.*|DAYPASS_DEVICE=d1|' "$configured_test"
sh -c '. installers/linux/scripts/lifecycle.sh; all_set "$1" DAYPASS_BROKER_URL DAYPASS_DEVICE' - "$configured_test" \
  || fail "a filled-in tunneld.env does not count as configured"
ok "all_set: the shipped tunneld.env is incomplete (service not started), a filled-in one complete"

echo "== signatures, and tampered copies refused"
(cd "$out" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the artifacts"
minisign -Vqm "$out/SHA256SUMS" -p "$out/keys/minisign.pub" || fail "SHA256SUMS.minisig"
mapfile -t artifacts < <(cd "$out" && find packages mdm -type f ! -name '*.minisig' | sort)
for artifact in "${artifacts[@]}"; do
  minisign -Vqm "$out/$artifact" -p "$out/keys/minisign.pub" || fail "minisign signature of $artifact"
  bad=$(tampered "$out/$artifact")
  cp "$out/$artifact.minisig" "$bad.minisig"
  ! minisign -Vqm "$bad" -p "$out/keys/minisign.pub" 2>/dev/null || fail "a tampered $artifact passed minisign"
  (cd "$out" && sha256sum "$artifact") | sed "s|  .*|  $bad|" | sha256sum --quiet -c >/dev/null 2>&1 \
    && fail "a tampered $artifact matched SHA256SUMS"
done
ok "minisign and SHA256SUMS: ${#artifacts[@]} artifacts, tampered copies refused"

rpmdb=$work/rpmdb
mkdir -p "$rpmdb"
rpmkeys --dbpath "$rpmdb" --import "$out/keys/RPM-GPG-KEY-daypass"
for rpm in "$out"/packages/*.rpm; do
  grep -q 'digests signatures OK' <<<"$(rpmkeys --dbpath "$rpmdb" --checksig "$rpm")" || fail "$(basename "$rpm") is not signed"
  ! rpmkeys --dbpath "$rpmdb" --checksig "$(tampered "$rpm")" >/dev/null 2>&1 || fail "a tampered $(basename "$rpm") passed"
done
empty_rpmdb=$work/empty-rpmdb && mkdir -p "$empty_rpmdb"
! rpmkeys --dbpath "$empty_rpmdb" --checksig "$out"/packages/daypass-broker*.rpm >/dev/null 2>&1 \
  || fail "an RPM verified without its key imported"
ok "RPMs signed; tampered copies and unknown keys refused"

gpg_keyring=$out/keys/daypass-archive-keyring.gpg
repomd=$out/repo/rpm/repodata/repomd.xml
gpgv --quiet --keyring "$gpg_keyring" "$repomd.asc" "$repomd" 2>/dev/null || fail "repomd.xml.asc"
! gpgv --quiet --keyring "$gpg_keyring" "$repomd.asc" "$(tampered "$repomd")" 2>/dev/null || fail "a tampered repomd.xml passed"
release=$out/repo/apt/dists/stable
gpgv --quiet --keyring "$gpg_keyring" "$release/InRelease" 2>/dev/null || fail "InRelease"
gpgv --quiet --keyring "$gpg_keyring" "$release/Release.gpg" "$release/Release" 2>/dev/null || fail "Release.gpg"
! gpgv --quiet --keyring "$gpg_keyring" "$(tampered "$release/InRelease")" 2>/dev/null || fail "a tampered InRelease passed"
ok "repository metadata signed; tampered copies refused"

setup=$(ls "$out"/packages/Daypass-Setup-*-x64.exe)
osslsigncode verify -CAfile "$work/keys/authenticode-ca.pem" -in "$setup" >/dev/null || fail "$setup signature"
! osslsigncode verify -CAfile "$work/keys/authenticode-ca.pem" -in "$(tampered "$setup")" >/dev/null 2>&1 \
  || fail "a tampered Windows installer passed"
ok "Windows installer Authenticode-signed; a tampered copy refused"

echo "== a clean Debian 12 root"
mmdebstrap --quiet --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates bookworm "$root" \
  http://deb.debian.org/debian
cp -r "$out/repo" "$root/srv/repo-old" && cp -r "$newer/repo" "$root/srv/repo-new"
install -m 0644 "$gpg_keyring" "$root/usr/share/keyrings/daypass-archive-keyring.gpg"
use_repository() {
  echo "deb [signed-by=/usr/share/keyrings/daypass-archive-keyring.gpg] file:/srv/$1/apt stable main" \
    > "$root/etc/apt/sources.list.d/daypass.list"
  in_root apt-get update -qq 2>&1 | tee "$work/apt-update.log"
  ! grep -q '^[WE]:' "$work/apt-update.log" || fail "apt-get update complained about the Daypass repository"
}

# A repository signed by another key is refused.
mkdir -p "$root/srv/repo-other"
cp -r "$out/repo/apt" "$root/srv/repo-other/apt"
other_home=$work/other-gnupg && install -d -m 0700 "$other_home"
GNUPGHOME=$other_home gpg --batch --quiet --passphrase '' --quick-gen-key "Someone else <x@example.com>" ed25519 sign 1d
GNUPGHOME=$other_home gpg --batch --yes --clearsign -o "$root/srv/repo-other/apt/dists/stable/InRelease" \
  "$root/srv/repo-other/apt/dists/stable/Release"
rm "$root/srv/repo-other/apt/dists/stable/Release.gpg"
echo "deb [signed-by=/usr/share/keyrings/daypass-archive-keyring.gpg] file:/srv/repo-other/apt stable main" \
  > "$root/etc/apt/sources.list.d/daypass.list"
in_root apt-get update -qq > "$work/other.log" 2>&1 || true
grep -q "NO_PUBKEY\|not signed\|is not signed" "$work/other.log" || { cat "$work/other.log"; fail "a repository signed by another key was not refused"; }
! in_root apt-cache show daypass-broker >/dev/null 2>&1 || fail "a package from the other-key repository became installable"
ok "a repository signed by another key is refused (NO_PUBKEY)"

# A .deb changed behind the repository's back is refused.
cp -r "$out/repo/apt" "$root/srv/repo-other/apt-tampered"
use_repository repo-old
deb=$(ls "$root"/srv/repo-old/apt/pool/main/daypass-broker_*.deb)
cp "$deb" "$work/broker.deb" && cp "$(tampered "$deb")" "$deb"
in_root apt-get install -y -qq --no-install-recommends daypass-broker > "$work/tampered.log" 2>&1 \
  && fail "a tampered .deb was installed"
grep -qi "hash sum mismatch\|size mismatch" "$work/tampered.log" || { cat "$work/tampered.log"; fail "no hash mismatch reported for a tampered .deb"; }
cp "$work/broker.deb" "$deb"
ok "a tampered .deb behind the signed repository is refused"

echo "== install every package from the signed repository"
in_root useradd -m alice && in_root useradd -m mallory
SUDO_USER=alice in_root env DEBIAN_FRONTEND=noninteractive SUDO_USER=alice \
  apt-get install -y -qq daypass-broker daypass-gateway daypass-tunneld daypass-desktop curl > "$work/install.log" 2>&1 \
  || { tail -n 30 "$work/install.log"; fail "apt-get install"; }
grep -q "added alice to the daypass group" "$work/install.log" || fail "tunneld's postinst did not add the installing user"
for f in /usr/bin/daypass-broker /usr/bin/daypass-gateway /usr/bin/daypass-tunneld /usr/bin/daypass \
         /usr/bin/daypass-desktop /etc/daypass/broker.toml /etc/daypass/gateway.env /etc/daypass/tunneld.env \
         /etc/daypass/broker/tls.key /etc/daypass/gateway/wireguard.key \
         /usr/share/doc/daypass-tunneld/THIRD-PARTY-NOTICES.txt /usr/share/doc/daypass-gateway/LGPL-NOTICE \
         /usr/share/doc/daypass-gateway/wireguard-control-source.tar.gz /usr/share/doc/daypass-desktop/THIRD-PARTY-NOTICES.txt \
         /usr/share/doc/daypass-broker/monitoring/grafana-dashboard.json; do
  [[ -e $root$f ]] || fail "$f is not installed"
done
[[ $(stat -c %a "$root/etc/daypass/broker/tls.key") == 600 ]] || fail "the broker's TLS key is not 0600"
[[ $(in_root stat -c %a:%U:%G /etc/daypass/broker.toml) == 640:root:daypass-broker ]] \
  || fail "broker.toml is $(in_root stat -c %a:%U:%G /etc/daypass/broker.toml), not 0640 root:daypass-broker"
in_root getent passwd daypass-broker >/dev/null || fail "no daypass-broker user"
in_root getent passwd daypass-gw >/dev/null || fail "no daypass-gw user"
grep -qw daypass <<<"$(in_root id -nG alice)" || fail "alice is not in the daypass group"
for unit in daypass-broker daypass-gateway daypass-tunneld; do
  [[ -L $root/etc/systemd/system/multi-user.target.wants/$unit.service ]] || fail "$unit is not enabled"
done
grep -q "/etc/daypass/tunneld.env" "$root/var/lib/dpkg/info/daypass-tunneld.conffiles" || fail "tunneld.env is not a conffile"
ok "installed: binaries, configuration (conffiles), keys 0600, users, group membership, units enabled"

echo "== units verify in the installed root"
verify_output=$(systemd-analyze verify --root="$root" \
  /usr/lib/systemd/system/daypass-broker.service /usr/lib/systemd/system/daypass-gateway.service \
  /usr/lib/systemd/system/daypass-tunneld.service 2>&1) || true
[[ -z $verify_output ]] || fail "systemd-analyze verify: $verify_output"
ok "systemd-analyze verify: no output"

echo "== the services, run as their units say, in a network namespace"
ip netns add "$netns"
ip -n "$netns" link set lo up
start_service() {
  python3 installers/tests/unit_sandbox.py "$root" "$1" "$netns" > "$work/$1.log" 2>&1 &
  service_pids+=($!)
}
# wait_for WHAT SERVICE COMMAND...: COMMAND succeeds within 20 s, or the run fails with the service's log.
wait_for() {
  local what=$1 service=$2; shift 2
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "$what: $(tail -n 5 "$work/$service.log")"
}
in_ns() { ip netns exec "$netns" "$@"; }
start_service daypass-broker
broker_pid=${service_pids[-1]}
wait_for "the broker did not answer on 8443" daypass-broker \
  in_ns curl -fsS --cacert "$root/etc/daypass/broker/tls.crt" https://localhost:8443/api/v1/broker-key
broker_key=$(in_ns curl -fsS --cacert "$root/etc/daypass/broker/tls.crt" https://localhost:8443/api/v1/broker-key \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
[[ $(in_root stat -c %U /var/lib/daypass-broker/broker-signing.key) == daypass-broker ]] \
  || fail "the broker's signing key is not its own user's"
grep -q "CapEff:[[:space:]]*0000000000000000" "/proc/$broker_pid/status" || fail "the broker runs with capabilities"
grep -q "NoNewPrivs:[[:space:]]*1" "/proc/$broker_pid/status" || fail "the broker may gain privileges"
ok "broker: serves TLS with the package's certificate as daypass-broker, no capabilities"

gateway_public=$(sed -n 's/.*--wireguard-key: //p' "$work/install.log")
[[ -n $gateway_public ]] || fail "the gateway's postinst printed no public key"
token=$(in_root runuser -u daypass-broker -- daypass-broker --config /etc/daypass/broker.toml \
  --data-dir /var/lib/daypass-broker --json admin gateway add gw-1 --endpoint 10.9.0.1:51820 \
  --wireguard-key "$gateway_public" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"])')
(umask 077 && printf '%s' "$token" > "$root/etc/daypass/gateway/token")
install -m 0644 "$root/etc/daypass/broker/tls.crt" "$root/etc/daypass/broker-ca.pem"
sed -i -e "s|^DAYPASS_BROKER_URL=.*|DAYPASS_BROKER_URL=https://localhost:8443|" \
  -e "s|^DAYPASS_BROKER_KEY=.*|DAYPASS_BROKER_KEY=$broker_key|" \
  -e "s|^#DAYPASS_BROKER_CA=.*|DAYPASS_BROKER_CA=/etc/daypass/broker-ca.pem|" \
  -e "s|^DAYPASS_GATEWAY_NAME=.*|DAYPASS_GATEWAY_NAME=gw-1|" "$root/etc/daypass/gateway.env"
start_service daypass-gateway
gateway_pid=${service_pids[-1]}
gateway_connected() { grep -q '"broker":"connected"' <<<"$(in_ns curl -fsS http://127.0.0.1:9108/health)"; }
wait_for "the gateway did not report its broker link connected on /health" daypass-gateway gateway_connected
wait_for "the gateway made no WireGuard interface" daypass-gateway in_ns ip link show daypass0
grep -q "CapEff:[[:space:]]*0000000000001000" "/proc/$gateway_pid/status" || fail "the gateway's capabilities are not CAP_NET_ADMIN alone"
[[ $(stat -c %u "/proc/$gateway_pid") == "$(in_root id -u daypass-gw)" ]] || fail "the gateway does not run as daypass-gw"
grep -qx "daypass_gateway_streams 1" <<<"$(in_ns curl -fsS http://127.0.0.1:9464/metrics)" \
  || fail "the broker's metrics (metrics_listen in the packaged broker.toml) do not count the gateway's stream"
grep -qx "daypass_gateway_broker_connected 1" <<<"$(in_ns curl -fsS http://127.0.0.1:9108/metrics)" \
  || fail "the gateway's metrics do not say its broker link is connected"
ok "gateway: as daypass-gw with CAP_NET_ADMIN alone: WireGuard up, following the broker (health, metrics on both ends)"

sed -i -e "s|^DAYPASS_BROKER_URL=.*|DAYPASS_BROKER_URL=https://localhost:8443|" \
  -e "s|^DAYPASS_BROKER_KEY=.*|DAYPASS_BROKER_KEY=$broker_key|" \
  -e "s|^#DAYPASS_BROKER_CA=.*|DAYPASS_BROKER_CA=/etc/daypass/broker-ca.pem|" \
  -e "s|^DAYPASS_DEVICE=.*|DAYPASS_DEVICE=laptop-1|" "$root/etc/daypass/tunneld.env"
start_service daypass-tunneld
tunneld_pid=${service_pids[-1]}
as_in_service() { nsenter -t "$tunneld_pid" -m -n chroot "$root" runuser -u "$1" -- daypass "${@:2}"; }
wait_for "tunneld's socket did not answer alice" daypass-tunneld as_in_service alice status
as_in_service alice status > "$work/status.txt" 2>&1 || fail "daypass status for alice: $(cat "$work/status.txt")"
if as_in_service mallory status > "$work/mallory.txt" 2>&1; then fail "mallory (not in the daypass group) was served"; fi
grep -q "CapEff:[[:space:]]*0000000000001000" "/proc/$tunneld_pid/status" || fail "tunneld's capabilities are not CAP_NET_ADMIN alone"
ok "tunneld: CAP_NET_ADMIN alone; serves alice (daypass group), refuses mallory"
for pid in "${service_pids[@]}"; do kill "$pid"; done
for pid in "${service_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
service_pids=()

echo "== upgrade keeps configuration and state"
echo "# changed by IT" >> "$root/etc/daypass/broker.toml"
signing_key=$(sha256sum < "$root/var/lib/daypass-broker/broker-signing.key")
use_repository repo-new
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confold \
  daypass-broker daypass-gateway daypass-tunneld daypass-desktop > "$work/upgrade.log" 2>&1 \
  || { tail -n 30 "$work/upgrade.log"; fail "the upgrade"; }
new_version=$(in_root dpkg-query -W -f '${Version}' daypass-broker)
[[ $new_version == "$(cd "$newer/packages" && ls daypass-broker_*.deb | sed 's/daypass-broker_\(.*\)_amd64.deb/\1/')" ]] \
  || fail "daypass-broker is at $new_version after the upgrade"
grep -q "# changed by IT" "$root/etc/daypass/broker.toml" || fail "the upgrade lost IT's broker.toml"
[[ $(sha256sum < "$root/var/lib/daypass-broker/broker-signing.key") == "$signing_key" ]] || fail "the upgrade changed the broker's key"
[[ -s $root/etc/daypass/gateway/token ]] || fail "the upgrade lost the gateway's token"
grep -q "DAYPASS_DEVICE=laptop-1" "$root/etc/daypass/tunneld.env" || fail "the upgrade lost tunneld.env"
ok "upgraded to $new_version: configuration, keys and state kept"

echo "== purge leaves nothing behind"
rm "$root/etc/daypass/broker-ca.pem"  # the test's own file (dpkg keeps files it did not install)
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq daypass-desktop daypass-tunneld daypass-gateway daypass-broker \
  > "$work/purge.log" 2>&1 || { tail -n 30 "$work/purge.log"; fail "apt-get purge"; }
left=$(cd "$root" && ls -d etc/daypass var/lib/daypass var/lib/daypass-broker var/lib/daypass-gateway \
  usr/bin/daypass* usr/lib/systemd/system/daypass-* etc/systemd/system/multi-user.target.wants/daypass-* \
  usr/lib/sysusers.d/daypass-* usr/share/doc/daypass-* 2>/dev/null || true)
[[ -z $left ]] || fail "left after purge: $left"
! in_root getent passwd daypass-broker >/dev/null || fail "daypass-broker user left after purge"
! in_root getent group daypass >/dev/null || fail "daypass group left after purge"
ok "purged: no files, units, users or groups left"

echo "== RPMs install into an empty root (rpm --root; files only: no RPM distribution here)"
rpmroot=$work/rpmroot
mkdir -p "$rpmroot"
rpm --root "$rpmroot" --initdb
rpm --root "$rpmroot" --import "$out/keys/RPM-GPG-KEY-daypass"
rpm --root "$rpmroot" -i --nodeps --noscripts "$out"/packages/*.rpm
for f in /usr/bin/daypass-broker /usr/bin/daypass-gateway /usr/bin/daypass-tunneld /usr/bin/daypass-desktop \
         /usr/lib/systemd/system/daypass-tunneld.service /etc/daypass/broker.toml; do
  [[ -e $rpmroot$f ]] || fail "$f missing after rpm --root install"
done
grep -qx /etc/daypass/broker.toml <<<"$(rpm --root "$rpmroot" -qc daypass-broker)" || fail "broker.toml is not an RPM config file"
ok "RPMs: installed into a root, config files marked"
echo "installers: all checks passed"
