// SPDX-License-Identifier: MIT
#pragma once
#include "tcplife/tcp/observer.hpp"

namespace tcplife::analyze {

// Per-segment sequence and acknowledgment analysis: classifies every segment
// (retransmission, out-of-order, dup ACK, window events, ...) and checks it
// against both endpoints' sequence state.
class SeqAnalyzer final : public tcp::SegmentObserver {
 public:
  void on_segment(tcp::Connection& c, tcp::Side from, const decode::Segment& seg) override;
  void on_finish(tcp::Connection& c) override;
};

}  // namespace tcplife::analyze
