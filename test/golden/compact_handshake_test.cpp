// SPDX-License-Identifier: MIT
// Connections that are only a bare SYN (retransmitted, answered by SYN-ACKs)
// are kept as those segments and replayed when anything else happens
// (TrackerOptions::compact_handshakes). The replay must change nothing: every
// record, in the same order, and the same tracker statistics as without it.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/run_capture.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/segment.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/tracker.hpp"

using namespace tcplife;
namespace fl = tcplife::decode::flag;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000LL * core::kNsPerSec;

static_assert(sizeof(tcp::Embryo) * 2 < sizeof(tcp::Connection),
              "an embryo must stay well below a connection");

decode::Segment segment(std::uint32_t src, std::uint16_t sport, std::uint32_t dst,
                        std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                        std::uint16_t flags, std::uint32_t len, std::int64_t ts_ns,
                        std::uint64_t index) {
  auto v4 = [](std::uint32_t a) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(a >> 24),
                               static_cast<std::uint8_t>(a >> 16),
                               static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
    return core::IpAddr::from_v4(b);
  };
  decode::Segment s;
  s.ts = core::Timestamp{ts_ns};
  s.index = index;
  s.ip_version = 4;
  s.src = v4(src);
  s.dst = v4(dst);
  s.ttl = 64;
  s.ip_id = static_cast<std::uint16_t>(index * 7);
  s.sport = sport;
  s.dport = dport;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.window = static_cast<std::uint16_t>(1000 + index % 5000);
  s.header_len = (flags & fl::kSyn) != 0 ? 40 : 32;
  if ((flags & fl::kSyn) != 0) {
    s.options.has_mss = true;
    s.options.mss = 1460;
    s.options.sack_permitted = true;
    s.options.has_wscale = true;
    s.options.wscale = 7;
  }
  s.options.has_timestamps = true;
  s.options.ts_val = static_cast<std::uint32_t>(index);
  s.payload_len = len;
  s.ip_total_len = 20 + s.header_len + len;
  s.wire_len = 14 + s.ip_total_len;
  return s;
}

class Records final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection& c) override {
    std::string r;
    output::OutputOptions full;
    full.full_events = true;
    output::write_connection_json(r, c, full);
    out.push_back(std::move(r));
  }
  std::vector<std::string> out;
};

struct Run {
  std::vector<std::string> records;
  tcp::TrackerStats stats;
};

