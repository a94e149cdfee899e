// SPDX-License-Identifier: MIT
// Per-segment analysis (src/analyze): Wireshark's classes and precedence,
// tcplife's documented deviations, validity checks, RTT and vantage point.
// Conversations are built frame by frame with packet_builder.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "output/analysis_json.hpp"
#include "support/packet_builder.hpp"
#include "tcplife/analyze/evidence.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/analyze/summary.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace {

using namespace tcplife;
using namespace tcplife::test;
using analyze::bit;
using analyze::Deviation;
using analyze::SegClass;
using K = analyze::SegClass;

constexpr std::uint16_t kCport = 40000, kSport = 80;
constexpr std::uint32_t kCisn = 1000, kSisn = 5000;

// Builds a conversation between 10.0.0.1:40000 (client) and 10.0.0.2:80,
// one frame at a time; each side numbers its IPv4 packets upwards.
struct Conv {
  std::vector<Frame> frames;
  std::int64_t now_ns = 1'700'000'000'000'000'000;
  std::uint16_t cid = 0x100, sid = 0x4000;
  bool ts = false;  // add TCP timestamps (TSval = time in ms)

  // Appends a frame `dt_us` after the previous one; returns its frame number.
  std::uint64_t add(bool from_client, Tcp t, std::int64_t dt_us,
                    std::optional<std::uint16_t> id = {}) {
    now_ns += dt_us * 1000;
    t.sport = from_client ? kCport : kSport;
    t.dport = from_client ? kSport : kCport;
    if (ts && t.options.bytes.empty()) {
      t.options.nop().nop().ts(static_cast<std::uint32_t>(now_ns / 1'000'000 % 100000000), 0);
    }
    const std::uint16_t ipid = id ? *id : (from_client ? cid++ : sid++);
    Frame f = build(Eth{},
                    Ipv4{.src = from_client ? "10.0.0.1" : "10.0.0.2",
                         .dst = from_client ? "10.0.0.2" : "10.0.0.1",
                         .id = ipid},
                    std::move(t));
    f.ts = core::Timestamp{now_ns};
    f.index = frames.size();
    frames.push_back(std::move(f));
    return frames.size();
  }
  std::uint64_t c(Tcp t, std::int64_t dt_us = 1000, std::optional<std::uint16_t> id = {}) {
    return add(true, std::move(t), dt_us, id);
  }
  std::uint64_t s(Tcp t, std::int64_t dt_us = 1000, std::optional<std::uint16_t> id = {}) {
    return add(false, std::move(t), dt_us, id);
  }
  // SYN, SYN-ACK, ACK with window scale 0 and SACK: rtt_us is the full round trip.
  void handshake(std::int64_t rtt_us = 10000, std::uint16_t wnd = 65535) {
    c({.seq = kCisn,
       .flags = flag::kSyn,
       .window = wnd,
       .options = TcpOpts{}.mss(1460).sack_perm().ws(0)},
      0);
    s({.seq = kSisn,
       .ack = kCisn + 1,
       .flags = flag::kSyn | flag::kAck,
       .window = wnd,
       .options = TcpOpts{}.mss(1460).sack_perm().ws(0)},
      rtt_us - 100);
    c({.seq = kCisn + 1, .ack = kSisn + 1, .window = wnd}, 100);
  }
};

// Client data at relative offset `off` (0 = first data byte), acking server byte 1.
Tcp cdata(std::uint32_t off, std::size_t len, std::uint16_t wnd = 65535) {
  return {.seq = kCisn + 1 + off,
          .ack = kSisn + 1,
          .flags = flag::kAck | flag::kPsh,
          .window = wnd,
          .payload_len = len};
}
// Server ACK of client data up to relative offset `off`.
Tcp sack_of(std::uint32_t off, std::uint16_t wnd = 65535, TcpOpts o = {}) {
  return {.seq = kSisn + 1, .ack = kCisn + 1 + off, .window = wnd, .options = std::move(o)};
}

// What a test needs of a finished connection (Connection itself is move-only).
struct ConnSnap {
  tcp::Side client = tcp::Side::Lo;
  std::vector<tcp::Anomaly> anomalies;
  std::vector<tcp::AnomalyCount> counts;
  std::array<tcp::SegAnalysisEndpoint, 2> analysis{};
  analyze::Vantage vantage = analyze::Vantage::Unknown;
  std::string analysis_json;  // {"analysis": {...}}

