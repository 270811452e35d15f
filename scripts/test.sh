#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian 12 machine, as root:
# installs what the tests need, starts a private PostgreSQL on loopback for the storage tests,
# runs rustfmt, clippy and the tests, and stops PostgreSQL again whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/packages.sh
need_product_packages
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
command -v ss >/dev/null && command -v ip >/dev/null || need_packages+=(iproute2)  # network namespaces, free ports
command -v keyctl >/dev/null || need_packages+=(keyutils)  # the device-key tests use a session keyring
command -v c++ >/dev/null || need_packages+=(g++)  # libFuzzer, for scripts/fuzz.sh
command -v chromium >/dev/null || need_packages+=(chromium)  # passkeys in a real browser (DevTools virtual authenticator)
command -v openssl >/dev/null || need_packages+=(openssl)  # the browser test pins the broker's certificate by its key
command -v python3 >/dev/null || need_packages+=(python3)  # scripts/module-cycles.py, Schemathesis
python3 -c 'import ensurepip' 2>/dev/null || need_packages+=(python3-venv)  # Schemathesis's and scim2-tester's virtualenvs
command -v x86_64-w64-mingw32-gcc >/dev/null || need_packages+=(gcc-mingw-w64-x86-64)  # the Windows build
command -v clang-14 >/dev/null || need_packages+=(clang-14)  # Objective-C helpers in the macOS type check
command -v mmdebstrap >/dev/null || need_packages+=(mmdebstrap)  # the installers' clean Debian root
command -v systemd-analyze >/dev/null || need_packages+=(systemd)  # the units' exposure and verify
command -v gpgv >/dev/null || need_packages+=(gpgv)
command -v rsyslogd >/dev/null || need_packages+=(rsyslog)  # the SIEM feed's syslog collector
ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 || need_packages+=(rsyslog-gnutls)  # … over TLS
install_needed_packages
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
cross_targets=(x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin)
for t in "${cross_targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t" \
    || { echo "could not install the Rust target $t needed to type-check Windows/macOS code" >&2; exit 2; }
done

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/daypass-pg.XXXXXX)
# The first free port from 55432 on (another PostgreSQL, e.g. a run before this one, may hold one).
port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }
pg_port=${DAYPASS_TEST_PG_PORT:-}
if [ -z "$pg_port" ]; then
  pg_port=55432
  while port_in_use "$pg_port"; do pg_port=$((pg_port + 1)); done
