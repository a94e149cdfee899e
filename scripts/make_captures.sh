#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerate testdata/pcap/kernel_*.pcap from real Linux TCP traffic.
#
#   sudo scripts/make_captures.sh [SCENARIO...]     (default: all, see
#                                                    scripts/tcp_scenarios.py list)
# Needs root, iproute2, tcpdump, tshark, ethtool, nftables, python3.
# Traffic only flows between network namespaces this script creates
# (tcplife_c / tcplife_s / tcplife_r, addresses 10.77.0.0/24 and fd77::/64);
# they are deleted on exit, also on failure (trap).  Every wait is bounded.
#
# Each scenario: fresh namespaces + veth (or through scripts/relay.py), tcpdump
# on the CLIENT's eth0 filtered on the scenario's server port, client/server
# from scripts/tcp_scenarios.py, then `tcp_scenarios.py check` verifies the
# capture shows what the name says; a scenario that came out wrong (timing) is
# re-run, up to 3 attempts.  A per-file log (tshark conv,tcp + tcpdump -nn)
# goes to $LOGDIR (default /tmp/tcplife-captures), not into the repository.
set -euo pipefail

CL_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$CL_SCRIPTS/../testdata/pcap}
LOGDIR=${LOGDIR:-/tmp/tcplife-captures}
# shellcheck source-path=SCRIPTDIR source=capture_lib.sh
. "$CL_SCRIPTS/capture_lib.sh"

cl_require
mkdir -p "$OUT" "$LOGDIR"
OUT=$(cd "$OUT" && pwd)
CL_TMP=$(mktemp -d /tmp/tcplife-cap.XXXXXX)
trap 'cl_cleanup; rm -rf "$CL_TMP"' EXIT
trap 'exit 130' INT TERM

SCEN="$CL_SCRIPTS/tcp_scenarios.py"

run_once() {  # name file -> 0 if capture made and check passed
  local name=$1 file=$2
  local PORT CPORT TOPO RELAY_ARGS SNAPLEN NOSERVER FW_ROLE FW_RULE SYSCTL_S DEADLINE
  eval "$(python3 "$SCEN" info "$name")"
  cl_log "$name: client port $CPORT -> server port $PORT ($TOPO)"

  if [ "$TOPO" = relay ]; then
    cl_setup_relay
    # shellcheck disable=SC2086
    cl_start_relay 40 $RELAY_ARGS
  else
    cl_setup_direct
  fi
  if [ -n "$FW_RULE" ]; then
    local ns=$CL_NS_S
    [ "$FW_ROLE" = c ] && ns=$CL_NS_C
    ip netns exec "$ns" nft add table inet tcplife
    ip netns exec "$ns" nft add chain inet tcplife input '{ type filter hook input priority 0; policy accept; }'
    # shellcheck disable=SC2086
    ip netns exec "$ns" nft add rule inet tcplife input $FW_RULE
  fi
  if [ -n "$SYSCTL_S" ]; then
    ip netns exec "$CL_NS_S" sysctl -q -w "$SYSCTL_S" >/dev/null
  fi

  cl_capture_start "$CL_NS_C" eth0 "$CL_TMP/cap.pcap" "$SNAPLEN" tcp port "$PORT"

  local deadline_abs=0 rc=0
  if [ "$DEADLINE" != 0.0 ]; then
    deadline_abs=$(python3 -c "import time; print('%.3f' % (time.time() + $DEADLINE))")
  fi
  if [ "$NOSERVER" = 0 ]; then
    cl_start_server "$CL_NS_S" "$name" --deadline "$deadline_abs"
  fi
  cl_run_client "$CL_NS_C" "$name" --deadline "$deadline_abs" || rc=1
  if [ "$NOSERVER" = 0 ]; then
    cl_wait_server || rc=1
  fi
  cl_capture_stop
  if [ "$TOPO" = relay ]; then
    cl_stop_relay
    grep "relay stats" "$CL_TMP/relay.log" >&2 || true
  fi
  cp "$CL_TMP"/*.log "$LOGDIR/" 2>/dev/null || true
  cl_cleanup
  [ "$rc" = 0 ] || return 1

  local facts
  if facts=$(python3 "$SCEN" check "$name" "$CL_TMP/cap.pcap"); then
    cp "$CL_TMP/cap.pcap" "$file"
    chmod 644 "$file"
    {
      echo "# $name: $facts"
      tshark -r "$file" -q -z conv,tcp 2>/dev/null
      tcpdump -nn -r "$file" 2>/dev/null
    } >"$LOGDIR/$(basename "$file" .pcap).log"
    [ "$TOPO" = relay ] && grep "relay stats" "$CL_TMP/relay.log" >>"$LOGDIR/$(basename "$file" .pcap).log"
    echo "$(basename "$file") $facts"
    return 0
  fi
  cl_log "check failed for $name: $facts"
  return 1
}

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  mapfile -t names < <(python3 "$SCEN" list)
fi

failed=()
for name in "${names[@]}"; do
  file="$OUT/kernel_$name.pcap"
  ok=0
  for attempt in 1 2 3; do
    cl_log "scenario $name (attempt $attempt)"
    if run_once "$name" "$file"; then
      ok=1
      break
    fi
  done
  [ "$ok" = 1 ] || failed+=("$name")
done

if [ "${#failed[@]}" -gt 0 ]; then
  cl_log "FAILED: ${failed[*]}"
  exit 1
fi
cl_log "all captures written to $OUT (logs in $LOGDIR)"
