#!/usr/bin/env bash
# Compile-time benchmark: how long `daypass-broker` takes to rebuild after one console page's text
# changes (the edit a console change makes), with and without incremental compilation, three runs
# each. Run it on a checkout (default: this one) whose build is otherwise up to date; the page is put
# back afterwards. Before the broker split the page was broker/src/console/admin.rs.
#   bash scripts/bench-rebuild.sh [CHECKOUT]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
page=broker/web/src/console/admin.rs
[[ -f $page ]] || page=broker/src/console/admin.rs
grep -q '{ "Live access (' "$page" || { echo "$page no longer has the heading this edits" >&2; exit 2; }
kept=$(mktemp); cp "$page" "$kept"; trap 'cp "$kept" "$page"; rm -f "$kept"' EXIT
build() { CARGO_INCREMENTAL=$1 cargo build -q -p daypass-broker --bin daypass-broker; }
for incremental in 1 0; do
  cp "$kept" "$page"; build "$incremental"
  for run in 1 2 3; do
    sed -i "s/{ \"Live access[0-9]* (\"/{ \"Live access$run (\"/" "$page"
    start=$(date +%s.%N); build "$incremental"; end=$(date +%s.%N)
    awk -v i="$incremental" -v r="$run" -v s="$start" -v e="$end" 'BEGIN { printf "incremental=%s run %s: %.2f s\n", i, r, e - s }'
  done
done
