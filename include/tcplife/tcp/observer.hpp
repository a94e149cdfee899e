// SPDX-License-Identifier: MIT
#pragma once
#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

// Sees every segment of a connection just before the lifecycle engine applies
// it (both endpoints still in their state before the segment), and each
// connection once more just before it is finished. Analyzers implement it:
// they may add anomalies and keep their own state in Connection::analysis,
// but must not change the lifecycle state.
class SegmentObserver {
 public:
  virtual ~SegmentObserver() = default;
  virtual void on_segment(Connection& c, Side from, const decode::Segment& seg) = 0;
  virtual void on_finish(Connection& c) { (void)c; }
};

}  // namespace tcplife::tcp
