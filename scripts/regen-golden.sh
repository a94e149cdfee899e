#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rewrites testdata/golden/<capture>.<fmt> for every capture in testdata/pcap
# by running the tcplife binary with the flags test/golden/output_golden_test.cpp
# uses for each format. Review the diff like code, and check new facts against
# the packets (tshark) before committing.
#   scripts/regen-golden.sh [path/to/tcplife]     (default: build/src/tcplife)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/src/tcplife}
[ -x "$bin" ] || { echo "regen-golden: no tcplife binary at $bin (build first)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# format suffix -> flags (keep in step with kGoldenFormats in output_golden_test.cpp)
formats=(
  "txt|--color never"
  "timeline.txt|--color never --timeline"
  "json|--json"
  "ndjson|--format ndjson"
  "timeline.ndjson|--format ndjson --timeline"
  "conn.log|--format zeek"
)

mkdir -p testdata/golden
rm -f testdata/golden/*.txt testdata/golden/*.json testdata/golden/*.ndjson testdata/golden/*.conn.log
count=0
for cap in testdata/pcap/*.pcap testdata/pcap/*.pcapng; do
  [ -e "$cap" ] || continue
  stem=$(basename "$cap"); stem=${stem%.*}
  for f in "${formats[@]}"; do
    suffix=${f%%|*}; flags=${f#*|}
    out=testdata/golden/$stem.$suffix
    rc=0
    # shellcheck disable=SC2086
    "$bin" $flags "$cap" >"$out.tmp" 2>/dev/null || rc=$?
    if [ "$rc" -eq 1 ]; then   # not a usable capture: no golden file
      rm -f "$out.tmp"
      continue
    fi
    mv "$out.tmp" "$out"
    count=$((count + 1))
  done
done
echo "regen-golden: wrote $count files in testdata/golden"
