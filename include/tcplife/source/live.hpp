// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcplife/source/packet_source.hpp"

namespace tcplife::source {

// Kernel capture buffer when -B is not given (libpcap alone would use 2 MiB).
inline constexpr int kDefaultLiveBuffer = 32 << 20;

struct LiveOptions {
  std::string interface;           // "any" for all (Linux cooked SLL2)
  int snaplen = 262144;
  bool promisc = true;
  bool immediate = true;           // deliver packets as they arrive
  int buffer_bytes = 0;            // kernel buffer; 0 = kDefaultLiveBuffer
  int timeout_ms = 100;            // read timeout: how often next() returns Timeout when idle
};

struct LiveStats {
  bool valid = false;
  std::uint64_t received = 0;      // pcap_stats ps_recv
  std::uint64_t dropped = 0;       // ps_drop: dropped by the kernel for lack of buffer space
  std::uint64_t if_dropped = 0;    // ps_ifdrop: dropped by the interface or driver
};

// A live capture: pcap_create + options + pcap_activate. Also a PacketSource.
class LiveSource : public PacketSource {
 public:
  // Stops a blocked next() from another thread or a signal handler
  // (pcap_breakloop): next() then returns End.
  virtual void break_loop() noexcept = 0;
  [[nodiscard]] virtual LiveStats stats() const = 0;
  // Writes every packet next() returns to `path` as a pcap (as tcpdump -w does).
  virtual bool dump_to(const std::string& path, std::string& err) = 0;
  // libpcap's activation warning, if any (e.g. promiscuous mode not supported).
  [[nodiscard]] virtual const std::string& warning() const = 0;
};

// Opens the interface. On failure returns nullptr and fills `err` with one
// plain-words line: no such device, permission denied (with the capability
// needed), interface down, ...
std::unique_ptr<LiveSource> open_live(const LiveOptions& opts, OpenError& err);

struct InterfaceInfo {
  std::string name;
  std::string description;
  std::vector<std::string> addresses;
  bool up = false;
  bool running = false;
  bool loopback = false;
};

// The capture devices libpcap knows (pcap_findalldevs). Empty + `err` on failure.
std::vector<InterfaceInfo> list_interfaces(std::string& err);

// Drops root privileges to `user` (setgroups/setgid/setuid), as tcpdump -Z.
bool drop_privileges(const std::string& user, std::string& err);

}  // namespace tcplife::source
