// SPDX-License-Identifier: MIT
// Global detectors (syn_flood, port_scan, rst_storm, server pressure) on
// captures built in code: what each reports, its thresholds as options,
// bounded tables, and --fail-on with global kinds.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tcplife::test::Frame;
using tcplife::test::Tcp;
using tcplife::test::tcp4;
namespace flag = tcplife::decode::flag;

namespace {

constexpr std::int64_t kStart = 1'700'000'000LL * 1'000'000'000LL;
constexpr std::int64_t kMs = 1'000'000;

class Builder {
 public:
  void add(Frame f, std::int64_t at_ns) {
    f.ts.ns = kStart + at_ns;
    frames_.push_back(std::move(f));
  }
  // SYN, SYN-ACK (if `answer`), final ACK (if `complete`), 1 ms apart.
  void handshake(const std::string& cl, std::uint16_t cport, const std::string& sv,
                 std::uint16_t sport, std::int64_t at, bool answer, bool complete) {
    add(tcp4(cl, sv, {.sport = cport, .dport = sport, .seq = 1000, .flags = flag::kSyn}), at);
    if (!answer) return;
    add(tcp4(sv, cl,
             {.sport = sport,
              .dport = cport,
              .seq = 5000,
              .ack = 1001,
              .flags = flag::kSyn | flag::kAck}),
        at + kMs);
    if (complete)
      add(tcp4(cl, sv,
               {.sport = cport, .dport = sport, .seq = 1001, .ack = 5001, .flags = flag::kAck}),
          at + 2 * kMs);
  }
  std::string write(const std::string& name) {
    std::sort(frames_.begin(), frames_.end(),
              [](const Frame& a, const Frame& b) { return a.ts.ns < b.ts.ns; });
    const std::string path =
        (fs::temp_directory_path() / ("tcplife_global_" + std::to_string(getpid()) + "_" + name + ".pcap")).string();
    REQUIRE(tcplife::test::write_pcap(path, frames_));
    return path;
  }