fi
chown postgres:postgres "$pg_dir"
as_postgres() { runuser -u postgres -- "$@"; }
stop_postgres() {
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap stop_postgres EXIT

echo "== starting PostgreSQL ($pg_bin) on 127.0.0.1:$pg_port"
as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w start \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" >/dev/null \
  || { cat "$pg_dir/log" >&2; echo "PostgreSQL did not start on port $pg_port (set DAYPASS_TEST_PG_PORT to another)" >&2; exit 1; }
export DAYPASS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"

# promtool (Prometheus's own checker) lints the metrics the e2e tests scrape. It is taken out of
# Debian's prometheus package without installing it: installing would start a Prometheus server.
promtool_dir=/var/tmp/daypass-tools/promtool
if [ ! -x "$promtool_dir/usr/bin/promtool" ]; then
  echo "== fetching promtool from Debian's prometheus package"
  rm -rf "$promtool_dir" && mkdir -p "$promtool_dir/deb" && chmod 777 "$promtool_dir/deb"
  (cd "$promtool_dir/deb" && { apt-get download -qq prometheus || { apt-get update -qq && apt-get download -qq prometheus; }; })
  dpkg-deb -x "$promtool_dir"/deb/prometheus_*.deb "$promtool_dir/unpacked"
  mv "$promtool_dir/unpacked/usr" "$promtool_dir/usr" && rm -rf "$promtool_dir/deb" "$promtool_dir/unpacked"
fi
export DAYPASS_PROMTOOL="$promtool_dir/usr/bin/promtool"

echo "== the desktop app's window (ui/): install, type-check, build (Tauri embeds ui/dist)"
build_window

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
# The software passkey authenticator is built into the test binaries only (the e2e tests enroll with it).
features=(--features daypass-tunnel/soft-authenticator,daypass-desktop/soft-authenticator)
cargo clippy --workspace --all-targets "${features[@]}" --quiet -- -D warnings
echo "== layering: the app links no privileged code, the broker's domain no I/O"
# Every target's dependencies count (--target all): what would be linked on Windows or macOS too.
forbid_dependencies() {
  local package=$1; shift
  local linked; linked=$(cargo tree -q -p "$package" -e normal --target all --prefix none | awk '{print $1}' | sort -u)
  for crate in "$@"; do
    if grep -qx "$crate" <<<"$linked"; then
      echo "$package must not depend on $crate: $(cargo tree -q -p "$package" -e normal --target all -i "$crate" | head -n 5 | tr '\n' ' ')" >&2
      exit 1
    fi
  done
}
forbid_dependencies daypass-desktop daypass-tunnel daypass-posture wireguard-control wireguard-nt keyring
forbid_dependencies daypass-client daypass-tunnel daypass-posture wireguard-control wireguard-nt keyring
echo "== unsafe: forbidden everywhere but platform/windows (daypass-winffi)"
for manifest in $(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; [print(p["manifest_path"]) for p in json.load(sys.stdin)["packages"]]'); do
  case "$manifest" in */platform/windows/Cargo.toml) continue ;; esac
  grep -Pzq '\[lints\]\nworkspace = true' "$manifest" \
    || { echo "$manifest does not take the workspace lints (unsafe_code = forbid)" >&2; exit 1; }
done
forbid_dependencies daypass-broker-domain tokio sqlx axum reqwest webauthn-rs daypass-broker-core
forbid_dependencies daypass-broker-core axum maud daypass-broker-web
forbid_dependencies daypass-proto reqwest rustls clap tokio
echo "== licences, sources and bans of every crate shipped (scripts/licences.py, and its own tests)"
python3 scripts/licences.py check
(cd scripts && python3 -B -m unittest -q test_licences)
python3 scripts/module-cycles.py proto/src https/src posture/src client/src private-file/src logging/src platform/windows/src broker/domain/src broker/core/src \
  broker/web/src broker/src gateway/src tunnel/src src-tauri/src tests/src
echo "== Windows: clippy on the client side (the tunnel service, the CLI, the app, the one crate with unsafe)"
cargo clippy --quiet --target x86_64-pc-windows-gnu -p daypass-winffi -p daypass-client -p daypass-tunnel \
  -p daypass-desktop -p daypass-posture --all-targets --features daypass-client/security-key -- -D warnings
cargo clippy --quiet --target x86_64-pc-windows-gnu -p daypass-winffi -- -D warnings  # as the app links it: no WireGuardNT
echo "== Windows: the release build IT packages (scripts/windows-build.sh)"
bash scripts/windows-build.sh
echo "== macOS: type-check the probes, the tunnel backend, the CLI and the app"
# clang compiles objc2's small Objective-C helper; there is no Apple SDK here, so the app is checked
# without desktop notifications (mac-notification-sys needs AppKit) and tunneld's HTTPS client (ring
# needs the SDK's libc headers) is left out: daypass-tunneld itself is not type-checked for macOS.
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  export "CC_${t//-/_}=clang-14"
  cargo clippy --quiet --target "$t" -p daypass-posture -- -D warnings
  cargo clippy --quiet --target "$t" -p daypass-tunnel --lib --bin daypass --no-default-features --features security-key -- -D warnings
  cargo clippy --quiet --target "$t" -p daypass-client --features security-key -- -D warnings
  cargo clippy --quiet --target "$t" -p daypass-desktop --no-default-features -- -D warnings
done
echo "== fuzz the posture parsers"
bash scripts/fuzz.sh "${DAYPASS_FUZZ_SECONDS:-30}"
echo "== the window's unit tests (Vitest) and every screen in Chromium against a mocked IPC (Playwright)"
npm test --prefix ui --silent
DAYPASS_ARTIFACTS="${CARGO_TARGET_DIR:-target}/debug/test-artifacts/desktop-screens" npm run --prefix ui --silent e2e
echo "== Playwright for the console tests (Debian's Chromium; no browser download)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/console --no-audit --no-fund --loglevel=error
echo "== tests"
cargo build --quiet --workspace --bins "${features[@]}"  # the end-to-end tests run the binaries
cargo test --workspace "${features[@]}"
echo "== the API document against a seeded broker (Schemathesis: statuses, content types, schemas, no 5xx)"
bash scripts/api-contract.sh "${DAYPASS_CONTRACT_EXAMPLES:-30}"
echo "== SCIM provisioning against RFC 7643/7644 (scim2-tester, over TLS with a SCIM token)"
bash scripts/scim-conformance.sh
echo "== installers: two release builds signed with throwaway keys, tested as IT would use them"
bash installers/tests/run.sh
