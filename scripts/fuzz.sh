#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libFuzzer campaign for tcplife (clang 14 + libclang-rt-14-dev). See docs/hardening.md.
#
#   scripts/fuzz.sh build                   clang build of the fuzz targets in $BUILD
#   scripts/fuzz.sh seed                    seeds from testdata/ merged into the committed corpora
#   scripts/fuzz.sh run TARGET [SECONDS]    fuzz one target (default 600 s), nice -n 10
#   scripts/fuzz.sh minimize TARGET         merge the work corpus into testdata/fuzz-corpus/TARGET
#   scripts/fuzz.sh replay [TARGET...]      run every committed corpus and regression once
#   scripts/fuzz.sh smoke [SECONDS]         every target for SECONDS (default 60); fails on a crash
#
# TARGET: fuzz_decode, fuzz_pipeline or fuzz_reader. The work corpus grows in
# $BUILD/corpus/TARGET (starting from the committed one); crashes, leaks and
# timeouts land in $BUILD/artifacts/ -- copy each into testdata/regress/TARGET/
# once it is fixed, so ctest replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-fuzz}
TARGETS=(fuzz_decode fuzz_pipeline fuzz_reader)
DICT=test/fuzz/tcplife.dict

max_len() {
  case "$1" in
    fuzz_decode) echo 4096 ;;
    *) echo 16384 ;;
  esac
}

check_target() {
  local t
  for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done
  echo "fuzz.sh: unknown target '$1' (one of: ${TARGETS[*]})" >&2
  exit 2
}

cmd_build() {
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTCPLIFE_FUZZ=ON -DTCPLIFE_BUILD_TESTS=OFF >/dev/null
  nice -n 10 cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}"
}

cmd_seed() {
  local seeds t
  seeds=$(mktemp -d)
  python3 test/fuzz/make_seeds.py "$seeds"
  for t in "${TARGETS[@]}"; do
    mkdir -p "testdata/fuzz-corpus/$t"
    nice -n 10 "$BUILD/test/fuzz/$t" -merge=1 "testdata/fuzz-corpus/$t" "$seeds/$t" 2>&1 |
      grep -E '^MERGE-OUTER: [0-9]+ new files' || true
  done
  rm -rf "$seeds"
}

cmd_run() {
  local t=$1 secs=${2:-600}
  check_target "$t"
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts"
  cp -n "testdata/fuzz-corpus/$t"/* "$BUILD/corpus/$t"/ 2>/dev/null || true
  echo "fuzz.sh: $t for ${secs}s, corpus $BUILD/corpus/$t ($(ls "$BUILD/corpus/$t" | wc -l) inputs)"
  nice -n 10 "$BUILD/test/fuzz/$t" -dict="$DICT" -max_len="$(max_len "$t")" -timeout=10 \
    -rss_limit_mb=2048 -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$t-" "$BUILD/corpus/$t"
}

cmd_minimize() {
  local t=$1 fresh
  check_target "$t"
  fresh=$(mktemp -d)
  # Committed corpora stay small: edges only (no hit counts), inputs cut at 4 KiB.
  nice -n 10 "$BUILD/test/fuzz/$t" -merge=1 -use_counters=0 -max_len=4096 "$fresh" \
    "testdata/fuzz-corpus/$t" "$BUILD/corpus/$t" 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || true
  rm -rf "testdata/fuzz-corpus/$t"
  mkdir -p "testdata/fuzz-corpus/$t"
  cp "$fresh"/* "testdata/fuzz-corpus/$t"/
  rm -rf "$fresh"
  echo "fuzz.sh: testdata/fuzz-corpus/$t: $(ls "testdata/fuzz-corpus/$t" | wc -l) inputs," \
    "$(cat "testdata/fuzz-corpus/$t"/* | wc -c) bytes"
}

cmd_replay() {
  local t
  [ $# -gt 0 ] || set -- "${TARGETS[@]}"
  for t in "$@"; do
    check_target "$t"
    local dirs=("testdata/fuzz-corpus/$t")
    [ -d "testdata/regress/$t" ] && dirs+=("testdata/regress/$t")
    [ "$t" = fuzz_reader ] && dirs+=(testdata/pcap testdata/hostile)
    "$BUILD/test/fuzz/$t" -runs=0 "${dirs[@]}" 2>&1 | tail -n 1
  done
}

cmd_smoke() {
  local secs=${1:-60} t
  cmd_replay
  for t in "${TARGETS[@]}"; do
    if ! cmd_run "$t" "$secs" >"$BUILD/smoke-$t.log" 2>&1; then
      grep -E 'ERROR|SUMMARY|fuzz invariant|runtime error' "$BUILD/smoke-$t.log" >&2 || true
      echo "fuzz.sh: $t failed; log $BUILD/smoke-$t.log, input in $BUILD/artifacts/" >&2
      exit 1
    fi
    echo "fuzz.sh: $t: $(grep -E '^Done' "$BUILD/smoke-$t.log")"
  done
}

case "${1:-}" in
  build) cmd_build ;;
  seed) cmd_seed ;;
  run) shift; cmd_run "$@" ;;
  minimize) shift; cmd_minimize "$@" ;;
  replay) shift; cmd_replay "$@" ;;
  smoke) shift; cmd_smoke "$@" ;;
  *) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
