# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for scripts/make_captures.sh: network namespaces, veth pairs,
# tcpdump start/stop, bounded waits, cleanup.  Source it; needs root.
#
# Topologies (all addresses live only inside namespaces this file creates):
#   direct:  ns tcplife_c (eth0 10.77.0.1/24, fd77::1/64)
#            <-veth-> ns tcplife_s (eth0 10.77.0.2/24, fd77::2/64)
#   relay:   ns tcplife_c eth0 <-veth-> r0 [ns tcplife_r: relay.py] r1 <-veth-> eth0 ns tcplife_s
#            (same addresses; the relay bridges frames in userspace)
# Every veth has offloads off (tso/gso/gro/tx-checksum) so captured segments
# are MSS-sized and carry correct checksums.

CL_NS_C=tcplife_c
CL_NS_S=tcplife_s
CL_NS_R=tcplife_r
CL_V4_C=10.77.0.1
CL_V4_S=10.77.0.2
CL_V6_C=fd77::1
CL_V6_S=fd77::2

CL_PIDS=()          # background processes we started (killed by cl_cleanup)
CL_TMP=""

cl_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cl_die() { cl_log "ERROR: $*"; exit 1; }

cl_require() {
  local t
  for t in ip tcpdump python3 ethtool nft tshark; do
    command -v "$t" >/dev/null 2>&1 || cl_die "missing tool: $t (apt-get install -y tcpdump tshark iproute2 ethtool nftables)"
  done
  [ "$(id -u)" = 0 ] || cl_die "must run as root"
}

# Kill what we started (by pid), delete our namespaces.  Safe to call twice.
cl_cleanup() {
  local p
  for p in "${CL_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${CL_PIDS[@]}"; do
    cl_wait_pid "$p" 3 || kill -9 "$p" 2>/dev/null || true
  done
  CL_PIDS=()
  cl_del_ns
}