// A random mix on few 4-tuples so that everything meets everything: SYNs and
// their retransmissions (same and new ISNs), SYN-ACKs (right and wrong acks),
// simultaneous opens, handshake ACKs, data, FINs, RSTs, idle gaps past the
// handshake timeout and time going backwards; with and without a cap.
Run run_mix(bool compact, std::uint32_t seed, std::size_t cap) {
  tcp::TrackerOptions o;
  o.compact_handshakes = compact;
  o.max_connections = cap;
  o.idle_handshake_ns = 2 * core::kNsPerSec;
  o.close_linger_ns = core::kNsPerSec / 2;
  Records sink;
  analyze::SeqAnalyzer analyzer;
  tcp::Tracker tracker(o, sink, &analyzer);
  std::mt19937 gen(seed);
  auto rng = [&gen] { return static_cast<std::uint32_t>(gen()); };
  std::int64_t t = kT0;
  const std::uint32_t server = 0xC0000201u;
  std::vector<std::uint32_t> isn(64), sisn(64);
  for (std::uint64_t i = 0; i < 6000; ++i) {
    const std::uint32_t pick = rng() % 64;
    const std::uint32_t client = 0x0A000000u + pick % 16;
    const auto port = static_cast<std::uint16_t>(40000 + pick / 16);
    const std::uint32_t r = rng() % 100;
    t += (r < 2) ? 3 * core::kNsPerSec : static_cast<std::int64_t>(rng() % 20'000'000);
    if (r == 99) t -= 50'000'000;  // a little time going backwards
    if (rng() % 10 == 0) isn[pick] = static_cast<std::uint32_t>(rng());
    if (rng() % 10 == 0) sisn[pick] = static_cast<std::uint32_t>(rng());
    decode::Segment s;
    if (r < 35) {  // client SYN (often a retransmission)
      s = segment(client, port, server, 80, isn[pick], 0, fl::kSyn, 0, t, i);
    } else if (r < 60) {  // server SYN-ACK, usually acking the client's ISN
      const std::uint32_t ack = rng() % 8 == 0 ? isn[pick] + 7 : isn[pick] + 1;
      s = segment(server, 80, client, port, sisn[pick], ack, fl::kSyn | fl::kAck, 0, t, i);
    } else if (r < 63) {  // simultaneous open: a bare SYN from the server
      s = segment(server, 80, client, port, sisn[pick], 0, fl::kSyn, 0, t, i);
    } else if (r < 72) {  // handshake ACK or data
      s = segment(client, port, server, 80, isn[pick] + 1, sisn[pick] + 1, fl::kAck,
                  rng() % 2 == 0 ? 0 : 100, t, i);
    } else if (r < 80) {  // server data
      s = segment(server, 80, client, port, sisn[pick] + 1, isn[pick] + 1, fl::kAck | fl::kPsh,
                  500, t, i);
    } else if (r < 86) {  // FIN
      s = segment(client, port, server, 80, isn[pick] + 1, sisn[pick] + 1, fl::kFin | fl::kAck, 0,
                  t, i);
    } else if (r < 90) {  // RST
      s = segment(server, 80, client, port, sisn[pick] + 1, isn[pick] + 1, fl::kRst | fl::kAck, 0,
                  t, i);
    } else if (r < 93) {  // a SYN with data (TFO): never kept compact
      s = segment(client, port, server, 80, isn[pick], 0, fl::kSyn, 20, t, i);
    } else {  // a SYN from a fresh source: most of these stay embryos until they expire
      s = segment(0x0B000000u + static_cast<std::uint32_t>(i), 1024, server, 80,
                  static_cast<std::uint32_t>(rng()), 0, fl::kSyn, 0, t, i);
    }
    tracker.process(s);
  }
  tracker.finish();
  return {std::move(sink.out), tracker.stats()};
}

void same_stats(const tcp::TrackerStats& a, const tcp::TrackerStats& b) {
  CHECK(a.segments == b.segments);
  CHECK(a.connections == b.connections);
  CHECK(a.emitted == b.emitted);
  CHECK(a.evicted == b.evicted);
  CHECK(a.expired_idle == b.expired_idle);
  CHECK(a.peak_open == b.peak_open);
  CHECK(a.time_went_backwards == b.time_went_backwards);
}

}  // namespace

TEST_CASE("compact handshakes: replayed embryos give the same records, in the same order",
          "[tracker][memory]") {
  for (std::uint32_t seed = 1; seed <= 6; ++seed) {
    for (std::size_t cap : {std::size_t{0}, std::size_t{7}}) {
      INFO("seed " << seed << ", max_connections " << cap);
      const Run a = run_mix(false, seed, cap);
      const Run b = run_mix(true, seed, cap);
      REQUIRE(a.records.size() == b.records.size());
      REQUIRE(a.records.size() > 100);
      for (std::size_t i = 0; i < a.records.size(); ++i) {
        INFO("record " << i);
        CHECK(a.records[i] == b.records[i]);
      }
      same_stats(a.stats, b.stats);
    }
  }
}

TEST_CASE("compact handshakes: every testdata capture reports the same with and without",
          "[tracker][memory]") {
  std::size_t n = 0;
  for (const char* dir : {"pcap", "regress"}) {
    const fs::path d = fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / dir;
    if (!fs::exists(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".pcap" && ext != ".pcapng") continue;
      INFO(e.path().string());
      Config on = test::full_records(), off = test::full_records();
      off.tracker.compact_handshakes = false;
      const auto a = test::run_capture(e.path().string(), on);
      const auto b = test::run_capture(e.path().string(), off);
      CHECK(a.rc == b.rc);
      CHECK(a.out == b.out);
      ++n;
    }
  }
  CHECK(n > 40);
}
