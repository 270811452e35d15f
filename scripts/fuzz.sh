#!/usr/bin/env bash
# Fuzzes the posture parsers with libFuzzer for SECONDS (default 60), seeded with every answer the
# fixtures hold. Runs on the stable toolchain: the coverage instrumentation cargo-fuzz would add is
# passed by hand (no sanitizer, which would need nightly). A crash exits non-zero and leaves the
# input under /var/tmp/daypass-fuzz-crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR=${DAYPASS_FUZZ_TARGET_DIR:-/var/tmp/daypass-fuzz-target}
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --quiet --manifest-path posture/fuzz/Cargo.toml --release --target "$target" --bin parsers

corpus=$(mktemp -d /tmp/daypass-fuzz-corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
n=0
while IFS= read -r -d '' f; do
  cp "$f" "$corpus/seed-$((n += 1))"
done < <(find posture/tests/fixtures -type f -print0)
echo "== fuzzing the posture parsers for ${seconds}s from $n fixture seeds"
log="$corpus.log"
if ! "$CARGO_TARGET_DIR/$target/release/parsers" -max_total_time="$seconds" -max_len=8192 -timeout=5 \
  -print_final_stats=1 -artifact_prefix=/var/tmp/daypass-fuzz-crash- "$corpus" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "the posture parsers crashed or hung under fuzzing: the input is in /var/tmp/daypass-fuzz-crash-*" >&2
  exit 1
fi
tail -n 6 "$log"
rm -f "$log"
