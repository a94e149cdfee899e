// SPDX-License-Identifier: MIT
// Resource bounds under attack, generated in process (no committed files):
// a SYN flood from spoofed sources, a scan of every port, and one connection
// fed segments far out of order. Memory stays bounded (open connections within
// the cap or the handshake timeout; one connection's record the same size
// whatever its length), every connection is reported exactly once, and run time
// grows linearly.
//
// Sizes are scaled down to keep the suite quick under ASan: 200 k flood
// sources with a cap and 120 k without (the attack is 1 M), every one of the
// 65 535 ports, 200 k segments out of order (the attack is 10 M), 20 k against
// 80 k for the run-time check. The full sizes were measured by hand with
// /usr/bin/time -v on the release binary; docs/hardening.md has the figures.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/segment.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/tracker.hpp"

using namespace tcplife;
namespace fl = tcplife::decode::flag;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000LL * core::kNsPerSec;

core::IpAddr v4(std::uint32_t a) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                             static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
  return core::IpAddr::from_v4(b);
}

decode::Segment segment(std::uint32_t src, std::uint16_t sport, std::uint32_t dst,
                        std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                        std::uint16_t flags, std::uint32_t len, std::int64_t ts_ns,
                        std::uint64_t index) {
  decode::Segment s;
  s.ts = core::Timestamp{ts_ns};
  s.index = index;
  s.ip_version = 4;
  s.src = v4(src);
  s.dst = v4(dst);
  s.ttl = 64;
  s.sport = sport;
  s.dport = dport;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.window = 65535;
  s.header_len = 20;
  s.payload_len = len;
  s.ip_total_len = 40 + len;
  s.wire_len = 54 + len;
  return s;
}

// Counts connections and keeps the largest JSON record seen.
class Collector final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection& c) override {
    ++count;
    if (c.rst().refused) ++refused;
    events_max = std::max(events_max, c.events().size());
    anomalies_max = std::max(anomalies_max, c.anomalies().size());
    if (keep_json) {
      record.clear();
      output::write_connection_json(record, c, {});
      record_max = std::max(record_max, record.size());
    }
  }
  bool keep_json = false;
  std::uint64_t count = 0, refused = 0;
  std::size_t events_max = 0, anomalies_max = 0, record_max = 0;
  std::string record;
};

// The engine as the pipeline runs it: tracker + sequence analyzer.
struct Engine {
  explicit Engine(tcp::TrackerOptions o = {}) : tracker(o, sink, &analyzer) {}
  Collector sink;
  analyze::SeqAnalyzer analyzer;
  tcp::Tracker tracker;
};

// `n` SYNs from distinct spoofed sources to one server, `gap_ns` apart. Checks
// the open count after every packet against `bound`; returns the seconds spent.
double syn_flood(Engine& e, std::uint32_t n, std::int64_t gap_ns, std::size_t bound) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t worst = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t src = 0x0A000000u + i;  // 10.0.0.0/8, one source each
    e.tracker.process(segment(src, static_cast<std::uint16_t>(1024 + i % 60000), 0xC0000201u, 80,
                              i * 2654435761u, 0, fl::kSyn, 0, kT0 + i * gap_ns, i));
    worst = std::max(worst, e.tracker.open_connections());
  }
  e.tracker.finish();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  CHECK(worst <= bound);
  return dt.count();
}

// A handshake, then `n` 100-byte client segments in a scattered order (index i
// goes out as (i * 7919) mod n: almost every segment opens or fills a hole),
// the server acking every 64th. Returns the seconds spent.
double out_of_order(Engine& e, std::uint32_t n) {
  constexpr std::uint32_t c = 0x0A000001u, s = 0x0A000002u, cisn = 1000, sisn = 5000;
  constexpr std::uint32_t kLen = 100;
  std::int64_t t = kT0;
  std::uint64_t idx = 0;
  auto send = [&](bool from_client, std::uint32_t seq, std::uint32_t ack, std::uint16_t flags,
                  std::uint32_t len) {
    e.tracker.process(from_client ? segment(c, 40000, s, 80, seq, ack, flags, len, t, idx++)
                                  : segment(s, 80, c, 40000, seq, ack, flags, len, t, idx++));
    t += 10'000;  // 10 us
  };
  const auto t0 = std::chrono::steady_clock::now();
  send(true, cisn, 0, fl::kSyn, 0);
  send(false, sisn, cisn + 1, fl::kSyn | fl::kAck, 0);
  send(true, cisn + 1, sisn + 1, fl::kAck, 0);
  REQUIRE(n % 7919 != 0);
  std::uint32_t high = 0;  // contiguous segments the server has seen: it acks those
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t k = static_cast<std::uint32_t>((std::uint64_t{i} * 7919) % n);
    send(true, cisn + 1 + k * kLen, sisn + 1, fl::kAck | fl::kPsh, kLen);
    if (i % 64 == 63) {
      high = std::max(high, k / 2);
      send(false, sisn + 1, cisn + 1 + high * kLen, fl::kAck, 0);
    }
  }
  e.tracker.finish();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return dt.count();
}

}  // namespace

