// SPDX-License-Identifier: MIT
// The text report: 80 columns, long IPv6 endpoints wrapped whole, the ladder
// drawn packet by packet with each anomaly on its own packet, colour on demand.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"

namespace fs = std::filesystem;
using tcplife::test::Frame;
using tcplife::test::tcp4;
using tcplife::test::tcp6;
namespace flag = tcplife::decode::flag;

namespace {

constexpr std::int64_t kStart = 1'700'000'000LL * 1'000'000'000LL;
constexpr std::int64_t kMs = 1'000'000;

std::string write(const std::string& name, std::vector<Frame> frames) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    frames[i].ts.ns = kStart + static_cast<std::int64_t>(i) * kMs;
  const std::string path =
      (fs::temp_directory_path() / ("tcplife_text_" + std::to_string(getpid()) + "_" + name + ".pcap")).string();
  REQUIRE(tcplife::test::write_pcap(path, frames));
  return path;
}

tcplife::test::RunResult text(const std::string& path, bool timeline, bool color = false) {
  tcplife::Config cfg;
  cfg.output.timeline = timeline;
  cfg.output.color = color;
  return tcplife::test::run_capture(path, cfg, tcplife::output::Format::Text);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

}  // namespace

TEST_CASE("text: every golden text report fits 80 columns", "[output][text]") {
  std::size_t files = 0;
  for (const auto& e :
       fs::directory_iterator(fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "golden")) {
    const std::string name = e.path().filename().string();
    if (name.size() < 4 || name.substr(name.size() - 4) != ".txt") continue;
    std::ifstream in(e.path());
    std::string l;
    for (std::size_t n = 1; std::getline(in, l); ++n) {
      INFO(name << " line " << n << ": " << l);
      CHECK(l.size() <= 80);
    }
    ++files;
  }
  CHECK(files > 90);
}

TEST_CASE("text: long IPv6 endpoints get their own lines, never cut", "[output][text]") {
  const std::string a = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1111";
  const std::string b = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:2222";
  const std::string path = write(
      "long_v6",
      {tcp6(a, b, {.sport = 40000, .dport = 443, .seq = 1, .flags = flag::kSyn}),
       tcp6(b, a,
            {.sport = 443, .dport = 40000, .seq = 9, .ack = 2, .flags = flag::kSyn | flag::kAck}),
       tcp6(a, b, {.sport = 40000, .dport = 443, .seq = 2, .ack = 10, .flags = flag::kAck})});
  const auto r = text(path, true);
  REQUIRE(r.rc == 0);
  for (const std::string& l : lines_of(r.out)) {
    INFO(l);
    CHECK(l.size() <= 80);
  }
  CHECK(r.out.find("\n 1  [" + a + "]:40000\n    > [" + b + "]:443\n    open") !=
        std::string::npos);
}

TEST_CASE("text: the ladder puts each anomaly under its packet, end anomalies last",
          "[output][text]") {
  // SYN, the same SYN again, no answer.
  const std::string path =
      write("syn_again",
            {tcp4("192.0.2.1", "198.51.100.2", {.sport = 40000, .seq = 7, .flags = flag::kSyn}),
             tcp4("192.0.2.1", "198.51.100.2", {.sport = 40000, .seq = 7, .flags = flag::kSyn})});
  const auto r = text(path, true);
  const auto lines = lines_of(r.out);
  std::size_t first = 0;
  while (first < lines.size() && lines[first].find("  1  SYN_SENT") == std::string::npos) ++first;
  REQUIRE(first + 4 < lines.size());
  CHECK(lines[first].find("-- S seq 0 len 0 ---") != std::string::npos);
  CHECK(lines[first + 1].find("  2  SYN_SENT") != std::string::npos);  // nothing under packet 1
  CHECK(lines[first + 2].find("! syn_retransmit") != std::string::npos);
  CHECK(lines[first + 3] == "  at the end: ! handshake_incomplete, no_close");
}

TEST_CASE("text: a late segment of the previous instance is drawn as not applied",
          "[output][text]") {
  const std::string c = "192.0.2.1", s = "198.51.100.2";
  auto c2s = [&](std::uint32_t seq, std::uint32_t ack, std::uint16_t f) {
    return tcp4(c, s, {.sport = 40000, .dport = 80, .seq = seq, .ack = ack, .flags = f});
  };
  auto s2c = [&](std::uint32_t seq, std::uint32_t ack, std::uint16_t f) {
    return tcp4(s, c, {.sport = 80, .dport = 40000, .seq = seq, .ack = ack, .flags = f});
  };
  using namespace flag;
  const std::string path = write(
      "reuse", {c2s(1000, 0, kSyn), s2c(2000, 1001, kSyn | kAck), c2s(1001, 2001, kAck),
                c2s(1001, 2001, kFin | kAck), s2c(2001, 1002, kFin | kAck), c2s(1002, 2002, kAck),
                c2s(900000, 0, kSyn), s2c(7000, 900001, kSyn | kAck), c2s(900001, 7001, kAck),
                s2c(2001, 1002, kFin | kAck)});  // the old FIN again, late
  const auto r = text(path, true);
  REQUIRE(r.rc == 0);
  const auto pos = r.out.find("earlier instance, not applied");
  REQUIRE(pos != std::string::npos);
  const auto line_start = r.out.rfind('\n', pos) + 1;
  CHECK(r.out.substr(line_start, 20).find("10") != std::string::npos);  // frame 10
  CHECK(r.out.find("! old_duplicate", pos) != std::string::npos);
  // The new instance's SYN carries the anomaly the engine raised before applying it.
  const auto syn = r.out.find("      7  SYN_SENT");
  REQUIRE(syn != std::string::npos);
  CHECK(r.out.find("! time_wait_reuse", syn) < r.out.find("      8  ", syn));
}

TEST_CASE("text: colour is ANSI SGR only when asked for", "[output][text]") {
  const std::string path = tcplife::test::testdata("kernel_refused.pcap");
  const auto plain = text(path, true, false);
  const auto color = text(path, true, true);
  CHECK(plain.out.find('\033') == std::string::npos);
  CHECK(color.out.find("\033[31mrefused\033[0m") != std::string::npos);  // outcome in red
  CHECK(color.out.find("\033[32m-- S seq 0") != std::string::npos);      // SYN arrow in green
  CHECK(color.out.find("\033[31m<---") != std::string::npos);            // RST arrow in red
}
