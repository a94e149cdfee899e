// SPDX-License-Identifier: MIT
// The sharded engine (--threads) against one tracker, below the output layer:
// the same connections in the same order, with the same ids and end reasons,
// flushed no earlier than they may be, and the same TrackerStats field by field
// (the summary prints only some of them), clock ticks included.
#include <sched.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <stdexcept>
#include <vector>

#include "pipeline/engine.hpp"
#include "support/churn_capture.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/pipeline.hpp"

using namespace tcplife;

namespace {

struct Finished {
  std::uint64_t id, first_frame, last_frame;
  std::uint32_t instance;
  tcp::EndReason why;
  std::uint32_t anomalies;
  friend bool operator==(const Finished&, const Finished&) = default;
};

// Records every finished connection; as a sink, checks flush_before never
// claims a connection is done before it is. Throws at the connection `fail_at`
// (counted from 1) if set.
class Recorder final : public output::Sink {
 public:
  void on_connection(const tcp::Connection& c) override {
    if (list.size() + 1 == fail_at) throw std::runtime_error("sink failed");
    list.push_back(
        {c.id, c.first_frame, c.last_frame, c.instance, c.end_reason, c.anomaly_total()});
    done.insert(c.id);
  }
  // On the engine's merge thread: counts what is wrong (Catch's assertions
  // are for the test's thread), run_engine checks the count.
  void flush_before(std::uint64_t id) override {
    if (id <= flushed) ++bad_flushes;
    for (std::uint64_t i = flushed; i < id; ++i) bad_flushes += done.count(i) == 1 ? 0U : 1U;
    flushed = std::max(flushed, id);
  }
  void begin(const output::RunInfo&) override {}
  void end(const output::RunSummary&) override {}

  std::vector<Finished> list;
  std::set<std::uint64_t> done;
  std::uint64_t flushed = 1;
  std::uint64_t bad_flushes = 0;  // flush_before calls claiming too much, or not moving on
  std::size_t fail_at = 0;
};

struct Outcome {
  std::vector<Finished> finished;
  tcp::TrackerStats stats;
};

// Feeds the frames to an engine of `threads` shards (0: SerialEngine with the
// sequence analyzer, as run() builds it), with a clock tick every 97 segments.
Outcome run_engine(const std::vector<test::Frame>& frames, const tcp::TrackerOptions& opts,
                   unsigned threads, std::size_t fail_at = 0) {
  Recorder rec;
  rec.fail_at = fail_at;
  analyze::SeqAnalyzer analyzer;
  std::unique_ptr<pipeline::Engine> engine =
      threads == 0 ? std::make_unique<pipeline::SerialEngine>(opts, rec, &analyzer, rec)
                   : pipeline::make_sharded_engine(opts, threads, rec, rec);
  decode::Segment seg;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    core::PacketView v = frames[i].view();
    v.index = i;
    REQUIRE(decode::decode(v, seg, {}) == decode::Status::Ok);
    engine->process(seg);
    if (i % 97 == 0) engine->advance_time(core::Timestamp{seg.ts.ns + 150'000'000});
  }
  engine->finish();
  CHECK(rec.bad_flushes == 0);
  return {std::move(rec.list), engine->stats()};
}

std::string stats_text(const tcp::TrackerStats& s) {
  return "segments " + std::to_string(s.segments) + ", connections " +
         std::to_string(s.connections) + ", emitted " + std::to_string(s.emitted) + ", evicted " +
         std::to_string(s.evicted) + ", expired_idle " + std::to_string(s.expired_idle) +
         ", peak_open " + std::to_string(s.peak_open) + ", time_went_backwards " +
         std::to_string(s.time_went_backwards);
}

}  // namespace

TEST_CASE("sharded engine: same connections, order, ids and stats as one tracker", "[threads]") {
  const std::vector<test::Frame> frames = test::churn_capture(5, 2500);
  const tcp::TrackerOptions opts = test::short_timeouts().tracker;
  const Outcome one = run_engine(frames, opts, 0);
  INFO("one tracker: " << stats_text(one.stats));
  CHECK(one.stats.time_went_backwards > 1000);
  CHECK(one.stats.expired_idle > 500);
  CHECK(one.finished.size() == one.stats.connections);
  for (unsigned threads : {1u, 2u, 3u, 4u, 7u}) {
    INFO("threads " << threads);
    const Outcome many = run_engine(frames, opts, threads);
    INFO("sharded: " << stats_text(many.stats));
    CHECK(many.stats == one.stats);
    REQUIRE(many.finished.size() == one.finished.size());
    for (std::size_t i = 0; i < one.finished.size(); ++i) {
      INFO("connection #" << i + 1 << " finished, id " << one.finished[i].id);
      REQUIRE(many.finished[i] == one.finished[i]);
    }
  }
}

TEST_CASE("sharded engine: an empty input and a single segment", "[threads]") {
  const Outcome none = run_engine({}, {}, 3);
  CHECK(none.finished.empty());
  CHECK(none.stats.connections == 0);
  const std::vector<test::Frame> one_frame = {
      test::tcp4("10.0.0.1", "10.0.0.2", {.flags = decode::flag::kSyn})};
  const Outcome a = run_engine(one_frame, {}, 0), b = run_engine(one_frame, {}, 2);
  CHECK(a.finished == b.finished);
  CHECK(a.stats == b.stats);
}

TEST_CASE("sharded engine: a sink that throws stops the run with its exception, no thread hangs",
          "[threads]") {
  const std::vector<test::Frame> frames = test::churn_capture(9, 600);
  const tcp::TrackerOptions opts = test::short_timeouts().tracker;
  const std::size_t total = run_engine(frames, opts, 0).finished.size();
  REQUIRE(total > 600);
  // Early (while reading), late (while finishing), and at the very last connection.
  for (std::size_t at : {std::size_t{1}, total / 2, total - 5, total}) {
    INFO("throws at connection " << at << " of " << total);
    CHECK_THROWS_WITH(run_engine(frames, opts, 3, at), "sink failed");
    CHECK_THROWS_WITH(run_engine(frames, opts, 0, at), "sink failed");
  }
}

// The default --threads follows the cores this thread may run on: 0 on one,
// one shard on two or three, cores - 2 beyond. sched_setaffinity(0) changes
// only the calling thread, which is the one auto_threads() asks about.
TEST_CASE("threads: the default follows the usable cores", "[threads]") {
  cpu_set_t saved;
  CPU_ZERO(&saved);
  REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  std::vector<std::size_t> cpus;
  for (std::size_t c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &saved)) cpus.push_back(c);
  REQUIRE(!cpus.empty());
  const auto expected = [](std::size_t n) -> unsigned {
    if (n < 2) return 0;
    return n <= 3 ? 1u : static_cast<unsigned>(n - 2);
  };
  for (std::size_t n = 1; n <= cpus.size(); ++n) {
    cpu_set_t some;
    CPU_ZERO(&some);
    for (std::size_t i = 0; i < n; ++i) CPU_SET(cpus[i], &some);
    REQUIRE(sched_setaffinity(0, sizeof some, &some) == 0);
    INFO(n << " usable cores");
    CHECK(tcplife::auto_threads() == expected(n));
  }
  REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
  CHECK(tcplife::auto_threads() == expected(cpus.size()));
}
