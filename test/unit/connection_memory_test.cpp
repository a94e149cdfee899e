// SPDX-License-Identifier: MIT
// What an open connection costs (issue 8: toward 1 KB each), and that the
// parts kept out of line (ConnectionCold, AnomalyLog) still reach every output.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"
#include "tcplife/core/huge_buffer.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/tcp/tracker.hpp"
#include "tcplife/tcp/zeek_view.hpp"

using namespace tcplife;
namespace fl = tcplife::decode::flag;

namespace {

// Measured with scripts/bench.sh memory (docs/performance.md, "Memory, after"):
// RSS per open connection is about this plus the flow-table slot.
constexpr std::size_t kConnectionBudget = 960;
static_assert(sizeof(tcp::Connection) <= kConnectionBudget,
              "tcp::Connection grew: every open connection pays for it");

struct Row {
  std::string conn_state, history;
  std::uint64_t orig_pkts = 0, resp_pkts = 0;
  std::uint64_t orig_ip_bytes = 0, resp_ip_bytes = 0;
  std::int64_t start_ns = 0;
};

struct Seen {
  bool cold = false;
  bool anomaly_log = false;
  std::vector<Row> rows;
};

class Recorder final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection& c) override {
    Seen s;
    s.cold = c.cold != nullptr;
    s.anomaly_log = c.anomaly_log != nullptr;
    tcp::for_each_zeek_row(c, [&](const tcp::ZeekRowView& r) {
      const tcp::ZeekShadow& z = r.z;
      const std::size_t o = flow::idx(z.orig), p = flow::idx(flow::other(z.orig));
      s.rows.push_back({std::string(tcp::zeek_conn_state(z)), std::string(z.history.view()),
                        r.n.pkts[o], r.n.pkts[p], r.n.ip_bytes[o], r.n.ip_bytes[p],
                        r.n.start_time.ns});
    });
    seen.push_back(s);
  }
  std::vector<Seen> seen;
};

// Client 10.0.0.1:40000, server 10.0.0.2:80; seq/ack relative to ISNs 1000 and 5000.
class Talk {
 public:
  explicit Talk(tcp::TrackerOptions opts) : tracker_(opts, sink_) {}
  void c2s(std::int64_t ms, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
           std::size_t len = 0) {
    send(true, ms, flags, 1000 + seq, 5000 + ack, len);
  }
  void s2c(std::int64_t ms, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
           std::size_t len = 0) {
    send(false, ms, flags, 5000 + seq, 1000 + ack, len);
  }
  // The same with a TCP checksum that does not verify.
  void c2s_bad(std::int64_t ms, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
               std::size_t len = 0) {
    bad_ = true;
    c2s(ms, flags, seq, ack, len);
    bad_ = false;
  }
  const std::vector<Seen>& finish() {
    tracker_.finish();
    return sink_.seen;
  }

 private:
  void send(bool from_client, std::int64_t ms, std::uint16_t flags, std::uint32_t seq,
            std::uint32_t ack, std::size_t len) {
    test::Tcp t;
    t.sport = from_client ? 40000 : 80;
    t.dport = from_client ? 80 : 40000;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.payload_len = len;
    test::Frame f = from_client ? test::tcp4("10.0.0.1", "10.0.0.2", t)
                                : test::tcp4("10.0.0.2", "10.0.0.1", t);
    f.ts = core::Timestamp{1'700'000'000LL * core::kNsPerSec + ms * 1'000'000};
    f.index = index_++;
    decode::Segment seg;
    REQUIRE(decode::decode(f.view(), seg) == decode::Status::Ok);
    if (bad_) seg.checksum = decode::Checksum::Bad;
    tracker_.process(seg);
  }

  Recorder sink_;
  tcp::Tracker tracker_;
  std::uint64_t index_ = 0;
  bool bad_ = false;
};

constexpr std::uint16_t kS = fl::kSyn, kA = fl::kAck, kF = fl::kFin, kP = fl::kPsh;

// The client's SYN at `ms`, then the handshake, 10 bytes each way acked, and a
// four-way close, a millisecond apart.
void clean_close(Talk& t, std::int64_t ms) {
  t.c2s(ms, kS, 0, 0);
  t.s2c(ms + 1, kS | kA, 0, 1);
  t.c2s(ms + 2, kA, 1, 1);
  t.c2s(ms + 3, kA | kP, 1, 1, 10);
  t.s2c(ms + 4, kA, 1, 11);
  t.c2s(ms + 5, kF | kA, 11, 1);
  t.s2c(ms + 6, kF | kA, 1, 12);
  t.c2s(ms + 7, kA, 12, 2);
}

}  // namespace

