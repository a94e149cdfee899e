#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark of issue 8 (see docs/performance.md).
#
#   scripts/bench.sh [run]   [--bytes 1G] [--runs 3] [--tshark-runs 1] [--seed 1]
#                            [--concurrency 2000] [--no-tcptrace] [--no-tshark] [--out FILE.md]
#   scripts/bench.sh memory  [--counts "100k 300k 1M"] [--sizes "50M 200M 800M"]
#                            [--behind "500k 1M"]
#   scripts/bench.sh profile [--bytes 100M]
#
# run:     generates (once, cached) a deterministic capture with bench/gen_capture,
#          then times, round-robin in the same run, the bare libpcap floors, tcplife
#          (text to /dev/null, JSON and NDJSON to files: with the default --threads,
#          with --threads 0 (one thread) and --threads 2) and, where installed,
#          tcptrace -n -l and tshark -q -z conv,tcp. Prints a Markdown table of
#          medians, ratios to the default floor and peak RSS.
# memory:  tcplife's peak RSS against connections open at once (SYN flood from N
#          sources; N established connections) and against total connections with
#          few open at once (mix traffic; N short connections behind one that stays
#          open from the first packet to the last, which holds back every record of
#          the JSON document and the text table).
# profile: callgrind on a ~100 MB capture; writes the annotated top lists.
#
# Environment: TCPLIFE=path (binary to time; default: build it in Release into
# build-bench/tcplife), TCPLIFE_BENCH_DIR (cache, default /tmp/tcplife-bench).
# Run under `nice -n 5` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CMD=run
case "${1:-}" in run|memory|profile) CMD=$1; shift ;; esac

BYTES=1G RUNS=3 TSHARK_RUNS=1 SEED=1 CONC=2000 OUT=""
DO_TCPTRACE=1 DO_TSHARK=1
COUNTS="100k 300k 1M" SIZES="50M 200M 800M" BEHIND="500k 1M" FEW_CONC=50
[ "$CMD" = profile ] && BYTES=100M
DIR=${TCPLIFE_BENCH_DIR:-/tmp/tcplife-bench}
while [ $# -gt 0 ]; do
  case "$1" in
    --bytes) BYTES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --tshark-runs) TSHARK_RUNS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --counts) COUNTS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --behind) BEHIND=$2; shift 2 ;;
    --no-tcptrace) DO_TCPTRACE=0; shift ;;
    --no-tshark) DO_TSHARK=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,26p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$DIR"
LOG=$DIR/bench.log

if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time is missing (Debian package 'time'); installing it" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq time >/dev/null
fi

say() { echo "bench: $*" >&2; }
RES=""
trap 'rm -f "$DIR/time.$$" "$DIR/rss.$$"; [ -z "$RES" ] || rm -f "$RES"' EXIT

# --- builds -----------------------------------------------------------------
TOOLS=$ROOT/build-bench/tools
build_tools() {
  say "building bench tools (Release) in build-bench/tools"
  cmake -S bench -B "$TOOLS" -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1
  cmake --build "$TOOLS" -j"$(nproc)" >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
  GEN=$TOOLS/gen_capture FLOOR=$TOOLS/pcap_floor
}
build_tcplife() {
  if [ -n "${TCPLIFE:-}" ]; then return; fi
  say "building tcplife (Release) in build-bench/tcplife"
  cmake -S . -B build-bench/tcplife -DCMAKE_BUILD_TYPE=Release -DTCPLIFE_BUILD_TESTS=OFF >>"$LOG" 2>&1
  cmake --build build-bench/tcplife -j"$(nproc)" --target tcplife >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
  TCPLIFE=$ROOT/build-bench/tcplife/src/tcplife
}

# capture NAME GEN-ARGS...: generated once into the cache, atomically.
capture() {
  local name=$1; shift
  local ver; ver=$("$GEN" --version | tr -cd '0-9')
  local f=$DIR/$name-g$ver.pcap
  if [ ! -s "$f" ]; then
    say "generating $f"
    "$GEN" "$@" -o "$f.tmp" 2>"$f.gen.txt"
    mv "$f.tmp" "$f"
    sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"
  fi
  echo "$f"
}

