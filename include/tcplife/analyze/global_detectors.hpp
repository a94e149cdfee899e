// SPDX-License-Identifier: MIT
// Detectors across connections: SYN floods (half-open connections piling up
// on one server:port), port scans (one source probing many ports or hosts
// without completing handshakes) and RST storms (one host resetting many
// connections). They read finished connections only, keep bounded per-server
// and per-host counters, and report findings with their evidence.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tcplife/core/ip_addr.hpp"
#include "tcplife/core/time.hpp"
#include "tcplife/tcp/connection.hpp"

namespace tcplife::analyze {

// Thresholds (command-line options). Rates are per second x 1000, computed
// over the span between the first and last connection counted, never less
// than one second (so a burst inside one second has rate = its count).
struct GlobalThresholds {
  std::uint64_t syn_flood_half_open = 100;  // half-open connections to one server:port
  std::uint64_t syn_flood_rate_milli = 10'000;
  std::uint64_t scan_targets = 20;      // distinct host:port probed without a handshake
  std::uint64_t rst_storm_resets = 50;  // connections one host reset
  std::uint64_t rst_storm_rate_milli = 10'000;
  std::size_t max_tracked = 4096;  // entries per table; beyond it the smaller half is dropped
};

enum class GlobalKind : std::uint8_t { SynFlood, PortScan, RstStorm };
std::string_view global_kind_name(GlobalKind k) noexcept;  // "syn_flood", ...
bool global_kind_from_name(std::string_view name, GlobalKind& out) noexcept;
inline constexpr std::size_t kGlobalKinds = 3;

// Number of distinct values added: exact up to kExact, then a linear-counting
// estimate over a 1024-bit bitmap (fixed size, deterministic).
class DistinctCounter {
 public:
  static constexpr std::size_t kExact = 16;
  void add(std::uint64_t value) noexcept;
  [[nodiscard]] std::uint64_t estimate() const noexcept;
  [[nodiscard]] bool exact() const noexcept { return n_ <= kExact; }

 private:
  std::array<std::uint64_t, kExact> values_{};
  std::array<std::uint64_t, 16> bits_{};
  std::size_t n_ = 0;  // distinct values in `values_`; kExact + 1 once it overflowed
};

// Earliest and latest time of what a counter counted.
struct TimeSpan {
  bool seen = false;
  core::Timestamp first, last;
  void add(core::Timestamp t) noexcept;
  [[nodiscard]] std::int64_t ns() const noexcept { return seen ? last - first : 0; }
};

// count per second x 1000 over `span` (at least one second).
std::uint64_t rate_milli(std::uint64_t count, std::int64_t span_ns) noexcept;

// What a server ip:port saw from clients that sent a SYN.
struct ServerPressure {
  core::IpAddr ip;
  std::uint16_t port = 0;
  std::uint64_t attempts = 0;    // connections whose client SYN was seen
  std::uint64_t answered = 0;    // ... answered with a SYN-ACK
  std::uint64_t accepted = 0;    // ... whose handshake completed
  std::uint64_t half_open = 0;   // ... never completed and not refused
  std::uint64_t unanswered = 0;  // half-open with no SYN-ACK seen
  std::uint64_t refused = 0;
  std::uint64_t syn_retransmits = 0;
  TimeSpan half_open_span;  // SYN times of the half-open ones
  DistinctCounter half_open_sources;
};

// One finding. `count` is what crossed the threshold (half-open connections,
// distinct targets, reset connections); `evidence` holds named counters.
struct GlobalFinding {
  GlobalKind kind = GlobalKind::SynFlood;
  core::IpAddr ip;  // server (syn_flood), source (port_scan), RST sender (rst_storm)
  bool has_port = false;
  std::uint16_t port = 0;
  std::uint64_t count = 0;
  std::uint64_t distinct_peers = 0;  // sources / hosts probed / peers reset
  bool distinct_exact = true;
  TimeSpan span;
  std::uint64_t rate_milli = 0;  // count per second x 1000
  std::vector<std::pair<std::string_view, std::uint64_t>> evidence;
};

struct GlobalReport {
  std::vector<GlobalFinding> findings;  // by kind, then by count (descending), then address
  std::vector<ServerPressure> servers;  // up to kTopServers with half-open connections
  std::uint64_t dropped_entries = 0;    // tracking entries dropped at max_tracked
  static constexpr std::size_t kTopServers = 10;
};

class GlobalDetectors {
 public:
  explicit GlobalDetectors(const GlobalThresholds& t) : t_(t) {}
  // Counts one finished connection.
  void add(const tcp::Connection& c);
  // Findings and per-server pressure over everything added so far.
  [[nodiscard]] GlobalReport report() const;

 private:
  // What a source's failed probes reached. Most sources never fail a
  // handshake: they get these ~800 bytes only at their first failure.
  struct ScanTargets {
    DistinctCounter targets, ports, hosts;
  };
  struct ScanStats {
    std::uint64_t probes = 0, failed = 0, refused = 0, unanswered = 0, incomplete = 0;
    std::uint16_t port_min = 0xffff, port_max = 0;
    std::unique_ptr<ScanTargets> seen;  // set once failed > 0
    TimeSpan span;
  };
  struct RstStats {
    std::uint64_t connections = 0, segments = 0, out_of_window = 0, after_handshake = 0;
    DistinctCounter peers;
    TimeSpan span;
  };
  using ServerKey = std::pair<core::IpAddr, std::uint16_t>;
  // Hash tables: a tree keyed by address walked ~16 nodes of scattered memory
  // per finished connection. Nothing depends on their order: report() and
  // bound() sort by (score, key) themselves.
  static std::size_t hash_of(const core::IpAddr& a, std::uint64_t extra) noexcept {
    std::uint64_t w[2];
    std::memcpy(w, a.b.data(), sizeof w);
    std::uint64_t h = (w[0] * 0x9e3779b97f4a7c15ULL) ^ (w[1] + extra);
    h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
  struct AddrHash {
    std::size_t operator()(const core::IpAddr& a) const noexcept { return hash_of(a, 0); }
  };
  struct ServerKeyHash {
    std::size_t operator()(const ServerKey& k) const noexcept {
      return hash_of(k.first, std::uint64_t{k.second} << 32 | 1u);
    }
  };

  template <class Map, class Score>
  void bound(Map& m, Score score);

  GlobalThresholds t_;
  std::unordered_map<ServerKey, ServerPressure, ServerKeyHash> servers_;
  std::unordered_map<core::IpAddr, ScanStats, AddrHash> sources_;
  std::unordered_map<core::IpAddr, RstStats, AddrHash> rst_senders_;
  std::uint64_t dropped_ = 0;
};

}  // namespace tcplife::analyze