TEST_CASE("memory: a connection stays within its size budget", "[tcp][memory]") {
  INFO("sizeof(tcp::Connection) = " << sizeof(tcp::Connection));
  CHECK(sizeof(tcp::Connection) <= kConnectionBudget);
}

TEST_CASE("memory: Zeek's history keeps 15 letters inline, up to 64 on the heap",
          "[tcp][memory][zeek]") {
  static_assert(sizeof(tcp::ZeekHistory) == 16);
  std::string letters;
  for (std::size_t i = 0; i < 80; ++i) letters += "ShADadFfTtWwCcGgRrIiQq"[i % 22];
  const std::size_t n = GENERATE(as<std::size_t>{}, 0, 1, 14, 15, 16, 17, 63, 64, 65, 70);
  tcp::ZeekHistory h;
  for (std::size_t i = 0; i < n; ++i) h.push_back(letters[i]);
  const std::string want = letters.substr(0, std::min<std::size_t>(n, 64));
  CHECK(h.view() == want);
  CHECK(h.size() == want.size());
  tcp::ZeekHistory copy = h;
  CHECK(copy.view() == want);
  copy.push_back('x');
  CHECK(h.view() == want);  // the copy owns its own letters
  tcp::ZeekHistory moved = std::move(copy);
  CHECK(moved.size() == std::min<std::size_t>(want.size() + 1, 64));
  moved = h;
  CHECK(moved.view() == want);
  moved = tcp::ZeekHistory{};
  CHECK(moved.empty());
  h.assign("^h");
  CHECK(h == "^h");
}

TEST_CASE("memory: a clean connection without --timeline allocates nothing out of line",
          "[tcp][memory]") {
  tcp::TrackerOptions opts;
  opts.keep_events = false;
  Talk t(opts);
  clean_close(t, 0);
  const auto& seen = t.finish();
  REQUIRE(seen.size() == 1);
  CHECK_FALSE(seen[0].cold);
  CHECK_FALSE(seen[0].anomaly_log);
  REQUIRE(seen[0].rows.size() == 1);
  CHECK(seen[0].rows[0].conn_state == "SF");
}

TEST_CASE("memory: Zeek's rows split by its attempt timer survive out of line",
          "[tcp][memory][zeek]") {
  const bool timeline = GENERATE(false, true);
  tcp::TrackerOptions opts;
  opts.keep_events = timeline;
  Talk t(opts);
  t.c2s(0, kS, 0, 0);  // unanswered for 6 s: Zeek's attempt timer ends its first row
  clean_close(t, 6000);  // its retransmission, then the same clean life
  const auto& seen = t.finish();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].cold);
  REQUIRE(seen[0].rows.size() == 2);
  CHECK(seen[0].rows[0].conn_state == "S0");
  CHECK(seen[0].rows[0].history == "S");
  CHECK(seen[0].rows[0].orig_pkts == 1);
  CHECK(seen[0].rows[0].resp_pkts == 0);
  CHECK(seen[0].rows[1].conn_state == "SF");
  CHECK(seen[0].rows[1].history == "ShADaFf");
  CHECK(seen[0].rows[1].orig_pkts == 5);
  CHECK(seen[0].rows[1].resp_pkts == 3);
}

TEST_CASE("memory: Zeek's packet counts leave out packets it drops for a bad checksum",
          "[tcp][memory][zeek]") {
  // The whole connection's row derives its counts from the connection's own
  // (Connection::zk_counts); a row split off by a timer counts its own.
  const bool split = GENERATE(false, true);
  Talk t(tcp::TrackerOptions{});
  std::int64_t at = 0;
  if (split) {
    t.c2s(0, kS, 0, 0);
    at = 6000;
  }
  t.c2s(at, kS, 0, 0);
  t.s2c(at + 1, kS | kA, 0, 1);
  t.c2s_bad(at + 2, kA | kP, 1, 1, 10);  // dropped by Zeek: history C, not counted
  t.c2s(at + 3, kA | kP, 1, 1, 10);
  t.s2c(at + 4, kA, 1, 11);
  const auto& seen = t.finish();
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0].rows.size() == (split ? 2u : 1u));
  constexpr std::int64_t kT0 = 1'700'000'000LL * core::kNsPerSec;  // Talk's time 0
  const Row& r = seen[0].rows.back();
  CHECK(r.history == "ShCDa");
  CHECK(r.orig_pkts == 2);
  CHECK(r.resp_pkts == 2);
  CHECK(r.orig_ip_bytes == 40 + 50);  // the SYN and one 10-byte segment, not the bad one
  CHECK(r.resp_ip_bytes == 40 + 40);
  CHECK(r.start_ns == kT0 + at * 1'000'000);
  if (split) {  // the row the attempt timer finished, counted from the connection's own
    const Row& first = seen[0].rows.front();
    CHECK(first.conn_state == "S0");
    CHECK(first.orig_pkts == 1);
    CHECK(first.resp_pkts == 0);
    CHECK(first.orig_ip_bytes == 40);
    CHECK(first.start_ns == kT0);
  }
}