 private:
  std::vector<Frame> frames_;
};

std::string src_ip(int i) {
  return "198.18." + std::to_string(i / 200) + "." + std::to_string(1 + i % 200);
}

// 150 spoofed sources SYN 198.51.100.2:80 within 1.49 s; the server answers
// each, none completes. Three ordinary clients complete their handshakes.
std::string syn_flood_capture() {
  Builder b;
  for (int i = 0; i < 150; ++i)
    b.handshake(src_ip(i), static_cast<std::uint16_t>(20000 + i), "198.51.100.2", 80, i * 10 * kMs,
                true, false);
  for (int i = 0; i < 3; ++i)
    b.handshake("192.0.2.1", static_cast<std::uint16_t>(40000 + i), "198.51.100.2", 80,
                500 * kMs + i * kMs * 100, true, true);
  return b.write("syn_flood");
}

// 192.0.2.66 probes ports 1..40 of 198.51.100.2: RST+ACK (refused) except
// 22 and 33, which answer SYN-ACK and get the scanner's RST.
std::string port_scan_capture() {
  Builder b;
  for (std::uint16_t p = 1; p <= 40; ++p) {
    const std::int64_t at = p * 2 * kMs;
    const std::uint16_t cport = 61000;
    b.add(tcp4("192.0.2.66", "198.51.100.2",
               {.sport = cport, .dport = p, .seq = 77u + p, .flags = flag::kSyn}),
          at);
    if (p == 22 || p == 33) {
      b.add(tcp4("198.51.100.2", "192.0.2.66",
                 {.sport = p,
                  .dport = cport,
                  .seq = 9000,
                  .ack = 78u + p,
                  .flags = flag::kSyn | flag::kAck}),
            at + kMs / 2);
      b.add(tcp4("192.0.2.66", "198.51.100.2",
                 {.sport = cport, .dport = p, .seq = 78u + p, .flags = flag::kRst}),
            at + kMs);
    } else {
      b.add(tcp4("198.51.100.2", "192.0.2.66",
                 {.sport = p,
                  .dport = cport,
                  .seq = 0,
                  .ack = 78u + p,
                  .flags = flag::kRst | flag::kAck}),
            at + kMs / 2);
    }
  }
  return b.write("port_scan");
}

// 60 clients complete a handshake with 198.51.100.9:443, which then resets
// each (exact RST) within 1.2 s.
std::string rst_storm_capture() {
  Builder b;
  for (int i = 0; i < 60; ++i) {
    const std::string cl = "192.0.2." + std::to_string(10 + i);
    const auto cport = static_cast<std::uint16_t>(30000 + i);
    const std::int64_t at = i * 20 * kMs;
    b.handshake(cl, cport, "198.51.100.9", 443, at, true, true);
    b.add(tcp4("198.51.100.9", cl,
               {.sport = 443,
                .dport = cport,
                .seq = 5001,
                .ack = 1001,
                .flags = flag::kRst | flag::kAck}),
          at + 5 * kMs);
  }
  return b.write("rst_storm");
}

const json* finding(const json& doc, const std::string& kind) {
  for (const json& f : doc["global_anomalies"])
    if (f["kind"] == kind) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("global: a SYN flood on one server:port is reported with its evidence", "[global]") {
  const auto r = tcplife::test::run_capture(syn_flood_capture());
  REQUIRE(r.rc == 0);
  REQUIRE(r.doc["global_anomalies"].size() == 1);
  const json* f = finding(r.doc, "syn_flood");
  REQUIRE(f != nullptr);
  CHECK((*f)["subject"] == json({{"ip", "198.51.100.2"}, {"port", 80}}));
  CHECK((*f)["count"] == 150);
  CHECK((*f)["distinct_peers"].get<int>() > 120);  // 150 sources, estimated beyond 16
  CHECK((*f)["distinct_peers_exact"] == false);
  CHECK((*f)["span"].get<double>() == Approx(1.49));
  CHECK((*f)["rate"].get<double>() == Approx(150 / 1.49).epsilon(0.001));
  CHECK((*f)["evidence"]["attempts"] == 153);
  CHECK((*f)["evidence"]["answered"] == 153);
  CHECK((*f)["evidence"]["accepted"] == 3);
  CHECK((*f)["evidence"]["unanswered"] == 0);
  CHECK(r.doc["summary"]["global_anomalies"]["syn_flood"] == 1);
  // Per-server pressure lists the same server first.
  REQUIRE(!r.doc["server_pressure"].empty());
  const json& p = r.doc["server_pressure"][0];
  CHECK(p["half_open"] == 150);
  CHECK(p["accept_ratio"].get<double>() == Approx(0.019));
  // The text report has the finding too.
  const auto t = tcplife::test::run_capture(syn_flood_capture(), {}, tcplife::output::Format::Text);
  CHECK(t.out.find("global anomalies:\n  syn_flood 198.51.100.2:80: 150 half-open") !=
        std::string::npos);
}

TEST_CASE("global: thresholds are options", "[global]") {
  tcplife::Config cfg;
  cfg.global.syn_flood_half_open = 151;
  CHECK(tcplife::test::run_capture(syn_flood_capture(), cfg).doc["global_anomalies"].empty());
  cfg = {};
  cfg.global.syn_flood_rate_milli = 200'000;  // 200/s: the flood ran at ~100/s
  CHECK(tcplife::test::run_capture(syn_flood_capture(), cfg).doc["global_anomalies"].empty());
  cfg = {};
  cfg.global.scan_targets = 39;
  CHECK(finding(tcplife::test::run_capture(port_scan_capture(), cfg).doc, "port_scan") != nullptr);
  cfg.global.scan_targets = 41;
  CHECK(finding(tcplife::test::run_capture(port_scan_capture(), cfg).doc, "port_scan") == nullptr);
}

TEST_CASE("global: a port scan names the source, ports and outcomes", "[global]") {
  const auto r = tcplife::test::run_capture(port_scan_capture());
  REQUIRE(r.rc == 0);
  const json* f = finding(r.doc, "port_scan");
  REQUIRE(f != nullptr);
  CHECK((*f)["subject"]["ip"] == "192.0.2.66");
  CHECK((*f)["subject"]["port"].is_null());
  CHECK((*f)["count"] == 40);
  CHECK((*f)["distinct_peers"] == 1);
  CHECK((*f)["evidence"]["refused"] == 38);
  CHECK((*f)["evidence"]["incomplete"] == 2);
  CHECK((*f)["evidence"]["port_min"] == 1);
  CHECK((*f)["evidence"]["port_max"] == 40);
  // The scanner's RSTs to the two open ports are no storm.
  CHECK(finding(r.doc, "rst_storm") == nullptr);
}

TEST_CASE("global: an RST storm names the host that reset", "[global]") {
  const auto r = tcplife::test::run_capture(rst_storm_capture());
  REQUIRE(r.rc == 0);
  const json* f = finding(r.doc, "rst_storm");
  REQUIRE(f != nullptr);
  CHECK((*f)["subject"]["ip"] == "198.51.100.9");
  CHECK((*f)["count"] == 60);
  CHECK((*f)["evidence"]["after_handshake"] == 60);
  CHECK((*f)["distinct_peers"].get<int>() > 50);
  CHECK(r.doc["summary"]["by_outcome"]["reset"] == 60);
}

TEST_CASE("global: tables stay bounded and the result deterministic", "[global]") {
  tcplife::Config cfg;
  cfg.global.max_tracked = 8;
  const auto a = tcplife::test::run_capture(syn_flood_capture(), cfg);
  const auto b = tcplife::test::run_capture(syn_flood_capture(), cfg);
  CHECK(a.out == b.out);
  CHECK(a.doc["summary"]["global_entries_dropped"].get<int>() > 0);
  CHECK(finding(a.doc, "syn_flood") != nullptr);  // the flooded server has the most attempts
}

TEST_CASE("global: --fail-on trips on a global kind", "[global][cli]") {
  tcplife::Config cfg;
  std::string err;
  tcplife::output::Condition c;
  REQUIRE(tcplife::output::parse_condition("syn_flood", c, err));
  cfg.fail_on.push_back(c);
  const auto r = tcplife::test::run_capture(syn_flood_capture(), cfg);
  CHECK(r.rc == tcplife::kExitFailOn);
  CHECK(r.err.find("--fail-on syn_flood: 1 global finding") != std::string::npos);
  const auto ok = tcplife::test::run_capture(port_scan_capture(), cfg);
  CHECK(ok.rc == tcplife::kExitOk);
}

TEST_CASE("global: distinct counts are exact to 16, then estimated within 5%", "[global]") {
  tcplife::analyze::DistinctCounter d;
  for (std::uint64_t i = 0; i < 16; ++i) {
    d.add(i * 7919);
    d.add(i * 7919);
  }
  CHECK(d.exact());
  CHECK(d.estimate() == 16);
  for (std::uint64_t i = 16; i < 1000; ++i) d.add(i * 7919);
  CHECK_FALSE(d.exact());
  CHECK(d.estimate() == Approx(1000).epsilon(0.05));
  CHECK(tcplife::analyze::rate_milli(150, 1'490'000'000) == 100'671);
  CHECK(tcplife::analyze::rate_milli(5, 1000) == 5000);  // spans under 1 s count as 1 s
}