  [[nodiscard]] std::uint32_t count_of(tcp::AnomalyKind k) const {
    std::uint32_t n = 0;
    for (const auto& a : counts)
      if (a.kind == k) n += a.count;
    return n;
  }
  [[nodiscard]] std::uint32_t total() const {
    std::uint32_t n = 0;
    for (const auto& a : counts) n += a.count;
    return n;
  }
  [[nodiscard]] const tcp::RttStats& rtt(bool of_client, bool ts) const {
    const auto& e = analysis[flow::idx(of_client ? client : flow::other(client))];
    return ts ? e.ts_rtt : e.rtt;
  }
};

struct Result final : analyze::VerdictSink, tcp::ConnectionSink {
  std::map<std::uint64_t, analyze::SegmentVerdict> v;  // by frame
  std::vector<ConnSnap> conns;
  void on_verdict(const tcp::Connection&, tcp::Side, const decode::Segment& seg,
                  const analyze::SegmentVerdict& x) override {
    v[seg.index + 1] = x;
  }
  void on_connection(const tcp::Connection& c) override {
    ConnSnap s;
    s.client = c.client;
    s.anomalies.assign(c.anomalies().begin(), c.anomalies().end());
    s.counts.assign(c.anomaly_counts().begin(), c.anomaly_counts().end());
    s.analysis = c.analysis;
    s.vantage = analyze::vantage(c).where;
    output::JsonWriter w(s.analysis_json);
    w.begin_object();
    output::write_analysis_json(w, c);
    w.end_object();
    w.commit();
    conns.push_back(std::move(s));
  }

  [[nodiscard]] bool has(std::uint64_t frame, K k) const {
    const auto it = v.find(frame);
    return it != v.end() && (it->second.classes & bit(k)) != 0;
  }
  [[nodiscard]] bool ws(std::uint64_t frame, K k) const {
    const auto it = v.find(frame);
    return it != v.end() && (it->second.wireshark & bit(k)) != 0;
  }
  [[nodiscard]] std::uint32_t classes(std::uint64_t frame) const {
    const auto it = v.find(frame);
    return it == v.end() ? 0 : it->second.classes;
  }
  [[nodiscard]] Deviation dev(std::uint64_t frame) const {
    const auto it = v.find(frame);
    return it == v.end() ? Deviation::None : it->second.deviation;
  }
  [[nodiscard]] const ConnSnap& conn() const {
    REQUIRE(conns.size() == 1);
    return conns.front();
  }
  [[nodiscard]] std::uint32_t count(tcp::AnomalyKind k) const { return conn().count_of(k); }
};

Result run(const Conv& cv) {
  Result r;
  analyze::SeqAnalyzer an(&r);
  tcp::Tracker tr(tcp::TrackerOptions{}, r, &an);
  decode::Segment seg;
  for (const Frame& f : cv.frames) {
    REQUIRE(decode::decode(f.view(), seg) == decode::Status::Ok);
    tr.process(seg);
  }
  tr.finish();
  return r;
}

std::string detail_of(const ConnSnap& c, tcp::AnomalyKind k) {
  for (const tcp::Anomaly& a : c.anomalies) {
    if (a.kind != k) continue;
    std::string out;
    if (output::analysis_detail(a, out)) return out;
  }
  return "";
}

}  // namespace

TEST_CASE("analyze: a clean exchange has no class at all", "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 100));
  cv.s(sack_of(100));
  const Result r = run(cv);
  for (const auto& [frame, v] : r.v) CHECK(v.classes == 0);
  for (std::size_t k = 0; k < analyze::kSegClasses; ++k)
    CHECK(r.count(analyze::seg_class_kind(static_cast<K>(k))) == 0);
}

