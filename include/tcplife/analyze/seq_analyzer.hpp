// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string_view>

#include "tcplife/tcp/observer.hpp"

namespace tcplife::analyze {

// The per-segment classes. The first 14 are Wireshark's tcp.analysis flags
// with its definitions and precedence (docs/analysis.md); the rest are
// tcplife's own checks. A segment can carry several classes.
enum class SegClass : std::uint8_t {
  Retransmission,          // tcp.analysis.retransmission (generic)
  FastRetransmission,      // tcp.analysis.fast_retransmission
  SpuriousRetransmission,  // tcp.analysis.spurious_retransmission
  OutOfOrder,              // tcp.analysis.out_of_order
  LostSegment,             // tcp.analysis.lost_segment ("previous segment not captured")
  AckUnseen,               // tcp.analysis.ack_lost_segment ("ACKed unseen segment")
  DupAck,                  // tcp.analysis.duplicate_ack
  ZeroWindow,              // tcp.analysis.zero_window
  ZeroWindowProbe,         // tcp.analysis.zero_window_probe
  ZeroWindowProbeAck,      // tcp.analysis.zero_window_probe_ack
  WindowUpdate,            // tcp.analysis.window_update
  WindowFull,              // tcp.analysis.window_full
  KeepAlive,               // tcp.analysis.keep_alive
  KeepAliveAck,            // tcp.analysis.keep_alive_ack
  // tcplife only
  NetworkDuplicate,  // an exact copy of the previous segment (same IP ID): duplicated in the
                     // network
  SeqOutOfWindow,    // data beyond the right edge of any window the receiver advertised
  AckOutOfRange,     // acknowledges data never sent, or more than a window behind (RFC 5961 §5.2)
  WindowShrink,      // the receiver moved its window's right edge left (RFC 9293 §3.8.6)
  SackOutOfWindow,   // a SACK block that cannot be right (malformed, past the window, far behind)
  kCount
};
inline constexpr std::size_t kSegClasses = static_cast<std::size_t>(SegClass::kCount);
inline constexpr std::size_t kWiresharkClasses = 14;

constexpr std::uint32_t bit(SegClass k) noexcept { return 1u << static_cast<unsigned>(k); }

std::string_view seg_class_name(SegClass k) noexcept;  // = the anomaly kind name
tcp::AnomalyKind seg_class_kind(SegClass k) noexcept;

// Where tcplife's verdict departs from Wireshark's rules on a segment, and why
// (docs/analysis.md explains each).
enum class Deviation : std::uint8_t {
  None,
  SentAfterHighest,   // Wireshark: out-of-order; IP ID/TSval show it was sent after the highest
                      // segment
  SentBeforeHighest,  // Wireshark: (fast) retransmission; IP ID/TSval show it was sent before:
                      // reordering
  SenderSideCapture,  // Wireshark: out-of-order; the capture is at the sender, where reordering
                      // cannot show
  NetworkDuplicate,   // Wireshark: (spurious) retransmission; same IP ID as the original: a network
                      // copy
  ProbeIntoZeroWindow,  // Wireshark: keep-alive; it probes a zero window (Linux probes with seq =
                        // una - 1)
  ProbeAck,             // Wireshark: nothing; it answers such a zero-window probe
  NoWindowSeen,         // Wireshark: zero-window probe, though the peer never advertised any window
  OooThreshold,  // no iRTT: the out-of-order time limit came from RTT samples, not a fixed 3 ms
  FastRetransmitWindow,  // the fast-retransmission time limit was widened by the RTT to the sender
  RstSequence,           // Wireshark: retransmission; only a RST had a higher sequence number
  kCount
};
std::string_view deviation_name(Deviation d) noexcept;

// What the analyzer decided about one segment.
struct SegmentVerdict {
  std::uint32_t classes = 0;    // bit(SegClass): tcplife's verdict
  std::uint32_t wireshark = 0;  // bit(SegClass), Wireshark's rules alone (first 14 classes only)
  std::uint32_t dupack_num =
      0;  // with DupAck: its number in the series (Wireshark's duplicate_ack_num)
  Deviation deviation = Deviation::None;
};

// Optional per-segment output (a test/debug driver uses it to compare with tshark).
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual void on_verdict(const tcp::Connection& c, tcp::Side from, const decode::Segment& seg,
                          const SegmentVerdict& v) = 0;
};

// Per-segment sequence and acknowledgment analysis: classifies every segment
// (retransmission, out-of-order, dup ACK, window events, ...), checks it
// against both endpoints' sequence state, reports anomalies and keeps RTT
// samples. All its state lives in Connection::analysis.
class SeqAnalyzer final : public tcp::SegmentObserver {
 public:
  explicit SeqAnalyzer(VerdictSink* verdicts = nullptr) : verdicts_(verdicts) {}
  void on_segment(tcp::Connection& c, tcp::Side from, const decode::Segment& seg) override;
  void on_finish(tcp::Connection& c) override;

 private:
  VerdictSink* verdicts_;
};

}  // namespace tcplife::analyze
