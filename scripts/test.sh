#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's second command: runs every test. Expects scripts/setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# 1. The Release build's whole suite (unit, golden, kernel captures, live capture on lo).
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs")

# 2. The same suite under AddressSanitizer + UndefinedBehaviorSanitizer, no recovery.
WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTCPLIFE_SANITIZE=ON \
  -DTCPLIFE_WERROR="$WERROR" >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs")

# 3. Other tools' verdicts on public captures, when the shared corpus sits
#    beside the checkout: tshark conversations, Zeek conn.log, tshark's
#    per-segment analysis flags; and --threads against one thread on each.
if [ -d ../shared/corpus/files ]; then
  scripts/conformance.sh
  scripts/threads_compare.sh
  TCPLIFE=build/src/tcplife python3 scripts/zeek_compat.py --corpus ../shared/corpus --min-agree 95
  TCPLIFE_CLASSIFY=build/test/tcplife_classify scripts/tshark_compare.sh
else
  echo "conformance: ../shared/corpus not present, skipped"
fi