TEST_CASE("analyze: duplicate ACKs are numbered and a fast retransmission follows them",
          "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 1000));
  cv.c(cdata(1000, 1000));  // lost after the capture point
  cv.c(cdata(2000, 1000));
  cv.c(cdata(3000, 1000));
  cv.c(cdata(4000, 1000), 100);
  cv.s(sack_of(1000), 9000);
  const auto d1 = cv.s(sack_of(1000), 100);
  const auto d2 = cv.s(sack_of(1000), 100);
  const auto d3 = cv.s(sack_of(1000), 100);
  const auto fr = cv.c(cdata(1000, 1000), 200);
  const Result r = run(cv);
  CHECK(r.has(d1, K::DupAck));
  CHECK(r.v.at(d1).dupack_num == 1);
  CHECK(r.v.at(d3).dupack_num == 3);
  CHECK(r.has(d2, K::DupAck));
  CHECK(r.classes(fr) == bit(K::FastRetransmission));
  CHECK(r.count(tcp::AnomalyKind::DupAck) == 3);
  const std::string d = detail_of(r.conn(), tcp::AnomalyKind::FastRetransmission);
  CHECK(d.find("seq 1001..2001 (1000 B)") != std::string::npos);
  CHECK(d.find("3 duplicate ACKs of frame 9") != std::string::npos);
  CHECK(d.find("all of it captured before") != std::string::npos);
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::DupAck) == "duplicate ACK #1 of frame 9 (ack 1001)");
}

TEST_CASE("analyze: a resend long after the original is a retransmission (RTO)", "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 500));
  const auto rto = cv.c(cdata(0, 500), 300000);
  const Result r = run(cv);
  CHECK(r.classes(rto) == bit(K::Retransmission));
  CHECK(r.dev(rto) == Deviation::None);
  const std::string d = detail_of(r.conn(), tcp::AnomalyKind::Retransmission);
  CHECK(d.find("seq 1..501 (500 B) sent again, all of it captured before") == 0);
  CHECK(d.find("frame 4, 0.300000 s earlier") != std::string::npos);
}

TEST_CASE("analyze: reordering within the iRTT is out-of-order, and the IP ID confirms it",
          "[analyze]") {
  Conv cv;
  cv.handshake(20000);
  for (std::uint32_t i = 0; i < 5; ++i)
    cv.s({.seq = kSisn + 1 + i * 100, .ack = kCisn + 1, .payload_len = 100}, 100);
  // server segment 5 was held back by the network: 6 arrives first
  const std::uint16_t late_id = cv.sid++;
  const auto lost = cv.s({.seq = kSisn + 1 + 600, .ack = kCisn + 1, .payload_len = 100}, 100);
  const auto ooo =
      cv.s({.seq = kSisn + 1 + 500, .ack = kCisn + 1, .payload_len = 100}, 2000, late_id);
  const Result r = run(cv);
  CHECK(r.has(lost, K::LostSegment));
  CHECK(r.ws(ooo, K::OutOfOrder));
  CHECK(r.classes(ooo) == bit(K::OutOfOrder));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::LostSegment) ==
        "seq 601 but 501 expected (after frame 8): 100 B before it were not captured");
}

TEST_CASE("analyze: an old sequence number with a newer IP ID is a resend, not reordering",
          "[analyze]") {
  Conv cv;
  cv.handshake(20000);
  for (std::uint32_t i = 0; i < 6; ++i)
    cv.s({.seq = kSisn + 1 + i * 100, .ack = kCisn + 1, .payload_len = 100}, 100);
  // 2 ms later (within the 20 ms iRTT) the first segment again, newly numbered
  const auto re = cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 2000);
  const Result r = run(cv);
  CHECK(r.ws(re, K::OutOfOrder));
  CHECK(r.classes(re) == bit(K::Retransmission));
  CHECK(r.dev(re) == Deviation::SentAfterHighest);
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::Retransmission).find("sent after it") !=
        std::string::npos);
}

