#!/usr/bin/env bash
# SCIM conformance: an outside tester (scim2-tester, from PyPI, in a private virtualenv) checks the
# broker's /scim/v2 against RFC 7643/7644 over TLS with a real SCIM token: discovery, create, read,
# list with attributes, replace, PATCH add/replace/remove of every attribute (the extensions' too),
# delete. Prints RESULT scim2-tester passed=N failed=N skipped=N; any failed check fails the run.
# Usage: scripts/scim-conformance.sh   (needs the built daypass-broker)
set -euo pipefail
cd "$(dirname "$0")/.."

tester_version=0.5.2
venv=/var/tmp/daypass-tools/scim2-tester-$tester_version
broker=${CARGO_TARGET_DIR:-target}/debug/daypass-broker
[[ -x $broker ]] || { echo "build the broker first: cargo build -p daypass-broker" >&2; exit 2; }

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
  echo "== installing scim2-tester $tester_version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "scim2-tester==$tester_version" "scim2-client[httpx2]==0.13.2" "scim2-models==0.12.3"
fi

data=$(mktemp -d /tmp/daypass-scim.XXXXXX)
port=${DAYPASS_SCIM_PORT:-18743}
broker_pid=
stop_broker() {
  [[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$data"
}
trap stop_broker EXIT

# The token stays in the environment, never on a command line.
DAYPASS_SCIM_TOKEN=$("$broker" --data-dir "$data" --json admin scim-token issue scim2-tester --ttl 1h |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
export DAYPASS_SCIM_TOKEN
"$broker" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$data/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 60); do
  curl -sfk "https://127.0.0.1:$port/api/v1/health" >/dev/null && break
  kill -0 "$broker_pid" 2>/dev/null || { cat "$data/broker.log" >&2; exit 1; }
  sleep 0.5
done
"$venv/bin/python" tests/scim/conformance.py "https://localhost:$port/scim/v2" "$data/broker-cert.pem"
