// SPDX-License-Identifier: MIT
// Real Linux kernel traffic (scripts/make_captures.sh): each test asserts what
// its scenario guarantees, checked by hand against the packets with tshark.
#include <catch2/catch.hpp>

#include "support/run_capture.hpp"

using tcplife::test::run_capture;
using tcplife::test::testdata;
using nlohmann::json;

namespace {
const json& only_connection(const tcplife::test::RunResult& r) {
  REQUIRE(r.rc == 0);
  REQUIRE(r.doc["connections"].size() == 1);
  return r.doc["connections"][0];
}
}  // namespace

TEST_CASE("kernel: client closes first - four-way close, client ends in TIME_WAIT", "[kernel]") {
  const auto r = run_capture(testdata("kernel_client_close_first.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r);
  CHECK(c["client"]["port"] == 45001);
  CHECK(c["server"]["port"] == 5001);
  CHECK(c["roles_guessed"] == false);
  CHECK(c["handshake"]["complete"] == true);
  CHECK(c["handshake"]["validated"] == true);
  CHECK(c["teardown"]["first_fin_by"] == "client");
  CHECK(c["teardown"]["time_wait"] == "client");
  CHECK(c["final_state"]["client"] == "TIME_WAIT");
  CHECK(c["final_state"]["server"] == "CLOSED");
  CHECK(c["data"]["client"]["payload_bytes"] == 200);
  CHECK(c["data"]["server"]["payload_bytes"] == 2000);
  CHECK(c["data"]["client"]["missed_bytes"] == 0);
  CHECK(c["outcome"] == "closed");
}

TEST_CASE("kernel: server closes first - the server ends in TIME_WAIT", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_server_close_first.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["teardown"]["first_fin_by"] == "server");
  CHECK(c["teardown"]["time_wait"] == "server");
  CHECK(c["final_state"]["server"] == "TIME_WAIT");
  CHECK(c["final_state"]["client"] == "CLOSED");
}

TEST_CASE("kernel: half-close - the server sends 5000 bytes after the client's FIN",
          "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_half_close.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["teardown"]["first_fin_by"] == "client");
  REQUIRE(c["teardown"]["half_close"].is_object());
  CHECK(c["teardown"]["half_close"]["by"] == "client");
  CHECK(c["teardown"]["half_close"]["bytes_after"] == 5000);
  CHECK(c["teardown"]["half_close"]["duration"].get<double>() > 0.3);
  CHECK(c["state_durations"]["client"]["FIN_WAIT_2"].get<double>() > 0.3);
  CHECK(c["state_durations"]["server"]["CLOSE_WAIT"].get<double>() > 0.3);
}

TEST_CASE("kernel: RST abort by the client (SO_LINGER 0)", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_rst_abort_client.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["outcome"] == "reset");
  CHECK(c["teardown"]["kind"] == "reset");
  CHECK(c["teardown"]["rst"]["by"] == "client");
  CHECK(c["teardown"]["rst"]["exact"] == true);
  CHECK(c["teardown"]["rst"]["states"]["sender"] == "ESTABLISHED");
  CHECK(c["final_state"]["client"] == "CLOSED");
  CHECK(c["final_state"]["server"] == "CLOSED");
}

TEST_CASE("kernel: RST abort by the server", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_rst_abort_server.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["teardown"]["kind"] == "reset");
  CHECK(c["teardown"]["rst"]["by"] == "server");
  CHECK(c["teardown"]["rst"]["believed"] == true);
}

TEST_CASE("kernel: closing with unread data makes the kernel send a RST", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_close_unread_data.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["teardown"]["kind"] == "reset");
  CHECK(c["teardown"]["rst"]["by"] == "server");
  CHECK(c["data"]["client"]["payload_bytes"] == 500);
}