TEST_CASE("analyze: an older TSval turns Wireshark's retransmission into out-of-order",
          "[analyze]") {
  Conv cv;
  cv.handshake(2000);
  const auto seg = [](std::uint32_t off, std::uint32_t tsval) {
    return Tcp{.seq = kSisn + 1 + off,
               .ack = kCisn + 1,
               .options = TcpOpts{}.nop().nop().ts(tsval, 0),
               .payload_len = 100};
  };
  for (std::uint32_t i = 0; i < 5; ++i) cv.s(seg(i * 100, 10 + i), 100);
  cv.s(seg(600, 16), 100);
  // sent (TSval 15) before the segment that overtook it, held 5 ms: more than
  // the 2 ms iRTT, so Wireshark says retransmission
  const auto late = cv.s(seg(500, 15), 5000);
  // the same 5 ms late with only an older IP ID: some stacks resend with the
  // original's ID, so an IP ID alone does not overrule a timer-length delay
  const Result r = run(cv);
  CHECK(r.ws(late, K::Retransmission));
  CHECK(r.classes(late) == bit(K::OutOfOrder));
  CHECK(r.dev(late) == Deviation::SentBeforeHighest);
}

TEST_CASE("analyze: an older IP ID is trusted only within half a round trip", "[analyze]") {
  for (const std::int64_t held_us : {500, 5000}) {
    Conv cv;
    cv.handshake(2000);
    for (std::uint32_t i = 0; i < 5; ++i)
      cv.s({.seq = kSisn + 1 + i * 100, .ack = kCisn + 1, .payload_len = 100}, 100);
    const std::uint16_t late_id = cv.sid++;
    cv.s({.seq = kSisn + 1 + 600, .ack = kCisn + 1, .payload_len = 100}, 100);
    const auto late =
        cv.s({.seq = kSisn + 1 + 500, .ack = kCisn + 1, .payload_len = 100}, held_us, late_id);
    const Result r = run(cv);
    CHECK(r.classes(late) == (held_us < 1000 ? bit(K::OutOfOrder) : bit(K::Retransmission)));
  }
}

TEST_CASE("analyze: TSval order decides when IP IDs cannot (IPv6-like: all zero)", "[analyze]") {
  Conv cv;
  cv.ts = true;
  cv.handshake(20000);
  for (std::uint32_t i = 0; i < 3; ++i)
    cv.s({.seq = kSisn + 1 + i * 100, .ack = kCisn + 1, .payload_len = 100}, 1000,
         std::uint16_t{0});
  const auto re =
      cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 3000, std::uint16_t{0});
  const Result r = run(cv);
  CHECK(r.ws(re, K::OutOfOrder));
  CHECK(r.classes(re) == bit(K::Retransmission));
  CHECK(r.dev(re) == Deviation::SentAfterHighest);
}

TEST_CASE("analyze: data already acknowledged is a spurious retransmission", "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 100));
  cv.s(sack_of(100), 10000);
  const auto sp = cv.c(cdata(0, 100), 200000);
  const Result r = run(cv);
  CHECK(r.classes(sp) == bit(K::SpuriousRetransmission));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::SpuriousRetransmission) ==
        "seq 1..101 (100 B) sent again though the receiver had acknowledged up to 101");
}

TEST_CASE("analyze: an identical copy right after the original is a network duplicate",
          "[analyze]") {
  Conv cv;
  cv.ts = true;
  cv.handshake(10000);
  const auto orig = cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 1000);
  const auto same = static_cast<std::uint16_t>(cv.sid - 1);
  // 0 µs later, same IP ID, same TSval (the builder derives it from the time)
  const auto dup = cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 0, same);
  const Result r = run(cv);
  CHECK(r.classes(dup) == bit(K::NetworkDuplicate));
  CHECK(r.dev(dup) == Deviation::NetworkDuplicate);
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::NetworkDuplicate)
            .find("exact copy of frame " + std::to_string(orig)) != std::string::npos);
  CHECK(r.count(tcp::AnomalyKind::Retransmission) == 0);
}

TEST_CASE("analyze: the same IP ID a round trip later is a retransmission, not a copy",
          "[analyze]") {
  Conv cv;
  cv.handshake(10000);
  cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 1000);
  const std::uint16_t same = static_cast<std::uint16_t>(cv.sid - 1);
  const auto re = cv.s({.seq = kSisn + 1, .ack = kCisn + 1, .payload_len = 100}, 250000, same);
  const Result r = run(cv);
  CHECK(r.classes(re) == bit(K::Retransmission));
}

TEST_CASE("analyze: ACK of data never captured is ack_unseen", "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 100));
  const auto a = cv.s(sack_of(300), 10000);  // the client's 100..300 was not captured
  const Result r = run(cv);
  CHECK(r.classes(a) == bit(K::AckUnseen));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::AckUnseen) ==
        "acknowledges 301 but the peer's data was captured only up to 101");
}

