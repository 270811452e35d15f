#!/usr/bin/env bash
# Fails when a Linux binary needs a newer glibc than MAX (e.g. 2.34: Ubuntu 22.04 has 2.35, RHEL 9
# has 2.34), reading the GLIBC_x.y symbol versions it imports.
#   check-glibc.sh MAX BINARY...
set -euo pipefail
max=${1:?usage: check-glibc.sh MAX BINARY...}; shift
status=0
for binary in "$@"; do
  newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  if [[ $(printf '%s\n%s\n' "$newest" "$max" | sort -V | tail -n 1) != "$max" ]]; then
    echo "$binary needs glibc $newest, newer than $max: it would not start on Ubuntu 22.04 / RHEL 9" >&2
    status=1
  else
    echo "$(basename "$binary"): glibc $newest at most"
  fi
done
exit $status