TEST_CASE("memory: a tunnelled connection keeps its tunnel, --timeline its state durations",
          "[tcp][memory]") {
  const bool timeline = GENERATE(false, true);
  Config cfg;
  cfg.output.full_events = timeline;
  const auto r = test::run_capture(test::testdata("crafted_gre.pcap"), cfg);
  REQUIRE(r.rc == 0);
  const auto& c = r.doc["connections"][0];
  REQUIRE(c["tunnel"].is_object());
  CHECK(c["tunnel"]["kind"] == "gre");
  CHECK(c["tunnel"]["outer_src"] == "203.0.113.1");
  CHECK(c["tunnel"]["outer_dst"] == "203.0.113.2");
  CHECK(c.contains("state_durations") == timeline);
  CHECK(c.contains("events") == timeline);
  if (timeline) {
    CHECK(c["state_durations"]["client"]["ESTABLISHED"] == 0.006);
    CHECK(c["state_durations"]["server"]["LAST_ACK"] == 0.001);
    CHECK(c["events_dropped"] == 0);
  }
}

TEST_CASE("memory: slots fill huge-page chunks, ids found by shift and mask, reused when released",
          "[tcp][memory]") {
  struct Big {
    std::array<char, 1000> bytes{};
    std::uint32_t tag = 0;
  };
  using Store = tcp::SlotStore<Big>;
  STATIC_REQUIRE(Store::kPerChunk == (2u << 20) / sizeof(Big));  // 2,088: not a power of two
  STATIC_REQUIRE(Store::kMask + 1 >= Store::kPerChunk);
  Store store;
  std::vector<std::uint32_t> ids;
  const std::uint32_t n = 3 * Store::kPerChunk + 5;
  for (std::uint32_t i = 0; i < n; ++i) {
    ids.push_back(store.acquire());
    store[ids.back()].tag = i + 1;
  }
  // Distinct, increasing, and inside the chunk's slots: no slot is shared.
  CHECK(std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end());
  CHECK(std::all_of(ids.begin(), ids.end(),
                    [](std::uint32_t id) { return (id & Store::kMask) < Store::kPerChunk; }));
  CHECK(ids[Store::kPerChunk] == Store::kMask + 1);  // the second chunk starts on its boundary
  bool all_kept = true;
  for (std::uint32_t i = 0; i < n; ++i) all_kept = all_kept && store[ids[i]].tag == i + 1;
  CHECK(all_kept);
  // A released slot is reset and handed out again before any new one.
  store.release(ids[7]);
  CHECK(store[ids[7]].tag == 0);
  CHECK(store.acquire() == ids[7]);
  CHECK(store.acquire() == ids.back() + 1);
}

TEST_CASE("memory: huge storage constructs a range on first use, value-initialised, in bounds",
          "[core][memory]") {
  struct Entry {
    std::uint64_t a = 7;
    std::uint32_t b = 0;
  };
  core::HugeStorage<Entry> store(3000);
  Entry* first = store.construct(0, 1000);
  Entry* third = store.construct(2000, 1000);
  CHECK(third == first + 2000);  // one array: ranges are at their place in it
  bool all_init = true;
  for (std::size_t i = 0; i < 1000; ++i)
    all_init = all_init && first[i].a == 7 && first[i].b == 0 && third[i].a == 7;
  CHECK(all_init);
  first[999].b = 5;
  CHECK(store.construct(1000, 1000) == first + 1000);
  CHECK(first[999].b == 5);  // constructing a range leaves its neighbours alone
  CHECK_THROWS_AS(store.construct(2001, 1000), std::out_of_range);
  CHECK_THROWS_AS(store.construct(3001, 0), std::out_of_range);
  CHECK_NOTHROW(store.construct(3000, 0));
}
