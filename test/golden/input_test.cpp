// SPDX-License-Identifier: MIT
// Reading captures: formats, bad input, exit codes, skip counters.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "support/run_capture.hpp"
#include "support/shell.hpp"

using tcplife::test::run_capture;
using tcplife::test::testdata;
using nlohmann::json;

using tcplife::test::shell;

TEST_CASE("input: microsecond and nanosecond pcaps give the same connections", "[input]") {
  const auto us = run_capture(testdata("crafted_handshake_usec.pcap"));
  const auto ns = run_capture(testdata("crafted_handshake_nsec.pcap"));
  REQUIRE(us.rc == 0);
  REQUIRE(ns.rc == 0);
  REQUIRE(us.doc["connections"].size() == 1);
  REQUIRE(ns.doc["connections"].size() == 1);
  CHECK(us.doc["connections"][0]["data"] == ns.doc["connections"][0]["data"]);
  CHECK(us.doc["connections"][0]["outcome"] == "closed");
}

TEST_CASE("input: nanosecond timestamps keep their sub-microsecond digits", "[input]") {
  const auto ns = run_capture(testdata("crafted_handshake_nsec.pcap"));
  // The JSON prints fixed 9-decimal seconds from integers; find the raw text.
  const auto pos = ns.out.find("\"first_ts\":");
  REQUIRE(pos != std::string::npos);
  const std::string ts = ns.out.substr(pos + 11, 20);
  const auto dot = ts.find('.');
  REQUIRE(dot != std::string::npos);
  CHECK(ts.substr(dot + 7, 3) != "000");
}

TEST_CASE("input: pcapng with interfaces of different link types is read whole", "[input]") {
  const auto r = run_capture(testdata("crafted_multi_if.pcapng"));
  REQUIRE(r.rc == 0);
  CHECK(r.doc["input"]["format"] == "pcapng");
  CHECK(r.doc["input"]["linktypes"].size() == 3);
  CHECK(r.doc["packets"]["skipped"] == 0);
  CHECK(r.doc["connections"].size() == 2);
}

TEST_CASE("input: a file cut mid-record yields every whole packet and exit code 3",
          "[input]") {
  const auto r = run_capture(testdata("crafted_truncated_mid_record.pcap"));
  CHECK(r.rc == tcplife::kExitPartial);
  CHECK(r.err.find("truncated") != std::string::npos);
  CHECK(r.err.find("crafted_truncated_mid_record.pcap") != std::string::npos);
  CHECK(r.doc["input"]["complete"] == false);
  CHECK(r.doc["packets"]["read"].get<int>() > 0);
}

