// SPDX-License-Identifier: MIT
// Per-segment analysis on real Linux traffic (scripts/make_captures.sh, facts
// in testdata/pcap/README.md): what each scenario guarantees, checked against
// the packets with tshark and by the IP IDs the kernel numbers packets with.
#include <catch2/catch.hpp>

#include "support/run_capture.hpp"

using nlohmann::json;
using tcplife::test::run_capture;
using tcplife::test::testdata;

namespace {

json only_connection(const std::string& file) {
  const auto r = run_capture(testdata(file));
  REQUIRE(r.rc == 0);
  REQUIRE(r.doc["connections"].size() == 1);
  return r.doc["connections"][0];
}

std::uint64_t count(const json& c, const char* side, const char* kind) {
  // Only the classes that occurred are listed.
  return c["analysis"][side]["counts"].value(kind, std::uint64_t{0});
}

std::uint64_t total(const json& c, const char* kind) {
  return count(c, "client", kind) + count(c, "server", kind);
}

std::vector<std::uint64_t> frames_of(const json& c, const char* kind) {
  std::vector<std::uint64_t> out;
  for (const auto& a : c["anomalies"])
    if (a["kind"] == kind) out.push_back(a["frame"].get<std::uint64_t>());
  return out;
}

double seconds(const json& v) { return v.get<double>(); }

}  // namespace

TEST_CASE("analysis: a clean bulk transfer has no retransmission and gives RTT samples",
          "[analysis][kernel]") {
  const json c = only_connection("kernel_bulk.pcap");
  for (const char* k :
       {"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
        "lost_segment", "ack_unseen", "network_duplicate", "seq_out_of_window", "ack_out_of_range",
        "window_shrink", "sack_out_of_window"})
    CHECK(total(c, k) == 0);
  // The client's data is acknowledged by the server: the samples are the
  // time from the client's eth0 to the server and back (veth: well under 1 ms).
  const json& rtt = c["analysis"]["client"]["rtt"];
  CHECK(rtt["samples"].get<int>() >= 5);
  CHECK(seconds(rtt["min"]) > 0.0);
  CHECK(seconds(rtt["min"]) <= seconds(rtt["median"]));
  CHECK(seconds(rtt["median"]) <= seconds(rtt["max"]));
  CHECK(seconds(rtt["max"]) < 0.005);
  CHECK(c["analysis"]["client"]["ts_rtt"]["samples"].get<int>() >= 1);
  // Both hosts are a few µs from the capture point: the handshake cannot place it.
  CHECK(c["analysis"]["vantage"] == "unknown");
}

TEST_CASE("analysis: relay loss - 3 holes, each filled by a resend; dup ACKs from the client",
          "[analysis][kernel]") {
  const json c = only_connection("kernel_relay_loss.pcap");
  CHECK(count(c, "server", "lost_segment") == 3);
  // tshark: 2 fast retransmissions + 1 out-of-order. The third (frame 177) has a
  // newer IP ID and TSval than the highest segment: a resend, not reordering.
  CHECK(count(c, "server", "fast_retransmission") == 2);
  CHECK(count(c, "server", "retransmission") == 1);
  CHECK(count(c, "server", "out_of_order") == 0);
  CHECK(frames_of(c, "retransmission") == std::vector<std::uint64_t>{177});
  CHECK(count(c, "client", "dup_ack") >= 20);
  CHECK(c["analysis"]["server"]["resent_bytes"] == 3 * 1448);
  CHECK(total(c, "network_duplicate") == 0);
  CHECK(total(c, "spurious_retransmission") == 0);
  // The relay delays 5 ms each way and the capture is on the client's side.
  CHECK(c["analysis"]["vantage"] == "client_side");
  CHECK(seconds(c["analysis"]["irtt"]) > 0.0095);
  CHECK(seconds(c["analysis"]["client"]["ts_rtt"]["min"]) > 0.0095);
  CHECK(seconds(c["analysis"]["server"]["rtt"]["median"]) < 0.001);
  // Wireshark's lost_segment detail names the hole.
  for (const auto& a : c["anomalies"]) {
    if (a["kind"] == "lost_segment")
      CHECK(a["detail"].get<std::string>().find("B before it were not captured") !=
            std::string::npos);
    if (a["kind"] == "fast_retransmission")
      CHECK(a["detail"].get<std::string>().find("none of it captured before") != std::string::npos);
  }
}

TEST_CASE("analysis: relay reordering - delayed originals are out-of-order, not resent",
          "[analysis][kernel]") {
  const json c = only_connection("kernel_relay_reorder.pcap");
  CHECK(count(c, "server", "lost_segment") == 2);
  // Frames 24 and 142 carry older IP IDs than the segments that overtook them
  // (tshark: fast retransmissions); frame 30 is the kernel's resend of 24's
  // data, which had already arrived (spurious).
  CHECK(frames_of(c, "out_of_order") == std::vector<std::uint64_t>{24, 142});
  CHECK(frames_of(c, "spurious_retransmission") == std::vector<std::uint64_t>{30});
  CHECK(total(c, "retransmission") == 0);
  CHECK(total(c, "fast_retransmission") == 0);
  CHECK(count(c, "client", "dup_ack") >= 6);
  CHECK(c["analysis"]["vantage"] == "client_side");
}

