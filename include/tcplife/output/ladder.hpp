// SPDX-License-Identifier: MIT
// Per-packet records for the text ladder diagram (--timeline). The engine's
// own timeline is folded and bounded (Connection::events); the ladder needs
// every packet, so this observer keeps them for the selected connections
// only, at most `max_lines` per connection, while --timeline is on.
#pragma once
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "tcplife/output/select.hpp"
#include "tcplife/tcp/observer.hpp"

namespace tcplife::output {

static_assert(tcp::kAnomalyKinds <= 64, "anomaly bits must fit a uint64_t");

struct LadderLine {
  core::Timestamp ts;
  std::uint64_t frame = 0;   // 1-based
  std::int64_t rel_seq = 0;  // as the engine's events: SYN = 0, first data byte = 1
  std::int64_t rel_ack = 0;  // 0 without ACK
  std::uint32_t len = 0;     // payload bytes
  std::uint16_t flags = 0;
  tcp::Side from = tcp::Side::Lo;
  bool applied = true;                             // false: the engine set it aside (old_duplicate)
  tcp::TcpState state_lo = tcp::TcpState::Closed;  // both endpoints' states after it
  tcp::TcpState state_hi = tcp::TcpState::Closed;
  std::uint64_t anomalies = 0;  // bit per tcp::AnomalyKind raised at this packet
};

struct Ladder {
  std::vector<LadderLine> lines;  // packets in arrival order, at most max_lines
  std::uint64_t more = 0;         // packets after those
  std::uint64_t at_end = 0;       // anomaly bits raised when the connection was finished
};

// A SegmentObserver that must run first among observers (it reads, at each
// packet, what the previous packet changed). It allocates nothing for
// connections it does not record.
class LadderRecorder final : public tcp::SegmentObserver {
 public:
  LadderRecorder(std::size_t max_lines, Selection selection)
      : max_lines_(max_lines), selection_(std::move(selection)) {}
  void on_segment(tcp::Connection& c, tcp::Side from, const decode::Segment& seg) override;
  void on_finish(tcp::Connection& c) override;
  // A finished connection's ladder, or nullptr; valid until release(id).
  [[nodiscard]] const Ladder* find(std::uint64_t id) const;
  void release(std::uint64_t id);

 private:
  struct Pending {
    std::uint32_t seq = 0, ack = 0;
  };
  struct Rec {
    Ladder ladder;
    bool pending = false;  // the last line still waits for its states and anomalies
    Pending raw;
    std::uint64_t last_frame = 0;
    std::uint64_t carry = 0;                                 // anomaly bits for the next line
    std::array<std::uint32_t, tcp::kAnomalyKinds> counts{};  // anomaly counts already attributed
  };
  void settle(Rec& r, const tcp::Connection& c, bool finishing);

  std::size_t max_lines_;
  Selection selection_;
  std::unordered_map<std::uint64_t, Rec> recs_;
};

}  // namespace tcplife::output
