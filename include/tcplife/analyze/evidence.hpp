// SPDX-License-Identifier: MIT
// How the analyzer packs its evidence into an Anomaly's three numbers (a, b,
// c), so the output can explain each anomaly without the analyzer building
// strings. Sequence numbers are relative as Wireshark shows them (SYN = 0,
// first data byte = 1); ack numbers are relative to the acknowledged side.
//
//   retransmission, out_of_order:  a = seq, b = pack_seg(len, seen, deviation, 0),
//                                  c = pack_ref(frame of the highest data so far, µs since it)
//   fast_retransmission:           a = seq, b = pack_seg(len, seen, deviation, dup ACKs),
//                                  c = frame of the ACK the duplicates repeat
//   spurious_retransmission:       a = seq, b = pack_seg(len, seen, deviation, 0), c = peer's ack
//   network_duplicate:             a = seq, b = pack_seg(len, seen, deviation, 1 IPv4 ID | 2 TSval
//                                  compared), c = pack_ref(frame copied, µs since it)
//   lost_segment:                  a = seq, b = expected seq, c = frame of the highest data so far
//   ack_unseen:                    a = ack, b = highest contiguous seq captured from the peer
//   dup_ack:                       a = its number, b = frame of the ACK it repeats, c = ack
//   zero_window:                   a = ack
//   zero_window_probe, keep_alive: a = seq, b = len, c = peer's window (scaled)
//   zero_window_probe_ack, keep_alive_ack: a = ack, b = window (scaled)
//   window_update:                 a = new window, b = previous window (both scaled), c = ack
//   window_full:                   a = seq + len (the edge), b = peer's window (scaled), c = peer's
//   ack seq_out_of_window:             a = seq + len, b = the highest right edge advertised, c =
//   bytes beyond ack_out_of_range:              a = ack, b = the limit crossed, c = +1 ahead (never
//   sent) / -1 behind window_shrink:                 a = previous right edge, b = new right edge, c
//   = bytes shrunk sack_out_of_window:            a = left, b = right, c = pack_sack(reason, limit)
#pragma once
#include <algorithm>
#include <cstdint>

namespace tcplife::analyze::evidence {

// How much of a resent range had been captured before.
enum class Seen : std::uint8_t { None, Part, All };

enum class SackReason : std::uint8_t { Malformed = 1, BeyondWindow = 2, FarBehind = 3 };

constexpr std::int64_t pack_seg(std::uint32_t len, Seen seen, std::uint8_t deviation,
                                std::uint16_t dupacks) noexcept {
  return static_cast<std::int64_t>(std::uint64_t{len} |
                                   std::uint64_t{static_cast<std::uint8_t>(seen)} << 32 |
                                   std::uint64_t{deviation} << 40 | std::uint64_t{dupacks} << 48);
}
constexpr std::uint32_t seg_len(std::int64_t b) noexcept {
  return static_cast<std::uint32_t>(b & 0xffffffff);
}
constexpr Seen seg_seen(std::int64_t b) noexcept { return static_cast<Seen>((b >> 32) & 0x3); }
constexpr std::uint8_t seg_deviation(std::int64_t b) noexcept {
  return static_cast<std::uint8_t>((b >> 40) & 0xff);
}
constexpr std::uint16_t seg_dupacks(std::int64_t b) noexcept {
  return static_cast<std::uint16_t>((b >> 48) & 0x7fff);
}

constexpr std::int64_t pack_ref(std::uint32_t frame, std::int64_t gap_us) noexcept {
  const std::int64_t g = std::clamp<std::int64_t>(gap_us, 0, 0x7fffffff);
  return static_cast<std::int64_t>(std::uint64_t{frame} | static_cast<std::uint64_t>(g) << 32);
}
constexpr std::uint32_t ref_frame(std::int64_t c) noexcept {
  return static_cast<std::uint32_t>(c & 0xffffffff);
}
constexpr std::int64_t ref_gap_us(std::int64_t c) noexcept { return (c >> 32) & 0x7fffffff; }

constexpr std::int64_t pack_sack(SackReason r, std::int64_t limit) noexcept {
  return limit * 4 + static_cast<std::int64_t>(r);
}
constexpr SackReason sack_reason(std::int64_t c) noexcept {
  return static_cast<SackReason>(((c % 4) + 4) % 4);
}
constexpr std::int64_t sack_limit(std::int64_t c) noexcept {
  return (c - static_cast<std::int64_t>(sack_reason(c))) / 4;
}

}  // namespace tcplife::analyze::evidence
