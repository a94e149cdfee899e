// SPDX-License-Identifier: MIT
// The JSON document's writer thread (--threads runs, whose engine calls
// Sink::input_end()): from input_end() on, records are written on a thread of their own
// while the last open connections come in. The bytes must be those of the
// sink without it, whatever the interleaving; an abandoned run must not hang.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tcplife/flow/flow_key.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/connection.hpp"

using namespace tcplife;

namespace {

tcp::Connection connection(std::uint64_t id) {
  tcp::Connection c;
  c.id = id;
  const auto port = static_cast<std::uint16_t>(1024 + id % 60000);
  const std::uint8_t client[4] = {10, 0, static_cast<std::uint8_t>(id / 60000), 1};
  const std::uint8_t server[4] = {10, 9, 0, 1};
  c.key =
      flow::make_key(core::IpAddr::from_v4(client), port, core::IpAddr::from_v4(server), 443).key;
  c.first_ts = core::Timestamp{1'700'000'000'000'000'000 + static_cast<std::int64_t>(id) * 1000};
  c.last_ts = core::Timestamp{c.first_ts.ns + 5'000'000};
  c.first_frame = c.last_frame = id;
  c.end_reason = id % 5 == 0 ? tcp::EndReason::EndOfInput : tcp::EndReason::Closed;
  return c;
}

// Connections 1..n: every 5th (and the first) is "open" until the end of
// input; the others finish before it, in a scrambled order, each batch of 64
// followed by flush_before(lowest open). Then input_end() (with the writer
// thread; without it the sink is as a one-thread run has it) and the open ones
// in id order, each followed by flush_before of the next open id.
std::string run(std::uint64_t n, bool writer_thread, bool stream) {
  std::ostringstream out;
  output::OutputOptions opts;
  opts.stream = stream;
  std::unique_ptr<output::Sink> sink = output::make_sink(output::Format::Json, out, opts);
  sink->begin(output::RunInfo{"held.pcap", "pcap", {1}});
  std::vector<std::uint64_t> open;
  for (std::uint64_t id = 1; id <= n; ++id)
    if (id == 1 || id % 5 == 0) open.push_back(id);
  std::uint64_t delivered = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    const std::uint64_t id = (k * 7919) % n + 1;  // 7919 is prime: a permutation of 1..n
    if (id == 1 || id % 5 == 0) continue;
    sink->on_connection(connection(id));
    if (++delivered % 64 == 0) sink->flush_before(1);
  }
  if (writer_thread) sink->input_end();
  for (std::size_t i = 0; i < open.size(); ++i) {
    sink->on_connection(connection(open[i]));
    sink->flush_before(i + 1 < open.size() ? open[i + 1] : n + 1);
    // Let the writer run ahead of the next open connection a few times: a
    // writer that wrote past the ready bound would put records out of order.
    if (writer_thread && i < 3) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  output::RunSummary sum;
  sum.tracker.connections = n;
  sink->end(sum);
  return out.str();
}

}  // namespace

TEST_CASE("JSON document: written from input_end on by its own thread, the same bytes",
          "[output][threads]") {
  for (const bool stream : {false, true}) {
    INFO("stream " << stream);
    const std::string one = run(6000, false, stream);
    const nlohmann::json doc = nlohmann::json::parse(one);
    REQUIRE(doc["connections"].size() == 6000);
    bool in_order = true;
    for (std::size_t i = 0; i < 6000; ++i)
      in_order = in_order && doc["connections"][i]["id"] == i + 1;
    CHECK(in_order);
    for (int round = 0; round < 3; ++round) CHECK(run(6000, true, stream) == one);
  }
  CHECK(run(0, true, false) == run(0, false, false));  // no connection at all
}

TEST_CASE("JSON document: a sink destroyed before end() stops its writer thread",
          "[output][threads]") {
  std::ostringstream out;
  output::OutputOptions opts;
  {
    std::unique_ptr<output::Sink> sink = output::make_sink(output::Format::Json, out, opts);
    sink->begin(output::RunInfo{"x.pcap", "pcap", {1}});
    for (std::uint64_t id = 2; id <= 500; ++id) sink->on_connection(connection(id));
    sink->input_end();
    sink->on_connection(connection(1));
    sink->flush_before(501);
  }  // an error path: no end(); the destructor joins the writer
  const std::string s = out.str();
  CHECK(s.rfind("{\"schema\":\"tcplife/1\"", 0) == 0);
  CHECK(s.find("\"summary\"") == std::string::npos);
}