TEST_CASE("kernel: a connection to a closed port is refused", "[kernel]") {
  for (const char* f : {"kernel_refused.pcap", "kernel_v6_refused.pcap"}) {
    const auto r_c = run_capture(testdata(f));
  const json& c = only_connection(r_c);
    CHECK(c["outcome"] == "refused");
    CHECK(c["teardown"]["kind"] == "refused");
    CHECK(c["handshake"]["refused"] == true);
    CHECK(c["handshake"]["complete"] == false);
    CHECK(c["anomaly_counts"]["refused"] == 1);
  }
}

TEST_CASE("kernel: dropped SYNs are retransmitted with the same ISN, one connection",
          "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_syn_dropped.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["outcome"] == "unanswered");
  CHECK(c["handshake"]["syn_retransmits"] == 2);
  CHECK(c["data"]["client"]["packets"] == 3);
  CHECK(c["final_state"]["client"] == "SYN_SENT");
  CHECK(c["anomaly_counts"]["handshake_incomplete"] == 1);
}

TEST_CASE("kernel: dropped SYN-ACKs are retransmitted by the server", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_synack_dropped.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["handshake"]["synack_retransmits"].get<int>() >= 2);
  CHECK(c["handshake"]["complete"] == false);
  CHECK(c["final_state"]["server"] == "SYN_RECEIVED");
}

TEST_CASE("kernel: crossing FINs are a simultaneous close, both ends in TIME_WAIT",
          "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_simultaneous_close.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["teardown"]["kind"] == "simultaneous");
  CHECK(c["teardown"]["time_wait"] == "both");
  bool closing_seen = false;
  for (const json& e : c["events"])
    if (e["client_state"] == "CLOSING" || e["server_state"] == "CLOSING") closing_seen = true;
  CHECK(closing_seen);
}

TEST_CASE("kernel: two bare SYNs crossing are a simultaneous open", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_simultaneous_open.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  CHECK(c["handshake"]["simultaneous_open"] == true);
  CHECK(c["anomaly_counts"]["simultaneous_open"] == 1);
  CHECK(c["final_state"]["client"] != "SYN_SENT");
}

TEST_CASE("kernel: port reuse on one 4-tuple gives numbered instances", "[kernel]") {
  const auto r = run_capture(testdata("kernel_port_reuse.pcap"), tcplife::test::full_records());
  REQUIRE(r.rc == 0);
  const json& conns = r.doc["connections"];
  REQUIRE(conns.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(conns[i]["instance"] == i + 1);
    CHECK(conns[i]["client"]["port"] == 45012);
    CHECK(conns[i]["outcome"] == "closed");
  }
  CHECK(conns[0]["instance_reason"] == "first");
  CHECK(conns[1]["instance_reason"] != "first");
}

TEST_CASE("kernel: IPv6 clean close and RST abort", "[kernel]") {
  const auto r_a = run_capture(testdata("kernel_v6_client_close_first.pcap"), tcplife::test::full_records());
  const json& a = only_connection(r_a);
  CHECK(a["client"]["ip"] == "fd77::1");
  CHECK(a["outcome"] == "closed");
  CHECK(a["teardown"]["time_wait"] == "client");
  const auto r_b = run_capture(testdata("kernel_v6_rst_abort_client.pcap"), tcplife::test::full_records());
  const json& b = only_connection(r_b);
  CHECK(b["teardown"]["rst"]["by"] == "client");
}

TEST_CASE("kernel: bulk transfer counts every payload byte once", "[kernel]") {
  const auto r_c = run_capture(testdata("kernel_bulk.pcap"), tcplife::test::full_records());
  const json& c = only_connection(r_c);
  const auto& d = c["data"]["client"];
  CHECK(d["missed_bytes"] == 0);
  CHECK(d["payload_bytes"] == d["unique_bytes_seen"]);
  CHECK(c["handshake"]["options"]["window_scaling"] == true);
  CHECK(c["handshake"]["options"]["client"]["sack_permitted"] == true);
  CHECK(c["handshake"]["options"]["client"]["timestamps"] == true);
}
