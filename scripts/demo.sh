#!/usr/bin/env bash
# Runs the whole of Daypass on this machine on embedded defaults, as root: the broker on SQLite
# with a demo organisation and built-in tickets, a gateway and a demo database in network
# namespaces (userspace WireGuard, nftables), daypass-tunneld, and the desktop app, in a window on
# your display or else on a virtual one. A contractor enrolls, requests access, gets it and loses
# it at expiry, in about two minutes; screenshots of each step are saved and their paths printed.
#   --broker-only   just the broker with the demo organisation on https://127.0.0.1:8443 (the API
#                   and the staff console), with curl commands to try; runs until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
data_dir=${DAYPASS_DEMO_DIR:-/var/tmp/daypass-demo}
if [[ "${1:-}" == "--broker-only" ]]; then
  shift
  command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup) first" >&2; exit 2; }
  command -v curl >/dev/null || need_packages+=(curl ca-certificates)
  install_needed_packages
  echo "== building and starting daypass-broker (the first build takes a few minutes)"
  exec cargo run --quiet -p daypass-broker -- --data-dir "$data_dir" demo "$@"
fi
need_product_packages
install_needed_packages
echo "== building the window and the binaries (the first build takes about ten minutes)"
build_window
cargo build --quiet --bins -p daypass-broker -p daypass-gateway -p daypass-tunnel -p daypass-desktop -p daypass-e2e \
  --features daypass-tunnel/soft-authenticator,daypass-desktop/soft-authenticator
mkdir -p "$data_dir"
DAYPASS_DEMO_DIR="$data_dir" exec "$CARGO_TARGET_DIR/debug/daypass-demo"
