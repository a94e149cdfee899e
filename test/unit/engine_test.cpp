// SPDX-License-Identifier: MIT
// The lifecycle engine on crafted conversations: frames built field by field,
// decoded, and fed to the tracker; the finished records are read back as JSON.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/packet_builder.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/tracker.hpp"

using namespace tcplife;
using nlohmann::json;
namespace fl = tcplife::decode::flag;

namespace {

class JsonCollector final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection& c) override {
    std::string s;
    output::OutputOptions full;  // the whole record: events and state durations too
    full.full_events = true;
    output::write_connection_json(s, c, full);
    records.push_back(json::parse(s));
  }
  std::vector<json> records;
};

// A conversation between a client and a server with chosen ISNs. Sequence and
// ack arguments are relative (SYN = 0), as Wireshark shows them.
class Convo {
 public:
  Convo(std::uint32_t client_isn, std::uint32_t server_isn, tcp::TrackerOptions opts = {})
      : cisn_(client_isn), sisn_(server_isn), tracker_(opts, sink_) {}

  void c2s(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t len = 0,
           std::uint16_t window = 65535) {
    send(true, flags, cisn_ + seq, sisn_ + ack, len, window);
  }
  void s2c(std::uint16_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t len = 0,
           std::uint16_t window = 65535) {
    send(false, flags, sisn_ + seq, cisn_ + ack, len, window);
  }
  // Raw sequence numbers, for forged or old segments.
  void raw(bool from_client, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
           std::size_t len = 0) {
    send(from_client, flags, seq, ack, len, 65535);
  }
  void wait_ms(std::int64_t ms) { t_ns_ += ms * 1'000'000; }
  const std::vector<json>& finish() {
    tracker_.finish();
    return sink_.records;
  }

 private:
  void send(bool from_client, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
            std::size_t len, std::uint16_t window) {
    test::Tcp t;
    t.sport = from_client ? 40000 : 80;
    t.dport = from_client ? 80 : 40000;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = window;
    t.payload_len = len;
    test::Frame f = from_client ? test::tcp4("10.0.0.1", "10.0.0.2", t)
                                : test::tcp4("10.0.0.2", "10.0.0.1", t);
    f.ts = core::Timestamp{t_ns_};
    f.index = index_++;
    decode::Segment seg;
    REQUIRE(decode::decode(f.view(), seg) == decode::Status::Ok);
    tracker_.process(seg);
    t_ns_ += 1'000'000;  // 1 ms between packets
  }

  std::uint32_t cisn_, sisn_;
  JsonCollector sink_;
  tcp::Tracker tracker_;
  std::int64_t t_ns_ = 1'700'000'000'000'000'000;
  std::uint64_t index_ = 0;
};

constexpr std::uint16_t kS = fl::kSyn, kA = fl::kAck, kF = fl::kFin, kR = fl::kRst,
                        kP = fl::kPsh;

void handshake(Convo& c) {
  c.c2s(kS, 0, 0);
  c.s2c(kS | kA, 0, 1);
  c.c2s(kA, 1, 1);
}

}  // namespace

