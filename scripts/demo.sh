#!/usr/bin/env bash
# Runs Daypass on this machine on embedded defaults: the access broker on SQLite with a seeded demo
# organisation and built-in tickets, over TLS on 127.0.0.1:8443. It prints what to try next.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup) first" >&2; exit 2; }
if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends curl ca-certificates >/dev/null
fi
data_dir=${DAYPASS_DEMO_DIR:-/var/tmp/daypass-demo}
echo "== building and starting daypass-broker (the first build takes a few minutes)"
exec cargo run --quiet -p daypass-broker -- --data-dir "$data_dir" demo "$@"
