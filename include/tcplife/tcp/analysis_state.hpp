// SPDX-License-Identifier: MIT
// Per-endpoint state of the per-segment sequence/acknowledgment analysis
// (src/analyze). Plain fixed-size data stored in each Connection, so the
// analysis allocates nothing per packet; only src/analyze reads or writes it
// (src/output reads it through tcplife/analyze/summary.hpp).
#pragma once
#include <array>
#include <cstdint>

namespace tcplife::tcp {

// Round-trip samples of one kind, in microseconds: count, exact min and max,
// and a log histogram for the median. The histogram has kBuckets buckets of
// ratio 2^(1/4) (19 % wide, so the median is within ±9 %), a window of
// 2^(19/4) ≈ 27x that slides (merging its far end) to follow the samples.
// Counts halve when one would overflow: proportions are kept, not totals.
struct RttStats {
  static constexpr std::size_t kBuckets = 19;
  std::uint32_t samples = 0;
  std::uint32_t min_us = 0;
  std::uint32_t max_us = 0;
  std::uint8_t base = 0;  // global log-bucket index of hist[0]
  std::array<std::uint8_t, kBuckets> hist{};
};

// Bits of SegAnalysisEndpoint::flags.
namespace seg_flag {
inline constexpr std::uint8_t kTimed = 0x01;  // timed_end/timed_us hold a data segment being timed
inline constexpr std::uint8_t kTsPending = 0x02;  // ts_val/ts_us hold a TSval waiting for its echo
inline constexpr std::uint8_t kTsSeen =
    0x04;  // this side sent a TSval (ts_val is the last sampled one)
inline constexpr std::uint8_t kNextTs = 0x08;  // nextseq_tsval is valid
inline constexpr std::uint8_t kEdge =
    0x10;  // right_edge/max_window hold a window this side advertised
inline constexpr std::uint8_t kHsSeen = 0x20;  // hs_us holds this side's latest SYN or SYN-ACK
inline constexpr std::uint8_t kIrtt = 0x40;    // irtt_us is set (stored in both endpoints)
inline constexpr std::uint8_t kHsSyn = 0x80;   // hs_us is a pure SYN (not a SYN-ACK)
}  // namespace seg_flag

// One endpoint as a sender of segments (and of the ACKs/windows it returns).
// The time and raw window of this side's latest segment (Wireshark's
// "lastacktime" and window) are the engine's Endpoint::last_ts and
// last_window: the analyzer sees each segment just before the engine.
// Sequence fields are raw 32-bit numbers; times are either nanoseconds or
// 32-bit microsecond clocks compared modulo 2^32 (differences < 71 minutes).
struct SegAnalysisEndpoint {
  // Wireshark's per-direction sequence state (tcp_analyze_seq_info). 0 means
  // "not set" for nextseq/lastack/maxseqtobeacked, exactly as in Wireshark.
  // When nextseq last advanced (ns), in two halves: with no 8-byte member the
  // struct packs to 148 bytes, not 152 (nextseq_ts() / set_nextseq_ts()).
  std::uint32_t nextseq_ts_lo = 0, nextseq_ts_hi = 0;
  std::uint32_t nextseq = 0;          // highest seq + len (+1 for SYN/FIN) sent
  std::uint32_t nextseq_begin = 0;    // first seq of the segment that set nextseq
  std::uint32_t nextseq_frame = 0;    // its frame
  std::uint32_t nextseq_tsval = 0;    // its TSval (seg_flag::kNextTs)
  std::uint32_t maxseqtobeacked = 0;  // highest contiguous seq the peer may ack
  std::uint32_t lastack = 0;          // ack field of this side's latest segment
  std::uint32_t lastnondupack = 0;    // frame of this side's latest ACK that was not a duplicate
  std::uint32_t data_nextseq = 0;     // like nextseq, but RSTs do not move it (0: unset)

  // The receive window this side advertised, as an edge in the peer's space.
  std::uint32_t right_edge = 0;  // highest ack + scaled window
  std::uint32_t max_window = 0;  // largest scaled window (the peer's MAX.SND.WND)

  // RTT: one data segment timed at a time (Karn), one TSval awaiting its echo.
  std::uint32_t timed_end = 0;
  std::uint32_t timed_us = 0;
  std::uint32_t ts_val = 0;
  std::uint32_t ts_us = 0;
  std::uint32_t hs_us = 0;    // latest SYN / SYN-ACK sent before the handshake ACK
  std::uint32_t irtt_us = 0;  // Wireshark's iRTT: latest pure SYN -> first pure ACK
  RttStats rtt;               // data sent by this side -> the peer's covering ACK
  RttStats ts_rtt;            // TSval sent by this side -> the peer's first echo

  std::uint16_t nextseq_ipid = 0;  // IPv4 ID of the segment that set nextseq
  std::int16_t dupacks = 0;        // Wireshark's dupacknum (-1: neutralised by ACKed-unseen)
  std::uint8_t last_classes = 0;   // class bits of this side's latest segment (kLast*)
  std::uint8_t ipid_up = 0;        // IPv4 IDs seen rising with the sequence (saturating)
  std::uint8_t ipid_other = 0;     // ... seen doing anything else (saturating)
  std::uint8_t flags = 0;          // seg_flag::*
  std::uint32_t resent_bytes = 0;  // payload classed (fast/spurious) retransmission; saturates

  [[nodiscard]] std::int64_t nextseq_ts() const noexcept {
    return static_cast<std::int64_t>(std::uint64_t{nextseq_ts_hi} << 32 | nextseq_ts_lo);
  }
  void set_nextseq_ts(std::int64_t ns) noexcept {
    const auto u = static_cast<std::uint64_t>(ns);
    nextseq_ts_lo = static_cast<std::uint32_t>(u);
    nextseq_ts_hi = static_cast<std::uint32_t>(u >> 32);
  }
};

static_assert(sizeof(SegAnalysisEndpoint) <= 148, "per-endpoint analysis state must stay small");

}  // namespace tcplife::tcp
