// SPDX-License-Identifier: MIT
// What run() feeds the decoded segments to: one tracker on the reading thread
// (SerialEngine), or trackers on worker threads (sharded.cpp, --threads). Both
// hand the finished connections to the same ConnectionSink, in the same order
// and with the same ids.
#pragma once
#include <cstdint>
#include <memory>

#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace tcplife::pipeline {

class Engine {
 public:
  virtual ~Engine() = default;
  // Where to decode the next segment before process() (saves a copy).
  virtual decode::Segment& slot() { return slot_; }
  virtual void process(const decode::Segment& seg) = 0;
  // Capture time ran on without a packet (a live capture waiting).
  virtual void advance_time(core::Timestamp now) = 0;
  // End of input: finishes every open connection.
  virtual void finish() = 0;
  // Complete once finish() has returned.
  [[nodiscard]] virtual tcp::TrackerStats stats() const = 0;
  [[nodiscard]] virtual std::size_t open_connections() const = 0;

 private:
  decode::Segment slot_;
};

// One tracker on the calling thread. The sink may write a connection once
// every earlier one has finished (flush_before).
class SerialEngine final : public Engine {
 public:
  SerialEngine(const tcp::TrackerOptions& opts, tcp::ConnectionSink& out,
               tcp::SegmentObserver* observer, output::Sink& sink)
      : tracker_(opts, out, observer), sink_(sink) {}

  void process(const decode::Segment& seg) override {
    tracker_.process(seg);
    if (tracker_.lowest_open_id() != flushed_below_) {
      flushed_below_ = tracker_.lowest_open_id();
      sink_.flush_before(flushed_below_);
    }
  }
  void advance_time(core::Timestamp now) override { tracker_.advance_time(now); }
  void finish() override { tracker_.finish(); }
  [[nodiscard]] tcp::TrackerStats stats() const override { return tracker_.stats(); }
  [[nodiscard]] std::size_t open_connections() const override {
    return tracker_.open_connections();
  }

 private:
  tcp::Tracker tracker_;
  output::Sink& sink_;
  std::uint64_t flushed_below_ = 1;
};

// --threads N (N >= 1): N worker threads, each the tracker (and sequence
// analyzer) of the 4-tuples whose flow hash falls to it, and a merge thread
// that calls `out` and `sink` (so formatting and writing run there, not on the
// calling thread, which reads and decodes). Output is SerialEngine's, byte for
// byte, except with max_connections (each shard holds its share of the cap).
std::unique_ptr<Engine> make_sharded_engine(const tcp::TrackerOptions& opts, unsigned shards,
                                            tcp::ConnectionSink& out, output::Sink& sink);

}  // namespace tcplife::pipeline
