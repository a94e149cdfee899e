#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-frame comparison of tcplife's segment classes with tshark's tcp.analysis
# flags on ../shared/corpus/files and testdata/pcap. See docs/analysis.md.
#
#   scripts/tshark_compare.sh [--details FILE] [-v] [--jobs N]
#
# Uses build/test/tcplife_classify under the repo root unless TCPLIFE_CLASSIFY
# is set; needs tshark. Last line: `tshark-compare: N passed, M failed`; exit 1
# if a check failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLASSIFY="${TCPLIFE_CLASSIFY:-$ROOT/build/test/tcplife_classify}"
if [ ! -x "$CLASSIFY" ]; then
  echo "tshark-compare: $CLASSIFY not found (build the tcplife_classify target, or set TCPLIFE_CLASSIFY)" >&2
  exit 2
fi
if ! command -v tshark >/dev/null 2>&1; then
  echo "tshark-compare: tshark not installed" >&2
  exit 2
fi
exec python3 "$ROOT/scripts/tshark_compare.py" --classify "$CLASSIFY" "$@"