TEST_CASE("analysis: relay duplication - copies are not retransmissions", "[analysis][kernel]") {
  const json c = only_connection("kernel_relay_dup.pcap");
  // 4 server frames seen twice (same IP ID): 2 right behind their original
  // (network_duplicate), 2 behind later segments (out_of_order: sent before them).
  CHECK(frames_of(c, "network_duplicate") == std::vector<std::uint64_t>{69, 269});
  CHECK(frames_of(c, "out_of_order") == std::vector<std::uint64_t>{233, 235});
  CHECK(total(c, "retransmission") + total(c, "fast_retransmission") +
            total(c, "spurious_retransmission") ==
        0);
  CHECK(c["analysis"]["server"]["resent_bytes"] == 0);
  // data.retransmitted_bytes counts every byte captured twice, copies included
  CHECK(c["data"]["server"]["retransmitted_bytes"].get<std::uint64_t>() >= 3 * 1448);
  CHECK(c["data"]["server"]["wire_payload_bytes"] == 209776);
}

TEST_CASE("analysis: zero window - window full, Linux probes and their answers",
          "[analysis][kernel]") {
  const json c = only_connection("kernel_zero_window.pcap");
  CHECK(count(c, "server", "zero_window") == 3);
  // Linux probes with seq = SND.UNA - 1 and no data: tshark calls them keep-alives.
  CHECK(count(c, "client", "zero_window_probe") == 3);
  CHECK(count(c, "client", "keep_alive") == 0);
  CHECK(count(c, "server", "zero_window_probe_ack") == 2);
  CHECK(count(c, "server", "window_update") == 1);
  CHECK(count(c, "client", "window_full") >= 20);
  CHECK(total(c, "seq_out_of_window") == 0);
  CHECK(total(c, "window_shrink") == 0);
}

TEST_CASE("analysis: keep-alives and their ACKs", "[analysis][kernel]") {
  const json c = only_connection("kernel_keepalive.pcap");
  CHECK(count(c, "client", "keep_alive") == 3);
  CHECK(count(c, "server", "keep_alive_ack") == 3);
  CHECK(frames_of(c, "keep_alive") == std::vector<std::uint64_t>{10, 12, 14});
  CHECK(total(c, "dup_ack") == 0);
}

TEST_CASE("analysis: a refused or unanswered connection has nothing to time",
          "[analysis][kernel]") {
  const json c = only_connection("kernel_syn_dropped.pcap");
  CHECK(c["analysis"]["irtt"].is_null());
  CHECK(c["analysis"]["vantage"] == "unknown");
  CHECK(c["analysis"]["client"]["rtt"]["samples"] == 0);
  // SYN retransmissions stay the lifecycle engine's (syn_retransmit).
  CHECK(total(c, "retransmission") == 0);
  CHECK(c["anomaly_counts"]["syn_retransmit"] == 2);
}

// RSTs forged into a live connection from inside the client namespace
// (scripts/tcp_scenarios.py rst_forged_*): frame 10 is the forged RST.
TEST_CASE("analysis: a forged RST at exactly RCV.NXT is believed", "[analysis][kernel][rst]") {
  const json c = only_connection("kernel_rst_forged_exact.pcap");
  CHECK(c["outcome"] == "reset");
  CHECK(c["teardown"]["rst"]["by"] == "client");
  CHECK(c["teardown"]["rst"]["frame"] == 10);
  CHECK(c["teardown"]["rst"]["exact"] == true);
  CHECK(c["teardown"]["rst"]["believed"] == true);
  CHECK(c["anomaly_counts"].value("rst_in_window", 0) == 0);
  CHECK(c["anomaly_counts"].value("rst_out_of_window", 0) == 0);
  CHECK(frames_of(c, "data_after_rst") == std::vector<std::uint64_t>{11});
  CHECK(total(c, "retransmission") == 0);
}

TEST_CASE("analysis: a forged in-window RST draws a challenge ACK and changes nothing",
          "[analysis][kernel][rst]") {
  const json c = only_connection("kernel_rst_forged_in_window.pcap");
  CHECK(frames_of(c, "rst_in_window") == std::vector<std::uint64_t>{10});
  CHECK(frames_of(c, "challenge_ack") == std::vector<std::uint64_t>{11});
  CHECK(c["teardown"]["rst"]["ignored_by_receiver"] == true);
  CHECK(c["teardown"]["rst"]["believed"] == false);
  CHECK(c["outcome"] == "closed");
  CHECK(c["teardown"]["first_fin_by"] == "client");
  // tshark calls the client's next data and its FIN retransmissions: the
  // RST's sequence number moved its "next expected" 1000 bytes ahead.
  CHECK(total(c, "retransmission") == 0);
  CHECK(c["data"]["client"]["payload_bytes"] == 300);
  CHECK(c["data"]["server"]["payload_bytes"] == 2100);
}

TEST_CASE("analysis: a forged out-of-window RST is dropped by the receiver",
          "[analysis][kernel][rst]") {
  const json c = only_connection("kernel_rst_forged_out_of_window.pcap");
  CHECK(frames_of(c, "rst_out_of_window") == std::vector<std::uint64_t>{10});
  CHECK(c["teardown"]["rst"]["believed"] == false);
  CHECK(c["anomaly_counts"].value("challenge_ack", 0) == 0);
  CHECK(c["outcome"] == "closed");
  CHECK(total(c, "retransmission") == 0);
  CHECK(total(c, "ack_out_of_range") == 0);
  CHECK(c["data"]["client"]["payload_bytes"] == 300);
}
