// SPDX-License-Identifier: MIT
// Every capture in testdata/pcap x every output format against its golden
// file in testdata/golden (scripts/regen-golden.sh writes them with the same
// flags through the binary). Also: every rerun is byte-identical.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/run_capture.hpp"

namespace fs = std::filesystem;

namespace {

struct GoldenFormat {
  const char* suffix;  // testdata/golden/<capture stem>.<suffix>
  const char* flags;   // as regen-golden.sh passes them
  tcplife::output::Format format;
  bool timeline;
};

// Keep in step with `formats` in scripts/regen-golden.sh.
const GoldenFormat kGoldenFormats[] = {
    {"txt", "--color never", tcplife::output::Format::Text, false},
    {"timeline.txt", "--color never --timeline", tcplife::output::Format::Text, true},
    {"json", "--json", tcplife::output::Format::Json, false},
    {"ndjson", "--format ndjson", tcplife::output::Format::Ndjson, false},
    {"timeline.ndjson", "--format ndjson --timeline", tcplife::output::Format::Ndjson, true},
    {"conn.log", "--format zeek", tcplife::output::Format::Zeek, false},
};

std::vector<std::string> captures() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "pcap")) {
    const std::string ext = e.path().extension().string();
    if (ext == ".pcap" || ext == ".pcapng") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs in the source directory with a relative path, as regen-golden.sh does,
// so the file name printed in the output is the same.
tcplife::test::RunResult run_relative(const std::string& capture, const GoldenFormat& f) {
  const fs::path cwd = fs::current_path();
  fs::current_path(TCPLIFE_SOURCE_DIR);
  tcplife::Config cfg;
  cfg.output.timeline = f.timeline;
  cfg.output.full_events = f.timeline;  // as the command line does
  cfg.output.color = false;
  tcplife::test::RunResult r;
  try {
    cfg.input = "testdata/pcap/" + capture;
    cfg.format = f.format;
    std::ostringstream out, err;
    r.rc = tcplife::run(cfg, out, err);
    r.out = out.str();
    r.err = err.str();
  } catch (...) {
    fs::current_path(cwd);
    throw;
  }
  fs::current_path(cwd);
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "line N: expected ... / got ..." for the first line that differs.
std::string first_difference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (std::size_t n = 1;; ++n) {
    const bool ma = static_cast<bool>(std::getline(a, la));
    const bool mb = static_cast<bool>(std::getline(b, lb));
    if (!ma && !mb) return "no line differs (trailing newline?)";
    if (la != lb || ma != mb)
      return "line " + std::to_string(n) + ":\n  golden: " + (ma ? la.substr(0, 300) : "<end>") +
             "\n  now:    " + (mb ? lb.substr(0, 300) : "<end>");
  }
}

}  // namespace

TEST_CASE("golden: every capture in every format matches testdata/golden", "[golden][output]") {
  const fs::path dir = fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "golden";
  std::set<std::string> stems;
  std::size_t compared = 0;
  for (const std::string& cap : captures()) {
    const std::string stem = fs::path(cap).stem().string();
    INFO(cap);
    REQUIRE(stems.insert(stem).second);  // golden names are by stem: stems must be unique
    for (const GoldenFormat& f : kGoldenFormats) {
      INFO("format " << f.suffix << " (tcplife " << f.flags << ")");
      const auto r = run_relative(cap, f);
      const fs::path golden = dir / (stem + "." + f.suffix);
      if (r.rc == tcplife::kExitInputError) {
        CHECK_FALSE(fs::exists(golden));
        continue;
      }
      REQUIRE(fs::exists(golden));  // else: scripts/regen-golden.sh, then review the new file
      const std::string want = read_file(golden);
      INFO(first_difference(want, r.out)
           << "\n(if intended: scripts/regen-golden.sh, then review)");
      CHECK(want == r.out);
      ++compared;
    }
  }
  CHECK(compared >= 5 * 50);
  // No stale golden files for captures that no longer exist.
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    INFO(name);
    CHECK(stems.count(name.substr(0, name.find('.'))) == 1);
  }
}

TEST_CASE("output: every format is byte-identical on a rerun, for every capture",
          "[output][determinism]") {
  for (const std::string& cap : captures()) {
    for (const GoldenFormat& f : kGoldenFormats) {
      INFO(cap << " " << f.flags);
      const auto a = run_relative(cap, f);
      const auto b = run_relative(cap, f);
      CHECK(a.rc == b.rc);
      CHECK(a.out == b.out);
      CHECK(a.err == b.err);
    }
  }
}
