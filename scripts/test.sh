#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's second command: runs every test. Expects scripts/setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --build build -j"$(nproc)" >/dev/null
(cd build && ctest --output-on-failure -j"$(nproc)")

# Conformance against other tools' verdicts on public captures, when the
# shared corpus sits beside the checkout.
if [ -d ../shared/corpus/files ]; then
  scripts/conformance.sh
  TCPLIFE=build/src/tcplife python3 scripts/zeek_compat.py --corpus ../shared/corpus --min-agree 95
else
  echo "conformance: ../shared/corpus not present, skipped"
fi
