// SPDX-License-Identifier: MIT
// --threads N: the output, the exit code and stderr are those of the
// single-threaded run, byte for byte, in every format: on every capture of
// testdata (pcap, hostile, regress) and on a generated capture that keeps the
// merge busy (idle expiry, mass expiry after time jumps, port reuse, time
// going backwards by lags around the idle timeouts), whole, cut by -c, and
// read from standard input.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/churn_capture.hpp"
#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"

namespace fs = std::filesystem;
using tcplife::test::churn_capture;
using tcplife::test::short_timeouts;

namespace {

struct Format {
  const char* name;
  tcplife::output::Format format;
};
const Format kFormats[] = {{"json", tcplife::output::Format::Json},
                           {"ndjson", tcplife::output::Format::Ndjson},
                           {"text", tcplife::output::Format::Text},
                           {"zeek", tcplife::output::Format::Zeek}};

tcplife::test::RunResult run_with(const std::string& path, tcplife::Config cfg, const Format& f,
                                  unsigned threads) {
  cfg.threads = threads;
  cfg.output.color = false;
  return tcplife::test::run_capture(path, cfg, f.format);
}

// Runs `path` in format `f` with --threads 0, then with each of `threads`:
// every run must equal the first. Returns the number of comparisons.
std::size_t check_same(const std::string& path, const tcplife::Config& cfg, const Format& f,
                       std::initializer_list<unsigned> threads) {
  const tcplife::test::RunResult one = run_with(path, cfg, f, 0);
  for (unsigned n : threads) {
    INFO(path << " --format " << f.name << " --threads " << n);
    const tcplife::test::RunResult many = run_with(path, cfg, f, n);
    CHECK(many.rc == one.rc);
    CHECK(many.err == one.err);
    CHECK(many.out == one.out);
  }
  return threads.size();
}

// The same with --threads 1, 2 and 3 in every format.
std::size_t check_same(const std::string& path, const tcplife::Config& cfg = {}) {
  std::size_t compared = 0;
  for (const Format& f : kFormats) compared += check_same(path, cfg, f, {1, 2, 3});
  return compared;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(TCPLIFE_SOURCE_DIR) / dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && ext != ".md" && ext != ".tsv") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("tcplife_threads_" + std::to_string(getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST_CASE("threads: every testdata capture, every format, equals the single-threaded run",
          "[threads][golden]") {
  std::size_t compared = 0;
  for (const char* dir : {"testdata/pcap", "testdata/hostile", "testdata/regress"})
    for (const std::string& path : files_under(dir)) compared += check_same(path);
  CHECK(compared >= 100 * 4 * 3);
}

TEST_CASE("threads: a churning capture with time going backwards equals the single-threaded run",
          "[threads][golden]") {
  const std::string path = temp_path("churn.pcap");
  REQUIRE(tcplife::test::write_pcap(path, churn_capture(7, 1500)));
  const tcplife::Config cfg = short_timeouts();

  // The capture does what it is for.
  const tcplife::test::RunResult one = run_with(path, cfg, kFormats[0], 0);
  REQUIRE(one.rc == 0);
  const nlohmann::json& s = one.doc["summary"];
  INFO(s.dump());
  CHECK(s["connections"].get<int>() > 1500);
  CHECK(s["expired_idle"].get<int>() > 500);
  std::size_t replaced = 0;
  for (const nlohmann::json& c : one.doc["connections"]) replaced += c["instance"].get<int>() > 1;
  CHECK(replaced > 100);

  check_same(path, cfg);
  check_same(path, cfg, kFormats[0], {5, 8});  // some shards hold few 4-tuples
  // Selection and the --fail-on gate (exit 4, its stderr lines, the global detectors).
  tcplife::Config gated = cfg;
  std::string err;
  tcplife::output::Condition only, gate;
  REQUIRE(tcplife::output::parse_condition("reset", only, err));
  REQUIRE(tcplife::output::parse_condition("syn_flood", gate, err));
  gated.selection.only = {only};
  gated.fail_on = {only, gate};
  gated.global.syn_flood_half_open = 5;
  REQUIRE(run_with(path, gated, kFormats[0], 0).rc == tcplife::kExitFailOn);
  check_same(path, gated);
  // Stopped by -c part-way through a batch, at a batch boundary, after the end.
  for (std::uint64_t count : {1500u, 2048u, 99999u}) {
    tcplife::Config cut = cfg;
    cut.max_packets = count;
    check_same(path, cut, kFormats[1], {2, 3});
  }
  std::remove(path.c_str());
}

TEST_CASE("threads: a document held back by a connection open to the end comes out whole",
          "[threads][golden]") {
  // Connection 1 opens first and is still open at the end, so every later
  // record waits for it (in the spool) while 4,000 short connections finish;
  // every 7th of them is still open at the end too, so the document is
  // written as the merge thread finishes the open ones, in id order.
  namespace fl = tcplife::decode::flag;
  using tcplife::test::Frame;
  using tcplife::test::Tcp;
  using tcplife::test::tcp4;
  std::vector<Frame> frames;
  std::int64_t clock = 1'700'000'000 * tcplife::core::kNsPerSec;
  auto at = [&](Frame f) {
    clock += 200'000;  // 0.2 ms apart: 4,000 connections in about 5 s
    f.ts.ns = clock;
    frames.push_back(std::move(f));
  };
  const std::string far = "10.200.0.1", server = "10.9.0.1";
  at(tcp4(far, server, Tcp{.sport = 50000, .dport = 443, .seq = 100, .flags = fl::kSyn}));
  at(tcp4(server, far,
          Tcp{.sport = 443, .dport = 50000, .seq = 900, .ack = 101, .flags = fl::kSyn | fl::kAck}));
  at(tcp4(far, server,
          Tcp{.sport = 50000, .dport = 443, .seq = 101, .ack = 901, .flags = fl::kAck}));
  constexpr int kShort = 4000;
  for (int i = 0; i < kShort; ++i) {
    const std::string client =
        "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    const auto port = static_cast<std::uint16_t>(30000 + i % 1000);
    const std::uint32_t c = 1000u * static_cast<std::uint32_t>(i), v = 7u + c;
    at(tcp4(client, server, Tcp{.sport = port, .dport = 80, .seq = c, .flags = fl::kSyn}));
    at(tcp4(server, client,
            Tcp{.sport = 80, .dport = port, .seq = v, .ack = c + 1, .flags = fl::kSyn | fl::kAck}));
    at(tcp4(client, server,
            Tcp{.sport = port,
                .dport = 80,
                .seq = c + 1,
                .ack = v + 1,
                .flags = fl::kAck | fl::kPsh,
                .payload_len = 100}));
    if (i % 7 == 3) continue;  // still open at the end
    at(tcp4(server, client,
            Tcp{.sport = 80,
                .dport = port,
                .seq = v + 1,
                .ack = c + 101,
                .flags = fl::kFin | fl::kAck}));
    at(tcp4(client, server,
            Tcp{.sport = port,
                .dport = 80,
                .seq = c + 101,
                .ack = v + 2,
                .flags = fl::kFin | fl::kAck}));
    at(tcp4(server, client,
            Tcp{.sport = 80, .dport = port, .seq = v + 2, .ack = c + 102, .flags = fl::kAck}));
  }
  at(tcp4(far, server,
          Tcp{.sport = 50000, .dport = 443, .seq = 101, .ack = 901, .flags = fl::kAck}));
  const std::string path = temp_path("held.pcap");
  REQUIRE(tcplife::test::write_pcap(path, frames));

  const tcplife::test::RunResult one = run_with(path, {}, kFormats[0], 0);
  REQUIRE(one.rc == 0);
  CHECK(one.out.size() > (std::size_t{3} << 20));  // megabytes held back until the end
  const nlohmann::json& conns = one.doc["connections"];
  REQUIRE(conns.size() == kShort + 1);
  CHECK(conns[0]["client"]["port"] == 50000);
  CHECK(conns[0]["end_reason"] == "end_of_input");
  bool in_order = true;
  for (std::size_t i = 0; i < conns.size(); ++i) in_order = in_order && conns[i]["id"] == i + 1;
  CHECK(in_order);
  check_same(path, {}, kFormats[0], {1, 2, 3});
  check_same(path, {}, kFormats[2], {1, 2});
  std::remove(path.c_str());
}

TEST_CASE("threads: standard input and a truncated file give the single-threaded output",
          "[threads][golden]") {
  const std::string path = temp_path("stdin.pcap");
  REQUIRE(tcplife::test::write_pcap(path, churn_capture(11, 400)));
  const tcplife::Config cfg = short_timeouts();
  // Cut mid-record: exit 3 and the warning with the packet and byte offset.
  const auto size = fs::file_size(path);
  fs::resize_file(path, size - 37);
  const tcplife::test::RunResult cut = run_with(path, cfg, kFormats[0], 0);
  CHECK(cut.rc == tcplife::kExitPartial);
  CHECK(cut.err.find("byte offset") != std::string::npos);
  check_same(path, cfg);

  // The same bytes on standard input.
  for (unsigned threads : {0u, 2u}) {
    INFO("--threads " << threads);
    std::FILE* in = std::freopen(path.c_str(), "rb", stdin);
    REQUIRE(in != nullptr);
    const tcplife::test::RunResult r = run_with("-", cfg, kFormats[1], threads);
    CHECK(r.rc == cut.rc);
    CHECK(r.out.find("\"type\":\"summary\"") != std::string::npos);
    static std::string first;
    if (threads == 0) first = r.out;
    CHECK(r.out == first);
  }
  std::remove(path.c_str());
}

TEST_CASE("threads: --max-connections still reports every connection once, in id order",
          "[threads]") {
  const std::string path = temp_path("cap.pcap");
  REQUIRE(tcplife::test::write_pcap(path, churn_capture(3, 600)));
  tcplife::Config cfg = short_timeouts();
  cfg.tracker.max_connections = 6;
  for (unsigned threads : {1u, 3u}) {
    INFO("--threads " << threads);
    const tcplife::test::RunResult r = run_with(path, cfg, kFormats[0], threads);
    REQUIRE(r.rc == 0);
    const nlohmann::json& conns = r.doc["connections"];
    CHECK(conns.size() == r.doc["summary"]["connections"].get<std::size_t>());
    CHECK(r.doc["summary"]["evicted"].get<int>() > 0);
    for (std::size_t i = 0; i < conns.size(); ++i)
      CHECK(conns[i]["id"].get<std::size_t>() == i + 1);
  }
  std::remove(path.c_str());
}