TEST_CASE("input: unusable files get one clear line and exit code 1", "[input]") {
  const char* files[] = {"crafted_empty.pcap", "crafted_not_a_capture.pcap",
                         "crafted_bad_magic.pcap", "crafted_truncated_header.pcap",
                         "crafted_unknown_linktype.pcap", "does_not_exist.pcap"};
  for (const char* f : files) {
    INFO(f);
    const auto r = run_capture(testdata(f));
    CHECK(r.rc == tcplife::kExitInputError);
    CHECK(r.out.empty());
    CHECK(r.err.find(f) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("input: an unknown link type names the link type", "[input]") {
  const auto r = run_capture(testdata("crafted_unknown_linktype.pcap"));
  CHECK(r.err.find("unsupported link type") != std::string::npos);
}

TEST_CASE("input: non-TCP and fragments are skipped and counted by reason", "[input]") {
  const auto r = run_capture(testdata("crafted_fragments_and_non_tcp.pcap"));
  REQUIRE(r.rc == 0);
  const json& p = r.doc["packets"];
  std::uint64_t skipped = 0;
  for (const auto& [k, v] : p["skipped_by_reason"].items()) skipped += v.get<std::uint64_t>();
  CHECK(skipped == p["skipped"].get<std::uint64_t>());
  CHECK(p["read"].get<std::uint64_t>() == p["tcp"].get<std::uint64_t>() + skipped);
  CHECK(p["skipped_by_reason"].contains("ip_fragment"));
  CHECK(p["skipped_by_reason"].contains("not_tcp"));
  CHECK(p["skipped_by_reason"].contains("not_ip"));
}

TEST_CASE("input: every link type and tunnel capture yields one closed connection",
          "[input]") {
  const char* files[] = {"crafted_vlan_qinq.pcap", "crafted_mpls.pcap", "crafted_pppoe.pcap",
                         "crafted_sll.pcap", "crafted_sll2.pcap", "crafted_loop.pcap",
                         "crafted_raw.pcap", "crafted_ipv4_linktype.pcap",
                         "crafted_ipv6_linktype.pcap", "crafted_gre.pcap", "crafted_vxlan.pcap",
                         "crafted_ipip_4in4.pcap", "crafted_ipip_6in4.pcap",
                         "crafted_ipip_4in6.pcap", "crafted_ipip_6in6.pcap",
                         "crafted_ipv4_options_padding.pcap", "crafted_tso_total_len0.pcap",
                         "crafted_ipv6_ext_headers.pcap", "crafted_pcapng_simple.pcapng"};
  for (const char* f : files) {
    INFO(f);
    const auto r = run_capture(testdata(f));
    REQUIRE(r.rc == 0);
    CHECK(r.doc["packets"]["skipped"] == 0);
    REQUIRE(r.doc["connections"].size() >= 1);
    CHECK(r.doc["connections"][0]["outcome"] == "closed");
  }
}

TEST_CASE("input: tunnelled connections record the tunnel", "[input]") {
  const auto r = run_capture(testdata("crafted_vxlan.pcap"));
  REQUIRE(r.rc == 0);
  CHECK(r.doc["connections"][0]["tunnel"]["kind"] == "vxlan");
  const auto g = run_capture(testdata("crafted_gre.pcap"));
  CHECK(g.doc["connections"][0]["tunnel"]["kind"] == "gre");
}

TEST_CASE("cli: reads standard input, pcap and pcapng alike", "[cli]") {
  for (const char* f : {"crafted_handshake_usec.pcap", "crafted_multi_if.pcapng"}) {
    INFO(f);
    std::string via_file, via_stdin;
    CHECK(shell(std::string(TCPLIFE_BINARY) + " --json " + testdata(f), via_file) == 0);
    CHECK(shell(std::string("cat ") + testdata(f) + " | " + TCPLIFE_BINARY + " --json -",
                via_stdin) == 0);
    auto a = json::parse(via_file), b = json::parse(via_stdin);
    CHECK(a["connections"] == b["connections"]);
  }
}

TEST_CASE("cli: -r FILE and a BPF filter select connections", "[cli]") {
  std::string out;
  CHECK(shell(std::string(TCPLIFE_BINARY) + " --json -r " + testdata("kernel_port_reuse.pcap") +
                  " 'tcp port 9'",
              out) == 0);
  auto d = json::parse(out);
  CHECK(d["connections"].empty());
  CHECK(d["packets"]["filtered_out"].get<int>() > 0);
  CHECK(shell(std::string(TCPLIFE_BINARY) + " -r " + testdata("kernel_port_reuse.pcap") +
                  " 'tcp port ((' 2>/dev/null",
              out) == tcplife::kExitUsage);
}

TEST_CASE("cli: usage errors exit with code 2", "[cli]") {
  std::string out;
  CHECK(shell(std::string(TCPLIFE_BINARY) + " 2>/dev/null", out) == tcplife::kExitUsage);
  CHECK(shell(std::string(TCPLIFE_BINARY) + " --no-such-option x 2>/dev/null", out) ==
        tcplife::kExitUsage);
}

TEST_CASE("output: the same input gives byte-identical output", "[output]") {
  for (auto fmt : {tcplife::output::Format::Json, tcplife::output::Format::Ndjson,
                   tcplife::output::Format::Text}) {
    const auto a = run_capture(testdata("kernel_port_reuse.pcap"), {}, fmt);
    const auto b = run_capture(testdata("kernel_port_reuse.pcap"), {}, fmt);
    CHECK(a.out == b.out);
  }
}

TEST_CASE("input: --max-connections caps what is tracked and counts the evictions", "[input]") {
  tcplife::Config cfg;
  cfg.tracker.max_connections = 2;
  const auto r = run_capture(testdata("crafted_multi_if.pcapng"), cfg);
  REQUIRE(r.rc == 0);
  CHECK(r.doc["summary"]["connections"] == 2);
  CHECK(r.doc["summary"]["evicted"] == 0);
  cfg.tracker.max_connections = 1;
  const auto e = run_capture(testdata("crafted_multi_if.pcapng"), cfg);
  REQUIRE(e.rc == 0);
  CHECK(e.doc["summary"]["evicted"].get<int>() >= 1);
  CHECK(e.doc["summary"]["peak_open"].get<int>() <= 2);
  bool evicted = false;
  for (const auto& c : e.doc["connections"]) evicted = evicted || c["end_reason"] == "evicted";
  CHECK(evicted);
}