cl_del_ns() {
  local ns
  for ns in "$CL_NS_C" "$CL_NS_S" "$CL_NS_R"; do
    if ip netns list | grep -qw "$ns"; then
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

# cl_wait_pid PID SECONDS -> 0 if PID exited within SECONDS
cl_wait_pid() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 20; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

# cl_wait_file FILE SECONDS -> 0 once FILE exists and is non-empty
cl_wait_file() {
  local f=$1 secs=$2 i
  for ((i = 0; i < secs * 20; i++)); do
    [ -s "$f" ] && return 0
    sleep 0.05
  done
  return 1
}

cl_ns_common() {  # basic per-namespace settings (sysctls are per netns)
  local ns=$1
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 \
    net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_ecn=0 net.ipv4.tcp_fastopen=0 >/dev/null
  # Linux >= 6.5 retransmits the first SYNs at linear 1 s intervals; keep the
  # classic exponential backoff (1 s, 2 s, 4 s) so captures match older kernels.
  if [ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]; then
    ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_syn_linear_timeouts=0 >/dev/null
  fi
}

cl_offloads_off() {  # ns dev
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 ||
    cl_log "warning: ethtool -K $2 failed"
}

cl_addr_setup() {  # ns dev v4 v6
  ip netns exec "$1" ip addr add "$3/24" dev "$2"
  ip netns exec "$1" ip -6 addr add "$4/64" dev "$2" nodad
  ip netns exec "$1" ip link set "$2" up
}

# Fixed MAC addresses keep the captures' Ethernet headers stable.
CL_MAC_C=02:77:00:00:00:01
CL_MAC_S=02:77:00:00:00:02

cl_setup_direct() {
  cl_del_ns
  ip netns add "$CL_NS_C"
  ip netns add "$CL_NS_S"
  cl_ns_common "$CL_NS_C"
  cl_ns_common "$CL_NS_S"
  ip link add tlc0 address "$CL_MAC_C" type veth peer name tls0 address "$CL_MAC_S"
  ip link set tlc0 netns "$CL_NS_C"
  ip link set tls0 netns "$CL_NS_S"
  ip netns exec "$CL_NS_C" ip link set tlc0 name eth0
  ip netns exec "$CL_NS_S" ip link set tls0 name eth0
  cl_offloads_off "$CL_NS_C" eth0
  cl_offloads_off "$CL_NS_S" eth0
  cl_addr_setup "$CL_NS_C" eth0 "$CL_V4_C" "$CL_V6_C"
  cl_addr_setup "$CL_NS_S" eth0 "$CL_V4_S" "$CL_V6_S"
  # static neighbours: no ARP/ND exchange in the middle of a scenario
  ip netns exec "$CL_NS_C" ip neigh replace "$CL_V4_S" lladdr "$CL_MAC_S" dev eth0 nud permanent
  ip netns exec "$CL_NS_S" ip neigh replace "$CL_V4_C" lladdr "$CL_MAC_C" dev eth0 nud permanent
  ip netns exec "$CL_NS_C" ip -6 neigh replace "$CL_V6_S" lladdr "$CL_MAC_S" dev eth0 nud permanent
  ip netns exec "$CL_NS_S" ip -6 neigh replace "$CL_V6_C" lladdr "$CL_MAC_C" dev eth0 nud permanent
}

# cl_setup_relay: like direct but through ns tcplife_r (r0 <-> r1), where
# scripts/relay.py must then be started with cl_start_relay.
cl_setup_relay() {
  cl_del_ns
  ip netns add "$CL_NS_C"
  ip netns add "$CL_NS_S"
  ip netns add "$CL_NS_R"
  cl_ns_common "$CL_NS_C"
  cl_ns_common "$CL_NS_S"
  ip netns exec "$CL_NS_R" ip link set lo up
  ip netns exec "$CL_NS_R" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=0 >/dev/null
  ip link add tlc0 address "$CL_MAC_C" type veth peer name tlr0
  ip link add tls0 address "$CL_MAC_S" type veth peer name tlr1
  ip link set tlc0 netns "$CL_NS_C"
  ip link set tls0 netns "$CL_NS_S"
  ip link set tlr0 netns "$CL_NS_R"
  ip link set tlr1 netns "$CL_NS_R"
  ip netns exec "$CL_NS_C" ip link set tlc0 name eth0
  ip netns exec "$CL_NS_S" ip link set tls0 name eth0
  ip netns exec "$CL_NS_R" ip link set tlr0 name r0
  ip netns exec "$CL_NS_R" ip link set tlr1 name r1
  cl_offloads_off "$CL_NS_C" eth0
  cl_offloads_off "$CL_NS_S" eth0
  cl_offloads_off "$CL_NS_R" r0
  cl_offloads_off "$CL_NS_R" r1
  ip netns exec "$CL_NS_R" ip link set r0 promisc on up
  ip netns exec "$CL_NS_R" ip link set r1 promisc on up
  cl_addr_setup "$CL_NS_C" eth0 "$CL_V4_C" "$CL_V6_C"
  cl_addr_setup "$CL_NS_S" eth0 "$CL_V4_S" "$CL_V6_S"
  ip netns exec "$CL_NS_C" ip neigh replace "$CL_V4_S" lladdr "$CL_MAC_S" dev eth0 nud permanent
  ip netns exec "$CL_NS_S" ip neigh replace "$CL_V4_C" lladdr "$CL_MAC_C" dev eth0 nud permanent
  ip netns exec "$CL_NS_C" ip -6 neigh replace "$CL_V6_S" lladdr "$CL_MAC_S" dev eth0 nud permanent
  ip netns exec "$CL_NS_S" ip -6 neigh replace "$CL_V6_C" lladdr "$CL_MAC_C" dev eth0 nud permanent
}

# cl_start_relay SECONDS ARGS... : start relay.py in ns tcplife_r, wait until ready
cl_start_relay() {
  local secs=$1
  shift
  local ready="$CL_TMP/relay.ready"
  rm -f "$ready"
  ip netns exec "$CL_NS_R" python3 "$CL_SCRIPTS/relay.py" --if-a r0 --if-b r1 \
    --seconds "$secs" --ready "$ready" "$@" 2>"$CL_TMP/relay.log" &
  CL_RELAY_PID=$!
  CL_PIDS+=("$CL_RELAY_PID")
  cl_wait_file "$ready" 5 || cl_die "relay did not start: $(cat "$CL_TMP/relay.log")"
}

cl_stop_relay() {
  [ -n "${CL_RELAY_PID:-}" ] || return 0
  kill -INT "$CL_RELAY_PID" 2>/dev/null || true
  cl_wait_pid "$CL_RELAY_PID" 5 || kill -9 "$CL_RELAY_PID" 2>/dev/null || true
  wait "$CL_RELAY_PID" 2>/dev/null || true
  CL_RELAY_PID=""
}

# cl_capture_start NS IFACE FILE SNAPLEN FILTER...
cl_capture_start() {
  local ns=$1 dev=$2 file=$3 snap=$4
  shift 4
  rm -f "$file"
  : >"$CL_TMP/tcpdump.log"
  ip netns exec "$ns" tcpdump -Z root -i "$dev" --immediate-mode -U -s "$snap" -w "$file" "$@" \
    2>"$CL_TMP/tcpdump.log" &
  CL_TCPDUMP_PID=$!
  CL_PIDS+=("$CL_TCPDUMP_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "listening on" "$CL_TMP/tcpdump.log" && { sleep 0.2; return 0; }
    kill -0 "$CL_TCPDUMP_PID" 2>/dev/null || break
    sleep 0.05
  done
  cl_die "tcpdump did not start: $(cat "$CL_TMP/tcpdump.log")"
}

cl_capture_stop() {
  sleep 0.3   # let the last ACKs through
  kill -INT "$CL_TCPDUMP_PID" 2>/dev/null || true
  cl_wait_pid "$CL_TCPDUMP_PID" 5 || kill -9 "$CL_TCPDUMP_PID" 2>/dev/null || true
  wait "$CL_TCPDUMP_PID" 2>/dev/null || true
  grep -E "packets (captured|dropped)" "$CL_TMP/tcpdump.log" | tr '\n' ' ' >&2 || true
  echo >&2
}

# cl_start_server NS SCENARIO ARGS... : run tcp_scenarios.py server, wait ready
cl_start_server() {
  local ns=$1 scen=$2
  shift 2
  local ready="$CL_TMP/server.ready"
  rm -f "$ready"
  timeout 30 ip netns exec "$ns" python3 "$CL_SCRIPTS/tcp_scenarios.py" server "$scen" \
    --ready "$ready" "$@" >"$CL_TMP/server.log" 2>&1 &
  CL_SERVER_PID=$!
  CL_PIDS+=("$CL_SERVER_PID")
  cl_wait_file "$ready" 5 || cl_die "server did not start: $(cat "$CL_TMP/server.log")"
}

cl_wait_server() {
  local rc=0
  cl_wait_pid "$CL_SERVER_PID" 20 || { cl_log "server still running, killing"; kill "$CL_SERVER_PID" 2>/dev/null; }
  wait "$CL_SERVER_PID" || rc=$?
  [ "$rc" = 0 ] || cl_log "server exited $rc: $(tail -3 "$CL_TMP/server.log")"
  return "$rc"
}

# cl_run_client NS SCENARIO ARGS... (foreground, bounded)
cl_run_client() {
  local ns=$1 scen=$2 rc=0
  shift 2
  timeout 30 ip netns exec "$ns" python3 "$CL_SCRIPTS/tcp_scenarios.py" client "$scen" "$@" \
    >"$CL_TMP/client.log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || cl_log "client exited $rc: $(tail -3 "$CL_TMP/client.log")"
  return "$rc"
}