# measure NAME OUTFILE CMD...: one timed run, appended to $RES as
# "NAME wall_s cpu_s rss_kib rc". Wall and CPU (user + sys, ms resolution) from
# bash's `time`; peak RSS from /usr/bin/time -f %M.
measure() {
  local name=$1 out=$2; shift 2
  local tf=$DIR/time.$$ rf=$DIR/rss.$$ rc=0
  local TIMEFORMAT='%3R %3U %3S'
  { time /usr/bin/time -f '%M' -o "$rf" "$@" >"$out" 2>>"$LOG" || rc=$?; } 2>"$tf"
  local w u s m
  read -r w u s <"$tf"
  m=$(tail -1 "$rf")
  awk -v n="$name" -v w="$w" -v u="$u" -v s="$s" -v m="$m" -v rc="$rc" \
    'BEGIN { printf "%s %.3f %.3f %d %d\n", n, w, u + s, m, rc }' >>"$RES"
  rm -f "$tf" "$rf"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$RES"; }

json_field() {  # json_field FILE python-expression-on-d
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

machine() {
  local cpu; cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  local rev; rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  local dirty; dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
  echo "- machine: ${cpu:-unknown CPU}, $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM; $(uname -sr)"
  echo "- tcplife: $TCPLIFE (commit $rev$([ "$dirty" -gt 0 ] && echo ", $dirty files modified"))"
}

# --- run ----------------------------------------------------------------------
cmd_run() {
  build_tools
  build_tcplife
  local cap; cap=$(capture "mix-s$SEED-c$CONC-$BYTES" --mode mix --seed "$SEED" --concurrency "$CONC" --bytes "$BYTES")
  RES=$DIR/results.$$; : >"$RES"
  local size; size=$(stat -c %s "$cap")
  say "warming the page cache"
  cat "$cap" >/dev/null
  local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)

  local names=(floor floor64k floor256k text json ndjson text-t0 json-t0 ndjson-t0 text-t2 json-t2)
  declare -A show
  # What tcplife picks without --threads (tcplife::auto_threads): 0 on one core, else max(1, cores - 2).
  local cores; cores=$(nproc)
  local AUTO_THREADS=0
  if [ "$cores" -ge 2 ]; then AUTO_THREADS=$((cores > 3 ? cores - 2 : 1)); fi
  show[floor]="pcap_floor FILE  (pcap_open_offline, stdio default buffer)"
  show[floor64k]="pcap_floor --buffer 65536 FILE  (fopen + 64 KiB setvbuf: what the issue suggests)"
  show[floor256k]="pcap_floor --buffer 262144 FILE  (fopen + 256 KiB setvbuf: reads as tcplife reads)"
  show[text]="tcplife FILE > /dev/null  (default --threads: $AUTO_THREADS here)"
  show[json]="tcplife --format json FILE > out.json"
  show[ndjson]="tcplife --format ndjson FILE > out.ndjson"
  show[text-t0]="tcplife --threads 0 FILE > /dev/null  (one thread)"
  show[json-t0]="tcplife --threads 0 --format json FILE > out.json"
  show[ndjson-t0]="tcplife --threads 0 --format ndjson FILE > out.ndjson"
  show[text-t2]="tcplife --threads 2 FILE > /dev/null"
  show[json-t2]="tcplife --threads 2 --format json FILE > out.json"
  show[tcptrace]="tcptrace -n -l FILE > /dev/null"
  show[tshark]="tshark -q -z conv,tcp -r FILE > /dev/null"
  if [ "$DO_TCPTRACE" = 1 ] && command -v tcptrace >/dev/null; then names+=(tcptrace); fi
  if [ "$DO_TSHARK" = 1 ] && command -v tshark >/dev/null; then names+=(tshark); fi

  for r in $(seq 1 "$RUNS"); do
    for n in "${names[@]}"; do
      say "run $r/$RUNS: $n"
      case $n in
        floor) measure "$n" "$DIR/floor.out" "$FLOOR" "$cap" ;;
        floor64k) measure "$n" "$DIR/floor.out" "$FLOOR" --buffer 65536 "$cap" ;;
        floor256k) measure "$n" "$DIR/floor.out" "$FLOOR" --buffer 262144 "$cap" ;;
        text) measure "$n" /dev/null "$TCPLIFE" "$cap" ;;
        json) measure "$n" "$DIR/out.json" "$TCPLIFE" --format json "$cap" ;;
        ndjson) measure "$n" "$DIR/out.ndjson" "$TCPLIFE" --format ndjson "$cap" ;;
        text-t?) measure "$n" /dev/null "$TCPLIFE" --threads "${n#text-t}" "$cap" ;;
        json-t0) measure "$n" "$DIR/out-t0.json" "$TCPLIFE" --threads 0 --format json "$cap" ;;
        json-t?) measure "$n" "$DIR/out-t.json" "$TCPLIFE" --threads "${n#json-t}" --format json "$cap" ;;
        ndjson-t?) measure "$n" "$DIR/out-t.ndjson" "$TCPLIFE" --threads "${n#ndjson-t}" --format ndjson "$cap" ;;
        tcptrace) measure "$n" /dev/null tcptrace -n -l "$cap" ;;
        tshark) [ "$r" -le "$TSHARK_RUNS" ] && measure "$n" /dev/null tshark -q -z conv,tcp -r "$cap" ;;
      esac
    done
  done
  local load1; load1=$(cut -d' ' -f1-3 /proc/loadavg)
  local stamp; stamp=$(date -u +%Y%m%dT%H%M%S)

  local packets conns peak
  packets=$(awk '{ print $2 }' "$DIR/floor.out")
  conns=$(json_field "$DIR/out.json" "d['summary']['connections']")
  peak=$(json_field "$DIR/out.json" "d['summary']['peak_open']")
  local fw fc f256
  fw=$(col floor 2 | median); fc=$(col floor 3 | median); f256=$(col floor256k 2 | median)

  {
    echo "### tcplife benchmark, $(date -u +%Y-%m-%d)"
    echo
    echo "- command: \`scripts/bench.sh run --bytes $BYTES --runs $RUNS --tshark-runs $TSHARK_RUNS --seed $SEED --concurrency $CONC\`"
    echo "- capture: \`gen_capture --mode mix --seed $SEED --concurrency $CONC --bytes $BYTES\`: $size bytes, $packets packets, $conns connections (tcplife peak open $peak); sha256 $(cut -c1-16 "$cap.sha256")…"
    machine
    echo "- load average before/after: $load0 / $load1 (other jobs share the cores: CPU time is the steadier figure)"
    echo
    echo "| what | command | runs | wall s (median) | × floor | × 256K floor | CPU s (median) | CPU × floor | peak RSS MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "${names[@]}"; do
      local runs w c m rc
      runs=$(col "$n" 2 | wc -l)
      [ "$runs" -eq 0 ] && continue
      w=$(col "$n" 2 | median); c=$(col "$n" 3 | median); m=$(col "$n" 4 | median)
      rc=$(col "$n" 5 | sort -u | tr '\n' ' ')
      awk -v n="$n" -v cmd="${show[$n]}" -v runs="$runs" -v w="$w" -v c="$c" -v m="$m" \
          -v fw="$fw" -v fc="$fc" -v f256="$f256" -v rc="$rc" 'BEGIN {
        note = (rc != "0 ") ? " (exit " rc ")" : ""
        printf "| %s%s | `%s` | %d | %.3f | %.2f | %.2f | %.3f | %s | %.0f |\n", n, note, cmd, runs, w,
               w / fw, w / f256, c, (fc > 0 ? sprintf("%.2f", c / fc) : "-"), m / 1024 }'
    done
    echo
    echo "Wall and CPU are medians over the runs (round-robin, page cache warm); CPU = user + sys."
    if cmp -s "$DIR/out-t0.json" "$DIR/out.json" && cmp -s "$DIR/out-t0.json" "$DIR/out-t.json"; then
      echo "The JSON of the default run and of --threads 2 is byte-identical to the one-thread JSON."
    else
      echo "**The threaded JSON differs from the one-thread JSON.**"
    fi
    # The issue's peer targets: JSON to a file >= 7x faster than tcptrace, >= 40x than tshark.
    # NDJSON too: the same records as a stream, without the document's first-packet order.
    for fmt in json ndjson; do
      local jw; jw=$(col "$fmt" 2 | median)
      for peer in tcptrace tshark; do
        [ "$(col "$peer" 2 | wc -l)" -gt 0 ] || continue
        awk -v p="$peer" -v pw="$(col "$peer" 2 | median)" -v jw="$jw" -v f="$fmt" \
          'BEGIN { printf "tcplife --format %s (default) is %.1fx faster than %s (wall).\n", f, pw / jw, p }'
      done
    done
    if [ "$DO_TSHARK" = 1 ] && [ "$TSHARK_RUNS" -lt "$RUNS" ]; then
      echo "tshark: $TSHARK_RUNS run(s) only (it is slow)."
    fi
  } | tee "$DIR/results-$stamp.md" ${OUT:+"$OUT"}
  mv "$RES" "$DIR/results-$stamp.raw"  # every run: name wall_s cpu_s rss_kib exit
}

