// SPDX-License-Identifier: MIT
// NDJSON: one line per connection, written when the connection ends (not in
// first-packet order, not at the end of input), then one summary line.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tcplife::test::Frame;
using tcplife::test::tcp4;
namespace flag = tcplife::decode::flag;

namespace {

// An output stream that records how much had been written when each
// connection's line was flushed.
class FlushLog : public std::stringbuf {
 public:
  std::vector<std::size_t> flushes;

 protected:
  int sync() override {
    flushes.push_back(str().size());
    return 0;
  }
};

}  // namespace

TEST_CASE("ndjson: each connection is written and flushed when it ends, the summary last",
          "[output][ndjson]") {
  constexpr std::int64_t kSec = 1'000'000'000, kMs = 1'000'000;
  const std::string a = "192.0.2.1", b = "192.0.2.2", s = "198.51.100.2";
  using namespace flag;
  std::vector<std::pair<std::int64_t, Frame>> f = {
      // A opens first and stays open to the end of the capture.
      {0 * kMs, tcp4(a, s, {.sport = 40001, .seq = 1, .flags = kSyn})},
      {1 * kMs,
       tcp4(s, a, {.sport = 80, .dport = 40001, .seq = 9, .ack = 2, .flags = kSyn | kAck})},
      {2 * kMs, tcp4(a, s, {.sport = 40001, .seq = 2, .ack = 10, .flags = kAck})},
      // B opens and closes at once.
      {3 * kMs, tcp4(b, s, {.sport = 40002, .seq = 1, .flags = kSyn})},
      {4 * kMs,
       tcp4(s, b, {.sport = 80, .dport = 40002, .seq = 9, .ack = 2, .flags = kSyn | kAck})},
      {5 * kMs, tcp4(b, s, {.sport = 40002, .seq = 2, .ack = 10, .flags = kFin | kAck})},
      {6 * kMs,
       tcp4(s, b, {.sport = 80, .dport = 40002, .seq = 10, .ack = 3, .flags = kFin | kAck})},
      {7 * kMs, tcp4(b, s, {.sport = 40002, .seq = 3, .ack = 11, .flags = kAck})},
      // A keeps talking long after B's close linger (5 s) ran out.
      {20 * kSec,
       tcp4(a, s, {.sport = 40001, .seq = 2, .ack = 10, .flags = kAck | kPsh, .payload_len = 10})},
  };
  std::vector<Frame> frames;
  for (auto& [at, fr] : f) {
    fr.ts.ns = 1'700'000'000LL * kSec + at;
    frames.push_back(fr);
  }
  const std::string path = (fs::temp_directory_path() / ("tcplife_ndjson_order_" + std::to_string(getpid()) + ".pcap")).string();
  REQUIRE(tcplife::test::write_pcap(path, frames));

  FlushLog buf;
  std::ostream out(&buf);
  std::ostringstream err;
  tcplife::Config cfg;
  cfg.input = path;
  cfg.format = tcplife::output::Format::Ndjson;
  cfg.output.stream = true;  // as in live capture: each record flushed when written
  REQUIRE(tcplife::run(cfg, out, err) == 0);
  std::istringstream in(buf.str());
  std::vector<json> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(json::parse(l));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["type"] == "connection");
  CHECK(lines[0]["id"] == 2);  // B ended first
  CHECK(lines[0]["outcome"] == "closed");
  CHECK(lines[1]["id"] == 1);  // A at the end of the input
  CHECK(lines[1]["end_reason"] == "end_of_input");
  CHECK(lines[2]["type"] == "summary");
  CHECK(lines[2]["summary"]["connections"] == 2);
  // B's line was flushed on its own, before A's packet at +20 s was read.
  REQUIRE(!buf.flushes.empty());
  CHECK(buf.flushes.front() == buf.str().find('\n') + 1);
  // The JSON document lists the same connections in first-packet order.
  const auto doc = tcplife::test::run_capture(path);
  CHECK(doc.doc["connections"][0]["id"] == 1);
  CHECK(doc.doc["connections"][1]["id"] == 2);
}