TEST_CASE("engine: a full lifecycle is exact at every ISN, across the 2^32 wrap", "[engine]") {
  const std::uint32_t isn = GENERATE(0u, 0x80000000u, 0xffffffffu, 0xfffffffbu);
  const std::uint32_t sisn = isn ^ 0x5a5a5a5au;
  INFO("client ISN " << isn);
  Convo c(isn, sisn);
  handshake(c);
  c.c2s(kP | kA, 1, 1, 1000);
  c.c2s(kP | kA, 1001, 1, 1000);
  c.s2c(kA, 1, 2001);
  c.c2s(kP | kA, 1001, 1, 1000);  // retransmission: not counted twice
  c.s2c(kP | kA, 1, 2001, 3000);
  c.c2s(kF | kA, 2001, 3001);
  c.s2c(kA, 3001, 2002);
  c.s2c(kF | kA, 3001, 2002);
  c.c2s(kA, 2002, 3002);
  const auto& r = c.finish();
  REQUIRE(r.size() == 1);
  const json& x = r[0];
  CHECK(x["handshake"]["isn"]["client"] == isn);
  CHECK(x["handshake"]["validated"] == true);
  CHECK(x["data"]["client"]["payload_bytes"] == 2000);
  CHECK(x["data"]["client"]["retransmitted_bytes"] == 1000);
  CHECK(x["data"]["client"]["missed_bytes"] == 0);
  CHECK(x["data"]["server"]["payload_bytes"] == 3000);
  CHECK(x["teardown"]["kind"] == "four_way");
  CHECK(x["teardown"]["time_wait"] == "client");
  CHECK(x["final_state"]["client"] == "TIME_WAIT");
  CHECK(x["final_state"]["server"] == "CLOSED");
  CHECK(x["conn_state"] == "SF");
  CHECK(x["history"] == "ShADaTdFf");  // the retransmission is Zeek's T, after the server's ACK
}

TEST_CASE("engine: the passive side's FIN carrying the first ACK is a three-way close",
          "[engine]") {
  Convo c(100, 200);
  handshake(c);
  c.c2s(kF | kA, 1, 1);
  c.s2c(kF | kA, 1, 2);
  c.c2s(kA, 2, 2);
  const auto& r = c.finish();
  CHECK(r[0]["teardown"]["kind"] == "three_way");
  CHECK(r[0]["teardown"]["first_fin_by"] == "client");
}

TEST_CASE("engine: a gap in the data is missed bytes, filled gaps are not", "[engine]") {
  Convo c(7, 9);
  handshake(c);
  c.c2s(kA, 1, 1, 100);
  c.c2s(kA, 201, 1, 100);   // 101..200 not captured
  c.c2s(kA, 401, 1, 100);   // 301..400 not captured
  c.c2s(kA, 301, 1, 100);   // ... arrives late
  c.s2c(kA, 1, 501);
  const auto& r = c.finish();
  CHECK(r[0]["data"]["client"]["missed_bytes"] == 100);
  CHECK(r[0]["data"]["client"]["unique_bytes_seen"] == 400);
  CHECK(r[0]["data"]["client"]["payload_bytes"] == 500);
}

TEST_CASE("engine: data acknowledged but never captured counts as missed", "[engine]") {
  Convo c(7, 9);
  handshake(c);
  c.c2s(kA, 1, 1, 100);
  c.s2c(kA, 1, 301);  // the server acked 200 bytes we never saw
  const auto& r = c.finish();
  CHECK(r[0]["data"]["client"]["missed_bytes"] == 200);
  CHECK(r[0]["data"]["client"]["payload_bytes"] == 300);
}

TEST_CASE("engine: a SYN seen after its SYN-ACK does not flip the roles", "[engine]") {
  Convo c(1000, 5000);
  c.s2c(kS | kA, 0, 1);  // capture reordering: the SYN-ACK first
  c.c2s(kS, 0, 0);
  c.c2s(kA, 1, 1);
  c.c2s(kF | kA, 1, 1);
  c.s2c(kF | kA, 1, 2);
  c.c2s(kA, 2, 2);
  const auto& r = c.finish();
  REQUIRE(r.size() == 1);
  CHECK(r[0]["client"]["port"] == 40000);
  CHECK(r[0]["roles_guessed"] == false);
  CHECK(r[0]["role_reason"] == "synack");
  CHECK(r[0]["outcome"] == "closed");
}

TEST_CASE("engine: without a handshake the service port is the server, and it says so",
          "[engine]") {
  Convo c(1000, 5000);
  c.s2c(kA | kP, 1, 1, 50);  // the server speaks first
  c.c2s(kA, 1, 51);
  const auto& r = c.finish();
  CHECK(r[0]["server"]["port"] == 80);
  CHECK(r[0]["roles_guessed"] == true);
  CHECK(r[0]["role_reason"] == "well_known_port");
  CHECK(r[0]["final_state"]["client"] == "ESTABLISHED");
  CHECK(r[0]["outcome"] == "open");
}