TEST_CASE("bounds: a SYN flood from 200 k spoofed sources stays within max_connections",
          "[bounds]") {
  tcp::TrackerOptions o;
  o.max_connections = 10'000;
  Engine e(o);
  syn_flood(e, 200'000, 1'000, o.max_connections);  // 1 us apart: nothing times out
  const tcp::TrackerStats& st = e.tracker.stats();
  CHECK(st.connections == 200'000);
  CHECK(st.peak_open <= o.max_connections + 1);
  CHECK(st.evicted == 200'000 - o.max_connections);
  CHECK(st.emitted == st.connections);
  CHECK(e.sink.count == st.connections);  // every one reported, evicted or not
  CHECK(e.tracker.open_connections() == 0);
}

TEST_CASE("bounds: without a cap, the handshake timeout bounds a SYN flood", "[bounds]") {
  Engine e;
  const tcp::TrackerOptions o;
  // 1 000 SYNs a second for 120 s of capture time: at most 60 s worth are open.
  const auto bound = static_cast<std::size_t>(o.idle_handshake_ns / 1'000'000 + 1);
  syn_flood(e, 120'000, 1'000'000, bound);
  const tcp::TrackerStats& st = e.tracker.stats();
  CHECK(st.peak_open <= bound);
  CHECK(st.expired_idle >= 120'000 - bound);
  CHECK(e.sink.count == 120'000);
}

TEST_CASE("bounds: a scan of all 65 535 ports is reported connection by connection", "[bounds]") {
  Engine e;
  std::int64_t t = kT0;
  std::uint64_t idx = 0;
  for (std::uint32_t port = 1; port <= 65535; ++port) {
    const auto p = static_cast<std::uint16_t>(port);
    e.tracker.process(segment(0x0A000001u, 40000, 0x0A000002u, p, 1000, 0, fl::kSyn, 0, t, idx++));
    e.tracker.process(
        segment(0x0A000002u, p, 0x0A000001u, 40000, 0, 1001, fl::kRst | fl::kAck, 0, t, idx++));
    t += 100'000;  // 100 us: 6.5 s in all, so refused ones leave after the linger
  }
  e.tracker.finish();
  CHECK(e.sink.count == 65535);
  CHECK(e.sink.refused == 65535);
  CHECK(e.tracker.stats().peak_open < 65535);  // the 5 s linger let the first ones go
}

TEST_CASE("bounds: 200 k segments out of order keep one connection's record bounded", "[bounds]") {
  // The record's size must not depend on the connection's length.
  Engine small;
  small.sink.keep_json = true;
  out_of_order(small, 10'000);
  Engine big;
  big.sink.keep_json = true;
  out_of_order(big, 200'000);
  REQUIRE(big.sink.count == 1);
  CHECK(big.sink.events_max <= tcp::Connection::kMaxEvents);
  CHECK(big.sink.anomalies_max <= small.sink.anomalies_max + 5);
  CHECK(big.sink.record_max < small.sink.record_max * 11 / 10 + 256);
  const nlohmann::json rec = nlohmann::json::parse(big.sink.record);
  CHECK(rec["data"]["client"]["packets"].get<std::uint64_t>() == 200'002);  // SYN, ACK, data
}

TEST_CASE("bounds: run time grows linearly with the attack", "[bounds]") {
  // Quadratic work would make 4x the input cost 16x the time; allow up to 10x
  // (sanitizers and a shared CI machine are noisy). Best of two for each size.
  auto best = [](auto fn) {
    double t = 1e9;
    for (int i = 0; i < 2; ++i) t = std::min(t, fn());
    return t;
  };
  tcp::TrackerOptions capped;
  capped.max_connections = 5'000;
  const double flood_1 = best([&] {
    Engine e(capped);
    return syn_flood(e, 20'000, 1'000, capped.max_connections);
  });
  const double flood_4 = best([&] {
    Engine e(capped);
    return syn_flood(e, 80'000, 1'000, capped.max_connections);
  });
  const double ooo_1 = best([] {
    Engine e;
    return out_of_order(e, 20'000);
  });
  const double ooo_4 = best([] {
    Engine e;
    return out_of_order(e, 80'000);
  });
  INFO("SYN flood 20k: " << flood_1 << " s, 80k: " << flood_4 << " s");
  INFO("out of order 20k: " << ooo_1 << " s, 80k: " << ooo_4 << " s");
  CHECK(flood_4 < 10 * flood_1);
  CHECK(ooo_4 < 10 * ooo_1);
}
