#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Conformance of tcplife against tshark's `-z conv,tcp` on the shared public
# corpus (../shared/corpus beside the checkout). See docs/conformance.md.
#
#   scripts/conformance.sh [--corpus DIR] [--exceptions FILE] [-v]
#
# The binary is build/src/tcplife under the repo root unless TCPLIFE is set.
# Exits non-zero if any capture disagrees with tshark and is not listed in
# test/conformance/exceptions.tsv. Last line: `conformance: N passed, M failed`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TCPLIFE="${TCPLIFE:-$ROOT/build/src/tcplife}"
if [ ! -x "$TCPLIFE" ]; then
  echo "conformance: tcplife binary not found at $TCPLIFE (build first, or set TCPLIFE)" >&2
  exit 2
fi
exec python3 "$ROOT/scripts/conformance.py" --tcplife "$TCPLIFE" --root "$ROOT" "$@"