TEST_CASE("analyze: zero window, a Linux probe, its answer and the window update", "[analyze]") {
  Conv cv;
  cv.handshake(10000, 1000);  // the 1000 B fill the window: its edge does not move
  cv.c(cdata(0, 1000));
  const auto zw = cv.s(sack_of(1000, 0), 10000);
  // Linux probes with seq = SND.UNA - 1 and no data (Wireshark: keep-alive)
  const auto probe = cv.c({.seq = kCisn + 1000, .ack = kSisn + 1}, 200000);
  const auto answer = cv.s(sack_of(1000, 0), 100);
  const auto wu = cv.s(sack_of(1000, 8000), 300000);
  const Result r = run(cv);
  CHECK(r.classes(zw) == bit(K::ZeroWindow));
  CHECK(r.ws(probe, K::KeepAlive));
  CHECK(r.classes(probe) == bit(K::ZeroWindowProbe));
  CHECK(r.dev(probe) == Deviation::ProbeIntoZeroWindow);
  CHECK(r.has(answer, K::ZeroWindow));
  CHECK(r.has(answer, K::ZeroWindowProbeAck));
  CHECK(r.classes(wu) == bit(K::WindowUpdate));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::WindowUpdate) ==
        "window 0 -> 8000 with the same ack 1001");
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::ZeroWindowProbe) ==
        "no data at seq 1000 (one below the next) into the peer's zero window");
}

TEST_CASE("analyze: a 1-byte probe into a zero window and its ACK, as Wireshark defines them",
          "[analyze]") {
  Conv cv;
  cv.handshake(10000, 1000);
  cv.c(cdata(0, 1000));
  cv.s(sack_of(1000, 0), 10000);
  const auto probe = cv.c(cdata(1000, 1), 200000);
  const auto ack = cv.s(sack_of(1000, 0), 100);
  const Result r = run(cv);
  CHECK(r.classes(probe) == bit(K::ZeroWindowProbe));
  CHECK(r.classes(ack) == (bit(K::ZeroWindow) | bit(K::ZeroWindowProbeAck)));
  CHECK(r.count(tcp::AnomalyKind::SeqOutOfWindow) == 0);  // probes may poke past the window
}

TEST_CASE("analyze: keep-alive and its ACK", "[analyze]") {
  Conv cv;
  cv.handshake();
  cv.c(cdata(0, 100));
  cv.s(sack_of(100), 10000);
  const auto ka = cv.c({.seq = kCisn + 100, .ack = kSisn + 1}, 2'000'000);
  const auto kaa = cv.s(sack_of(100), 100);
  const Result r = run(cv);
  CHECK(r.classes(ka) == bit(K::KeepAlive));
  CHECK(r.classes(kaa) == bit(K::KeepAliveAck));
}

TEST_CASE("analyze: data up to the receiver's window edge is window_full; past it, out of window",
          "[analyze]") {
  Conv cv;
  cv.handshake(10000, 2000);
  const auto full = cv.c(cdata(0, 2000, 65535), 100);
  cv.s(sack_of(1000, 2000), 10000);  // edge at 3001
  const auto past = cv.c(cdata(2000, 1500), 100);
  const Result r = run(cv);
  CHECK(r.has(full, K::WindowFull));
  CHECK(r.has(past, K::SeqOutOfWindow));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::SeqOutOfWindow) ==
        "data ends at 3501, 500 B beyond the highest right edge the receiver advertised (3001)");
}

TEST_CASE("analyze: an ACK beyond anything sendable, or a window behind, is out of range",
          "[analyze]") {
  Conv cv;
  cv.handshake(10000, 4000);
  cv.c(cdata(0, 1000));
  cv.s(sack_of(1000, 4000), 10000);
  const auto behind = cv.s({.seq = kSisn + 1, .ack = kCisn + 1 - 100000, .window = 4000}, 100);
  const auto ahead = cv.s(sack_of(900000, 4000), 100);
  const auto fine = cv.s(sack_of(1000, 4000), 100);  // the bogus ACKs moved nothing
  const Result r = run(cv);
  CHECK(r.has(ahead, K::AckOutOfRange));
  CHECK(r.has(behind, K::AckOutOfRange));
  CHECK_FALSE(r.has(fine, K::AckOutOfRange));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::AckOutOfRange) ==
        "acknowledges -99999, more than a window behind (lowest acceptable -6999, RFC 5961)");
}