TEST_CASE("engine: TCP Fast Open data in the SYN, acknowledged by the SYN-ACK", "[engine]") {
  Convo c(10, 20);
  c.c2s(kS, 0, 0, 40);
  c.s2c(kS | kA, 0, 41);
  c.c2s(kA, 41, 1);
  const auto& r = c.finish();
  CHECK(r[0]["handshake"]["syn_data_bytes"] == 40);
  CHECK(r[0]["handshake"]["syn_data_acked"] == true);
  CHECK(r[0]["handshake"]["synack_ack_valid"] == true);
  CHECK(r[0]["anomaly_counts"]["syn_with_data"] == 1);
  CHECK(r[0]["data"]["client"]["payload_bytes"] == 40);
}

TEST_CASE("engine: a SYN-ACK that acknowledges the wrong number is flagged", "[engine]") {
  Convo c(10, 20);
  c.c2s(kS, 0, 0);
  c.s2c(kS | kA, 0, 7);
  c.c2s(kA, 1, 1);
  const auto& r = c.finish();
  CHECK(r[0]["handshake"]["validated"] == false);
  CHECK(r[0]["anomaly_counts"]["bad_synack_ack"] == 1);
}

TEST_CASE("engine: an out-of-window RST is not believed and the connection lives on",
          "[engine]") {
  Convo c(1000, 2000);
  handshake(c);
  c.raw(false, kR, 2000 + 1 + 10'000'000, 0);  // far outside the client's window
  c.c2s(kA | kP, 1, 1, 100);
  c.s2c(kA, 1, 101);
  const auto& r = c.finish();
  REQUIRE(r.size() == 1);
  CHECK(r[0]["anomaly_counts"]["rst_out_of_window"] == 1);
  CHECK(r[0]["outcome"] == "open");
  CHECK(r[0]["final_state"]["client"] == "ESTABLISHED");
  CHECK(r[0]["teardown"]["rst"]["believed"] == false);
}

TEST_CASE("engine: an in-window inexact RST draws a challenge ACK (RFC 5961)", "[engine]") {
  Convo c(1000, 2000);
  handshake(c);
  c.s2c(kR, 500, 0);  // in the client's window, but not its next expected (1)
  c.c2s(kA, 1, 1);    // the client's challenge ACK
  c.s2c(kA | kP, 1, 1, 10);
  const auto& r = c.finish();
  CHECK(r[0]["anomaly_counts"]["rst_in_window"] == 1);
  CHECK(r[0]["anomaly_counts"]["challenge_ack"] == 1);
  CHECK(r[0]["teardown"]["rst"]["ignored_by_receiver"] == true);
  CHECK(r[0]["outcome"] == "open");
}

TEST_CASE("engine: an exact RST resets, and the states show who was where", "[engine]") {
  Convo c(1000, 2000);
  handshake(c);
  c.c2s(kF | kA, 1, 1);
  c.s2c(kR | kA, 1, 2);
  const auto& r = c.finish();
  CHECK(r[0]["teardown"]["kind"] == "reset");
  CHECK(r[0]["teardown"]["rst"]["exact"] == true);
  CHECK(r[0]["teardown"]["rst"]["states"]["sender"] == "CLOSE_WAIT");
  CHECK(r[0]["teardown"]["rst"]["states"]["receiver"] == "FIN_WAIT_1");
  CHECK(r[0]["anomaly_counts"]["rst_after_fin"] == 1);
}

