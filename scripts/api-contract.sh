#!/usr/bin/env bash
# The broker's API document against the broker itself: an outside OpenAPI fuzzer (Schemathesis, from
# PyPI, in a private virtualenv) generates calls from /api/v1/openapi.json and sends them to a freshly
# seeded demo broker with each role's real token. Every status, content type and body it answers must
# be the document's, schema-valid input must not be refused as malformed, and nothing may be a 5xx.
# Usage: scripts/api-contract.sh [EXAMPLES_PER_OPERATION]   (needs the built daypass-broker)
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-30}
schemathesis_version=4.32.5
venv=/var/tmp/daypass-tools/schemathesis-$schemathesis_version
broker=${CARGO_TARGET_DIR:-target}/debug/daypass-broker
[[ -x $broker ]] || { echo "build the broker first: cargo build -p daypass-broker" >&2; exit 2; }

if [[ ! -x $venv/bin/schemathesis ]]; then
  echo "== installing Schemathesis $schemathesis_version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

data=$(mktemp -d /tmp/daypass-api-contract.XXXXXX)
port=${DAYPASS_CONTRACT_PORT:-18643}
broker_pid=
stop_broker() {
  [[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$data"
}
trap stop_broker EXIT

"$broker" --data-dir "$data" demo --listen "127.0.0.1:$port" --plain-http >"$data/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break
  kill -0 "$broker_pid" 2>/dev/null || { cat "$data/broker.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null || { echo "the demo broker did not start" >&2; exit 1; }

# One run per role: the contractor, an approver, the admin, helpdesk and the auditor reach different
# answers of the same operations. Tokens stay in the environment; Schemathesis prints them filtered.
set -a; source "$data/demo-tokens.env"; set +a
for role in ANA BEN IDA HAL AUD; do
  token_var=${role}_TOKEN
  echo "== Schemathesis as ${role,,} ($examples examples per operation)"
  log="$data/schemathesis-${role,,}.txt"
  if "$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --header "Authorization: Bearer ${!token_var}" \
    --checks all --max-examples "$examples" --no-color >"$log" 2>&1; then
    grep -E "generated|passed" "$log" | tail -n 2
  else
    cat "$log"
    echo "the broker broke its API document (as ${role,,}): see above; replay with its seed" >&2
    exit 1
  fi
done