TEST_CASE("analyze: a receiver pulling its right edge back shrinks the window", "[analyze]") {
  Conv cv;
  cv.handshake(10000, 8000);
  cv.c(cdata(0, 1000));
  cv.s(sack_of(1000, 8000), 10000);                // edge 9001
  const auto sh = cv.s(sack_of(2000, 1000), 100);  // edge 3001, ack moved on: a 6000 B shrink
  const Result r = run(cv);
  CHECK(r.has(sh, K::WindowShrink));
  CHECK(detail_of(r.conn(), tcp::AnomalyKind::WindowShrink) ==
        "right edge of the window moved left from 9001 to 3001 (6000 B)");
}

TEST_CASE("analyze: SACK blocks that cannot be right", "[analyze]") {
  Conv cv;
  cv.handshake(10000, 4000);
  cv.c(cdata(0, 1000));
  cv.c(cdata(1000, 1000));
  const auto bad =
      cv.s(sack_of(1000, 4000, TcpOpts{}.nop().nop().sack({{kCisn + 1 + 1500, kCisn + 1 + 1200}})),
           10000);
  const auto beyond =
      cv.s(sack_of(1000, 4000, TcpOpts{}.nop().nop().sack({{kCisn + 1 + 1000, kCisn + 1 + 90000}})),
           100);
  const auto dsack = cv.s(
      sack_of(1000, 4000, TcpOpts{}.nop().nop().sack({{kCisn + 1 + 0, kCisn + 1 + 500}})), 100);
  const Result r = run(cv);
  CHECK(r.has(bad, K::SackOutOfWindow));
  CHECK(r.has(beyond, K::SackOutOfWindow));
  CHECK_FALSE(r.has(dsack, K::SackOutOfWindow));  // D-SACK below the ACK is allowed (RFC 2883)
}

TEST_CASE("analyze: RTT samples follow Karn's rule", "[analyze]") {
  Conv cv;
  cv.handshake(10000);
  cv.c(cdata(0, 100));
  cv.s(sack_of(100), 10000);  // sample: 10 ms
  cv.c(cdata(100, 100), 1000);
  cv.s(sack_of(200), 20000);  // sample: 20 ms
  cv.c(cdata(200, 100), 1000);
  cv.c(cdata(200, 100), 300000);  // resent: no sample from it
  cv.s(sack_of(300), 5000);
  cv.c(cdata(300, 100), 1000);
  cv.s(sack_of(400), 12000);  // sample: 12 ms
  const Result r = run(cv);
  const analyze::RttSummary s = analyze::summarize(r.conn().rtt(true, false));
  CHECK(s.samples == 3);
  CHECK(s.min_ns == 10'000'000);
  CHECK(s.max_ns == 20'000'000);
  CHECK(s.median_ns >= 11'000'000);
  CHECK(s.median_ns <= 13'100'000);
}

TEST_CASE("analyze: TSval echoes give RTT samples", "[analyze]") {
  Conv cv;
  cv.handshake(10000);
  for (int i = 0; i < 4; ++i) {
    cv.c({.seq = kCisn + 1 + static_cast<std::uint32_t>(i) * 100,
          .ack = kSisn + 1,
          .options = TcpOpts{}.nop().nop().ts(100 + static_cast<std::uint32_t>(i), 7),
          .payload_len = 100},
         5000);
    cv.s({.seq = kSisn + 1,
          .ack = kCisn + 1 + static_cast<std::uint32_t>(i + 1) * 100,
          .options = TcpOpts{}.nop().nop().ts(7, 100 + static_cast<std::uint32_t>(i))},
         3000);
  }
  const Result r = run(cv);
  const analyze::RttSummary s = analyze::summarize(r.conn().rtt(true, true));
  CHECK(s.samples == 4);
  CHECK(s.min_ns == 3'000'000);
  CHECK(s.max_ns == 3'000'000);
}

