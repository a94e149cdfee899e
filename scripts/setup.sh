#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: installs every package the build and the tests
# need (Debian), builds tcplife in Release, and runs it on a bundled capture.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libpcap-dev libcli11-dev nlohmann-json3-dev catch2
  tshark tcpdump tcptrace iproute2 nftables ethtool python3 time valgrind
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTCPLIFE_WERROR="$WERROR" >/dev/null
cmake --build build -j"$(nproc)"

echo
echo "=== tcplife testdata/pcap/kernel_half_close.pcap ==="
./build/src/tcplife testdata/pcap/kernel_half_close.pcap