TEST_CASE("engine: a new SYN after close is a new instance; the old one's late FIN is an "
          "old duplicate", "[engine]") {
  Convo c(1000, 2000);
  handshake(c);
  c.c2s(kF | kA, 1, 1);
  c.s2c(kF | kA, 1, 2);
  c.c2s(kA, 2, 2);
  c.raw(true, kS, 900000, 0);  // a new connection, new ISN, same 4-tuple
  c.raw(false, kS | kA, 7000, 900001);
  c.raw(true, kA, 900001, 7001);
  c.raw(false, kF | kA, 2001, 1002);  // the old instance's FIN, retransmitted late
  const auto& r = c.finish();
  REQUIRE(r.size() == 2);
  CHECK(r[0]["instance"] == 1);
  CHECK(r[1]["instance"] == 2);
  CHECK(r[1]["instance_reason"] == "syn_in_time_wait");
  CHECK(r[1]["anomaly_counts"]["time_wait_reuse"] == 1);
  CHECK(r[1]["anomaly_counts"]["old_duplicate"] == 1);
  CHECK(r[1]["data"]["server"]["packets"] == 1);
  CHECK(r[1]["outcome"] == "open");
}

TEST_CASE("engine: a retransmitted SYN is never a new connection", "[engine]") {
  Convo c(1000, 2000);
  c.c2s(kS, 0, 0);
  c.wait_ms(1000);
  c.c2s(kS, 0, 0);
  c.wait_ms(2000);
  c.c2s(kS, 0, 0);
  const auto& r = c.finish();
  REQUIRE(r.size() == 1);
  CHECK(r[0]["handshake"]["syn_retransmits"] == 2);
  CHECK(r[0]["outcome"] == "unanswered");
  CHECK(r[0]["conn_state"] == "S0");
}

TEST_CASE("engine: time in each state adds up to the connection's span", "[engine]") {
  Convo c(1, 2);
  handshake(c);
  c.wait_ms(500);
  c.c2s(kF | kA, 1, 1);
  c.s2c(kF | kA, 1, 2);
  c.c2s(kA, 2, 2);
  const auto& r = c.finish();
  for (const char* side : {"client", "server"}) {
    double sum = 0;
    for (const auto& [k, v] : r[0]["state_durations"][side].items()) sum += v.get<double>();
    CHECK(sum == Approx(r[0]["duration"].get<double>()).margin(1e-9));
  }
  CHECK(r[0]["state_durations"]["client"]["ESTABLISHED"].get<double>() > 0.5);
}

TEST_CASE("engine: connections idle past the timeout are finished and memory is freed",
          "[engine]") {
  tcp::TrackerOptions o;
  o.idle_established_ns = 10 * core::kNsPerSec;
  Convo c(1, 2, o);
  handshake(c);
  c.wait_ms(20'000);
  c.raw(true, kS, 555, 0);  // another 4-tuple? no: same; a new SYN after idle expiry
  const auto& r = c.finish();
  REQUIRE(r.size() == 2);
  CHECK(r[0]["end_reason"] == "idle");
  CHECK(r[0]["anomaly_counts"]["no_close"] == 1);
}

TEST_CASE("engine: a side that keeps sending into silence is half-open", "[engine]") {
  Convo c(1, 2);
  handshake(c);
  c.c2s(kA | kP, 1, 1, 100);
  c.s2c(kA, 1, 101);
  c.c2s(kA | kP, 101, 1, 100);  // the server vanished: retransmissions, no reply
  c.wait_ms(300);
  c.c2s(kA | kP, 101, 1, 100);
  c.wait_ms(600);
  c.c2s(kA | kP, 101, 1, 100);
  c.wait_ms(1200);
  c.c2s(kA | kP, 101, 1, 100);
  const auto& r = c.finish();
  CHECK(r[0]["anomaly_counts"]["half_open"] == 1);
  bool listed = false;
  for (const auto& a : r[0]["anomalies"])
    if (a["kind"] == "half_open") listed = a["dir"] == "c>s";
  CHECK(listed);
}

TEST_CASE("engine: a quiet but answered connection is not half-open", "[engine]") {
  Convo c(1, 2);
  handshake(c);
  for (std::uint32_t i = 0; i < 5; ++i) {
    c.c2s(kA | kP, 1 + 10 * i, 1, 10);
    c.wait_ms(500);
    c.s2c(kA, 1, 11 + 10 * i);
  }
  const auto& r = c.finish();
  CHECK_FALSE(r[0]["anomaly_counts"].contains("half_open"));
}
