#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --threads N gives the single-threaded output byte for byte: stdout, stderr
# and exit code, in every format, on every capture of the shared public corpus
# (../shared/corpus beside the checkout). See docs/performance.md.
#
#   scripts/threads_compare.sh [--corpus DIR] [--threads "1 2 3"]
#
# The binary is build/src/tcplife under the repo root unless TCPLIFE is set.
# Exits non-zero if any run differs. Last line: `threads-compare: N runs, M differ`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TCPLIFE="${TCPLIFE:-$ROOT/build/src/tcplife}"
CORPUS="$ROOT/../shared/corpus"
THREADS="1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    --corpus) CORPUS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    -h|--help) sed -n '3,10p' "$0"; exit 0 ;;
    *) echo "threads-compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TCPLIFE" ]; then
  echo "threads-compare: tcplife binary not found at $TCPLIFE (build first, or set TCPLIFE)" >&2
  exit 2
fi
if [ ! -d "$CORPUS/files" ]; then
  echo "threads-compare: no corpus at $CORPUS/files" >&2
  exit 2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run FILE FORMAT THREADS NAME: stdout, stderr and the exit code into $TMP/NAME.*
run() {
  local rc=0
  "$TCPLIFE" -q --color never --format "$2" --threads "$3" "$1" >"$TMP/$4.out" 2>"$TMP/$4.err" || rc=$?
  echo "$rc" >"$TMP/$4.rc"
}

runs=0 differ=0 files=0
while IFS= read -r -d '' f; do
  files=$((files + 1))
  for fmt in json ndjson text zeek; do
    run "$f" "$fmt" 0 one
    for t in $THREADS; do
      run "$f" "$fmt" "$t" many
      runs=$((runs + 1))
      for part in rc out err; do
        if ! cmp -s "$TMP/one.$part" "$TMP/many.$part"; then
          differ=$((differ + 1))
          echo "threads-compare: ${f#"$CORPUS"/} --format $fmt --threads $t: $part differs" >&2
          break
        fi
      done
    done
  done
done < <(find "$CORPUS/files" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
echo "threads-compare: $files captures, $runs runs, $differ differ"
[ "$differ" -eq 0 ]