# --- memory -------------------------------------------------------------------
to_num() { numfmt --from=si "$(echo "$1" | tr k K)"; }

cmd_memory() {
  build_tools
  build_tcplife
  RES=$DIR/mem.$$; : >"$RES"
  local rows=()
  # mem_row LABEL CAPTURE [COUNT]: tcplife's peak RSS in each format. Writing
  # the JSON document of a million connections all open at the end takes long,
  # so it is skipped above $JSON_MAX_CONNS connections (default 300000) to
  # spare a shared machine, except in the behind series (COUNT 0), which is
  # there for it.
  mem_row() {
    local label=$1 cap=$2 count=${3:-0}
    cat "$cap" >/dev/null
    measure "$label-text" /dev/null "$TCPLIFE" "$cap"
    measure "$label-ndjson" "$DIR/mem.ndjson" "$TCPLIFE" --format ndjson "$cap"
    if [ "$count" -le "${JSON_MAX_CONNS:-300000}" ]; then
      measure "$label-json" "$DIR/mem.json" "$TCPLIFE" --format json "$cap"
    else
      echo "$label-json - - -1 0" >>"$RES"
    fi
    local conns peak pkts
    read -r conns peak pkts < <(tail -1 "$DIR/mem.ndjson" | python3 -c \
      "import json,sys; d=json.load(sys.stdin); print(d['summary']['connections'], d['summary']['peak_open'], d['packets']['read'])")
    rows+=("$label $(stat -c %s "$cap") $pkts $conns $peak $(col "$label-text" 4) $(col "$label-json" 4) $(col "$label-ndjson" 4)")
  }
  for n in $COUNTS; do
    mem_row "synflood-$n" "$(capture "synflood-$n" --mode synflood --count "$(to_num "$n")" --seed "$SEED")" "$(to_num "$n")"
  done
  for n in $COUNTS; do
    mem_row "open-$n" "$(capture "open-$n" --mode open --count "$(to_num "$n")" --seed "$SEED")" "$(to_num "$n")"
  done
  for s in $SIZES; do
    mem_row "few-$s" "$(capture "mix-s$SEED-c$FEW_CONC-$s" --mode mix --seed "$SEED" --concurrency "$FEW_CONC" --bytes "$s")"
  done
  for n in $BEHIND; do
    mem_row "behind-$n" "$(capture "behind-$n" --mode behind --rate 10000 --count "$(to_num "$n")" --seed "$SEED")"
  done
  {
    echo "### tcplife memory, $(date -u +%Y-%m-%d)"
    echo
    echo "- command: \`scripts/bench.sh memory --counts \"$COUNTS\" --sizes \"$SIZES\" --behind \"$BEHIND\"\`"
    echo "- synflood-N: one SYN (+ SYN-ACK) from each of N spoofed sources, all open at once;" \
         "open-N: N established connections, all open at the end; few-SIZE: mix traffic with $FEW_CONC connections in progress at once;" \
         "behind-N: N connections (10,000 a second, each closed within ~0.2 s, then 5 s in TIME_WAIT) behind one open from the first packet to the last"
    machine
    echo
    echo "| capture | bytes | packets | connections | peak open | peak RSS MiB text / json / ndjson | ndjson RSS / peak open | ΔRSS per extra connection, text / json / ndjson |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    local prev_series="" prev_c=0 prev_t=0 prev_j=0 prev_n=0
    for row in "${rows[@]}"; do
      # shellcheck disable=SC2086
      set -- $row
      local series=${1%-*} slope="-"
      if [ "$series" = "$prev_series" ] && [ "$4" -gt "$prev_c" ]; then
        slope=$(awk -v c="$4" -v pc="$prev_c" -v t="$6" -v pt="$prev_t" -v j="$7" -v pj="$prev_j" -v n="$8" -v pn="$prev_n" '
          function per(a, b) { return (a < 0 || b < 0) ? "-" : sprintf("%.0f", (a - b) * 1024 / (c - pc)) }
          BEGIN { printf "%s / %s / %s B", per(t, pt), per(j, pj), per(n, pn) }')
      fi
      awk -v l="$1" -v b="$2" -v p="$3" -v c="$4" -v o="$5" -v t="$6" -v j="$7" -v n="$8" -v s="$slope" '
        function mib(k) { return k < 0 ? "-" : sprintf("%.1f", k / 1024) }
        BEGIN { printf "| %s | %d | %d | %d | %d | %s / %s / %s | %.0f B | %s |\n", l, b, p, c, o, mib(t), mib(j), mib(n), n * 1024 / o, s }'
      prev_series=$series prev_c=$4 prev_t=$6 prev_j=$7 prev_n=$8
    done
    echo
    echo "ΔRSS per extra connection: against the row above in the same series (total connections; in the synflood and open series all are open at once)."
  } | tee "$DIR/memory-$(date -u +%Y%m%dT%H%M%S).md" ${OUT:+"$OUT"}
  rm -f "$RES"
}

# --- profile ------------------------------------------------------------------
cmd_profile() {
  build_tools
  local prof=$ROOT/build-bench/prof
  if [ -z "${TCPLIFE:-}" ]; then
    say "building tcplife (Release + -g) in build-bench/prof"
    cmake -S . -B "$prof" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-g" -DTCPLIFE_BUILD_TESTS=OFF >>"$LOG" 2>&1
    cmake --build "$prof" -j"$(nproc)" --target tcplife >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
    TCPLIFE=$prof/src/tcplife
  fi
  command -v valgrind >/dev/null || { say "valgrind is not installed"; exit 1; }
  local cap; cap=$(capture "mix-s$SEED-c$CONC-$BYTES" --mode mix --seed "$SEED" --concurrency "$CONC" --bytes "$BYTES")
  local out=$DIR/callgrind.out
  say "callgrind on $cap (takes a while)"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$TCPLIFE" --format json "$cap" >"$DIR/prof.json" 2>"$DIR/callgrind.log"
  callgrind_annotate --inclusive=yes "$out" >"$DIR/profile-inclusive.txt" 2>/dev/null
  callgrind_annotate "$out" >"$DIR/profile-self.txt" 2>/dev/null
  echo "command: valgrind --tool=callgrind --callgrind-out-file=$out $TCPLIFE --format json $cap > prof.json"
  echo "full lists: $DIR/profile-inclusive.txt, $DIR/profile-self.txt"
  python3 bench/callgrind_table.py "$DIR/profile-inclusive.txt" "$DIR/profile-self.txt" 30
}

case $CMD in
  run) cmd_run ;;
  memory) cmd_memory ;;
  profile) cmd_profile ;;
esac