TEST_CASE("analyze: RTT histogram keeps the median within 10 % and min/max exact", "[analyze]") {
  for (const std::uint32_t base : {7u, 45u, 1000u, 95000u, 3'000'000u}) {
    tcp::RttStats st;
    std::vector<std::uint32_t> xs;
    for (std::uint32_t i = 0; i < 1001; ++i) xs.push_back(base + (i * 7919u) % (base + 1));
    for (const auto x : xs) analyze::add_sample(st, x);
    std::sort(xs.begin(), xs.end());
    const analyze::RttSummary s = analyze::summarize(st);
    const double med = static_cast<double>(xs[500]) * 1000.0;
    CHECK(s.samples == 1001);
    CHECK(s.min_ns == std::int64_t{xs.front()} * 1000);
    CHECK(s.max_ns == std::int64_t{xs.back()} * 1000);
    CHECK(static_cast<double>(s.median_ns) >= med * 0.9 - 1000.0);
    CHECK(static_cast<double>(s.median_ns) <= med * 1.1 + 1000.0);
  }
  SECTION("a window that must slide keeps every sample") {
    tcp::RttStats st;
    for (int i = 0; i < 50; ++i) analyze::add_sample(st, 10);
    for (int i = 0; i < 51; ++i) analyze::add_sample(st, 500000);
    const analyze::RttSummary s = analyze::summarize(st);
    CHECK(s.median_ns >= 450'000'000);
    CHECK(s.min_ns == 10'000);
  }
}

TEST_CASE("analyze: vantage point from the handshake halves", "[analyze]") {
  const auto where = [](std::int64_t syn_to_synack_us, std::int64_t synack_to_ack_us) {
    Conv cv;
    cv.c({.seq = kCisn, .flags = flag::kSyn, .options = TcpOpts{}.mss(1460)}, 0);
    cv.s({.seq = kSisn,
          .ack = kCisn + 1,
          .flags = flag::kSyn | flag::kAck,
          .options = TcpOpts{}.mss(1460)},
         syn_to_synack_us);
    cv.c({.seq = kCisn + 1, .ack = kSisn + 1}, synack_to_ack_us);
    const Result r = run(cv);
    return r.conn().vantage;
  };
  CHECK(where(20000, 30) == analyze::Vantage::ClientSide);
  CHECK(where(40, 20000) == analyze::Vantage::ServerSide);
  CHECK(where(8000, 12000) == analyze::Vantage::Middle);
  CHECK(where(60, 40) == analyze::Vantage::Unknown);  // close to both: cannot tell
}

TEST_CASE("analyze: at the sender's side an old segment cannot be reordering", "[analyze]") {
  Conv cv;
  cv.handshake(20000);  // client side: SYN-ACK -> ACK is 0.1 ms
  for (std::uint32_t i = 0; i < 3; ++i) cv.c(cdata(i * 100, 100), 100, std::uint16_t{0});
  const auto re = cv.c(cdata(0, 100), 2000, std::uint16_t{0});
  const Result r = run(cv);
  CHECK(r.ws(re, K::OutOfOrder));
  CHECK(r.classes(re) == bit(K::Retransmission));
  CHECK(r.dev(re) == Deviation::SenderSideCapture);
}

TEST_CASE("analyze: sequence numbers wrapping at 2^32 change nothing", "[analyze]") {
  for (const std::uint32_t isn : {0u, 0x80000000u, 0xffffffffu, 0xfffffffbu}) {
    Conv cv;
    cv.c({.seq = isn, .flags = flag::kSyn, .options = TcpOpts{}.mss(1460)}, 0);
    cv.s({.seq = kSisn, .ack = isn + 1, .flags = flag::kSyn | flag::kAck}, 10000);
    cv.c({.seq = isn + 1, .ack = kSisn + 1}, 100);
    cv.c({.seq = isn + 1, .ack = kSisn + 1, .payload_len = 100});
    cv.c({.seq = isn + 101, .ack = kSisn + 1, .payload_len = 100});
    const auto rto = cv.c({.seq = isn + 1, .ack = kSisn + 1, .payload_len = 100}, 400000);
    cv.s({.seq = kSisn + 1, .ack = isn + 201}, 1000);
    const Result r = run(cv);
    CHECK(r.classes(rto) == bit(K::Retransmission));
    CHECK(r.conn().count_of(tcp::AnomalyKind::LostSegment) == 0);
    CHECK(r.conn().count_of(tcp::AnomalyKind::AckOutOfRange) == 0);
  }
}

TEST_CASE("analyze: the JSON analysis object", "[analyze]") {
  Conv cv;
  cv.handshake(10000);
  cv.c(cdata(0, 100));
  cv.c(cdata(0, 100), 300000);
  cv.s(sack_of(100), 10000);
  const Result r = run(cv);
  const auto j = nlohmann::json::parse(r.conn().analysis_json);
  CHECK(j["analysis"]["vantage"] == "client_side");
  CHECK(j["analysis"]["irtt"].get<double>() > 0.0099);
  CHECK(j["analysis"]["client"]["counts"]["retransmission"] == 1);
  CHECK(!j["analysis"]["client"]["counts"].contains("dup_ack"));  // only what occurred
  CHECK(j["analysis"]["client"]["resent_bytes"] == 100);
  CHECK(j["analysis"]["server"]["resent_bytes"] == 0);
  CHECK(j["analysis"]["client"]["rtt"]["samples"] == 0);  // the only data was resent (Karn)
  CHECK(j["analysis"]["server"]["rtt"]["min"].is_null());
}

TEST_CASE("analyze: hostile segment streams never break the analysis", "[analyze]") {
  // Random flags, sequence and ack numbers near and far, windows, SACK blocks
  // and timestamps on one 4-tuple (seeded: the same every run). ASan/UBSan
  // builds check the arithmetic; the verdicts must stay within the classes.
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  const auto rnd = [&x]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  Conv cv;
  std::uint32_t cseq = 0xfffff000u, sseq = 7;
  for (int i = 0; i < 3000; ++i) {
    const bool from_client = (rnd() & 1) != 0;
    std::uint32_t& own = from_client ? cseq : sseq;
    const std::uint32_t peer = from_client ? sseq : cseq;
    const std::uint64_t r = rnd();
    Tcp t;
    t.flags = static_cast<std::uint16_t>(r & 0x1ff);
    if ((r >> 9) % 4 != 0) t.flags = flag::kAck | ((r >> 11) % 5 == 0 ? flag::kPsh : 0);
    const auto jitter = static_cast<std::uint32_t>((r >> 16) % 5000);
    t.seq = (r >> 20) % 7 == 0 ? static_cast<std::uint32_t>(rnd()) : own - 2000 + jitter;
    t.ack = (r >> 24) % 9 == 0 ? static_cast<std::uint32_t>(rnd()) : peer - 1000 + jitter;
    t.window = static_cast<std::uint16_t>((r >> 28) % 4 == 0 ? 0 : (r >> 32) & 0xffff);
    t.payload_len = (r >> 48) % 3 == 0 ? 0 : (r >> 50) % 1400;
    if ((r >> 60) % 2 == 0) {
      t.options.nop().nop().ts(static_cast<std::uint32_t>(rnd()),
                               static_cast<std::uint32_t>(rnd()));
      t.options.nop().nop().sack(
          {{peer - jitter, peer + jitter * 3}, {static_cast<std::uint32_t>(rnd()), peer}});
    }
    if ((t.flags & flag::kSyn) != 0 && (r >> 62) != 0)
      t.options = TcpOpts{}.mss(1460).ws(static_cast<std::uint8_t>(r % 16));
    own += static_cast<std::uint32_t>(t.payload_len);
    cv.add(from_client, std::move(t), static_cast<std::int64_t>((r >> 40) % 3000) - 100);
  }
  Result r;
  analyze::SeqAnalyzer an(&r);
  tcp::Tracker tr(tcp::TrackerOptions{}, r, &an);
  decode::Segment seg;
  for (const Frame& f : cv.frames)
    if (decode::decode(f.view(), seg) == decode::Status::Ok) tr.process(seg);
  tr.finish();
  CHECK_FALSE(r.conns.empty());
  for (const auto& [frame, v] : r.v) CHECK(v.classes < (1u << analyze::kSegClasses));
  for (const ConnSnap& s : r.conns)
    CHECK(nlohmann::json::parse(s.analysis_json).contains("analysis"));
}
