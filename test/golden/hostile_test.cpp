// SPDX-License-Identifier: MIT
// Hostile captures (testdata/hostile, written by scripts/make_hostile.py): each
// gives the exit code, counts, skip reasons and stderr line its MANIFEST.tsv
// states, by path and on standard input, in every output format; cut at every
// byte, a small pcap and pcapng give every whole packet and a clear error.
// Every capture in testdata/regress/ is read without a crash. Accounting: on
// every test capture, packets read = TCP analysed + skipped by reason (the BPF
// filter's rejects apart), and every connection created is reported once.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_capture.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/source/packet_source.hpp"
#include "tcplife/tcp/tracker.hpp"

using nlohmann::json;
using tcplife::test::run_capture;
using tcplife::test::RunResult;

namespace {

namespace fs = std::filesystem;

std::string hostile(const std::string& name) {
  return std::string(TCPLIFE_SOURCE_DIR) + "/testdata/hostile/" + name;
}

struct Expect {
  std::string file;
  int rc = 0;
  std::string read, tcp, skipped, stderr_has;
};

std::vector<Expect> manifest() {
  std::ifstream in(hostile("MANIFEST.tsv"));
  REQUIRE(in);
  std::vector<Expect> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    REQUIRE(f.size() == 6);
    rows.push_back({f[0], std::stoi(f[1]), f[2], f[3], f[4], f[5]});
  }
  return rows;
}

// Runs the pipeline on `path` read as standard input ("-").
RunResult run_stdin(const std::string& path,
                    tcplife::output::Format format = tcplife::output::Format::Json) {
  REQUIRE(std::freopen(path.c_str(), "rb", stdin) != nullptr);
  RunResult r = run_capture("-", {}, format);
  REQUIRE(std::freopen("/dev/null", "rb", stdin) != nullptr);
  return r;
}

std::string skipped_text(const json& by_reason) {
  std::string s;
  for (const auto& [k, v] : by_reason.items())  // nlohmann sorts object keys
    s += (s.empty() ? "" : ",") + k + "=" + std::to_string(v.get<std::uint64_t>());
  return s.empty() ? "-" : s;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The checks every run must pass: a known exit code, one stderr line naming
// the input when it fails, nothing on stdout for an unusable input, and a
// report whose totals add up.
void check_sane(const RunResult& r, const std::string& name) {
  INFO("stderr: " << r.err);
  REQUIRE((r.rc == tcplife::kExitOk || r.rc == tcplife::kExitInputError ||
           r.rc == tcplife::kExitPartial));
  if (r.rc == tcplife::kExitOk) {
    CHECK(r.err.empty());
  } else {
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find(name) != std::string::npos);
  }
  if (r.rc == tcplife::kExitInputError) {
    CHECK(r.out.empty());
    return;
  }
  const json& p = r.doc["packets"];
  std::uint64_t skipped = 0;
  for (const auto& [k, v] : p["skipped_by_reason"].items()) skipped += v.get<std::uint64_t>();
  CHECK(p["read"].get<std::uint64_t>() == p["tcp"].get<std::uint64_t>() + skipped);
  CHECK(r.doc["summary"]["connections"].get<std::size_t>() == r.doc["connections"].size());
  CHECK(r.doc["input"]["complete"] == (r.rc == tcplife::kExitOk));
}

void check_expect(const RunResult& r, const Expect& e, const std::string& name) {
  check_sane(r, name);
  CHECK(r.rc == e.rc);
  if (e.stderr_has != "-") CHECK(r.err.find(e.stderr_has) != std::string::npos);
  if (r.rc == tcplife::kExitInputError || e.rc == tcplife::kExitInputError) return;
  const json& p = r.doc["packets"];
  CHECK(std::to_string(p["read"].get<std::uint64_t>()) == e.read);
  CHECK(std::to_string(p["tcp"].get<std::uint64_t>()) == e.tcp);
  CHECK(skipped_text(p["skipped_by_reason"]) == e.skipped);
}

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct TempFile {
  // One per process: ctest runs test cases in parallel processes.
  std::string path =
      (fs::temp_directory_path() / ("tcplife_hostile_cut." + std::to_string(getpid()))).string();
  void write(const std::vector<std::uint8_t>& b, std::size_t n) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(n));
  }
  ~TempFile() { std::remove(path.c_str()); }
};

// Cuts `file` at every byte; `ends` are the offsets where a packet record (or
// block) ends, `first` the first byte after the file header and `quiet` other
// block ends (no packet). Before `first`: exit 1. At `first`, a record end or a
// quiet end: exit 0 and every packet before it. Elsewhere: exit 3 and every
// whole packet before the cut.
void cut_everywhere(const std::string& file, std::size_t first,
                    const std::vector<std::size_t>& ends, const std::vector<std::size_t>& quiet,
                    bool via_stdin) {
  const std::vector<std::uint8_t> bytes = slurp(hostile(file));
  const TempFile tmp;
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    INFO(file << " cut at " << cut << (via_stdin ? " (stdin)" : ""));
    tmp.write(bytes, cut);
    const RunResult r = via_stdin ? run_stdin(tmp.path) : run_capture(tmp.path);
    check_sane(r, via_stdin ? "<stdin>" : tmp.path);
    if (cut < first) {
      CHECK(r.rc == tcplife::kExitInputError);
      continue;
    }
    std::uint64_t whole = 0;
    bool at_end = cut == first || std::find(quiet.begin(), quiet.end(), cut) != quiet.end();
    for (std::size_t e : ends) {
      if (e <= cut) ++whole;
      if (e == cut) at_end = true;
    }
    CHECK(r.rc == (at_end ? tcplife::kExitOk : tcplife::kExitPartial));
    CHECK(r.doc["packets"]["read"].get<std::uint64_t>() == whole);
  }
}

std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t{b.at(at)} | std::uint32_t{b.at(at + 1)} << 8 |
         std::uint32_t{b.at(at + 2)} << 16 | std::uint32_t{b.at(at + 3)} << 24;
}

}  // namespace

TEST_CASE("hostile: every capture gives the exit code, counts and message its manifest states",
          "[hostile]") {
  const auto rows = manifest();
  REQUIRE(rows.size() >= 30);
  for (const Expect& e : rows) {
    INFO(e.file);
    const std::string path = hostile(e.file);
    check_expect(run_capture(path), e, path);
    INFO("read from stdin");
    check_expect(run_stdin(path), e, "<stdin>");
  }
}

TEST_CASE("hostile: every output format survives every hostile capture", "[hostile]") {
  using tcplife::output::Format;
  for (const Expect& e : manifest()) {
    INFO(e.file);
    for (Format f : {Format::Text, Format::Ndjson, Format::Zeek}) {
      const RunResult r = run_capture(hostile(e.file), {}, f);
      CHECK(r.rc == e.rc);
      if (f != Format::Ndjson || r.rc == tcplife::kExitInputError) continue;
      std::istringstream in(r.out);
      std::string line;
      std::size_t n = 0;
      while (std::getline(in, line)) {
        CHECK(json::accept(line));
        ++n;
      }
      CHECK(n >= 1);  // at least the summary line
    }
  }
}

TEST_CASE("hostile: a pcap cut at every byte keeps every whole packet", "[hostile]") {
  const auto b = slurp(hostile("cut_base.pcap"));
  std::vector<std::size_t> ends;
  for (std::size_t off = 24; off + 16 <= b.size();) {
    off += 16 + le32(b, off + 8);
    ends.push_back(off);
  }
  REQUIRE(ends.size() == 3);
  REQUIRE(ends.back() == b.size());
  cut_everywhere("cut_base.pcap", 24, ends, {}, false);
  cut_everywhere("cut_base.pcap", 24, ends, {}, true);
}

TEST_CASE("hostile: a pcapng cut at every byte keeps every whole packet", "[hostile]") {
  const auto b = slurp(hostile("cut_base.pcapng"));
  // Blocks: SHB, IDB, then the EPBs; a cut inside the SHB is an unusable file.
  std::vector<std::size_t> starts;
  for (std::size_t off = 0; off + 8 <= b.size(); off += le32(b, off + 4)) starts.push_back(off);
  REQUIRE(starts.size() == 5);
  const std::size_t shb_end = starts[1];
  std::vector<std::size_t> ends(starts.begin() + 3, starts.end());
  ends.push_back(b.size());
  // Cut inside the IDB: no packet, exit 3; at its end: no packet, exit 0.
  cut_everywhere("cut_base.pcapng", shb_end, ends, {starts[2]}, false);
  cut_everywhere("cut_base.pcapng", shb_end, ends, {starts[2]}, true);
}

TEST_CASE("hostile: every capture that ever crashed or misled tcplife reads cleanly",
          "[hostile][regress]") {
  const fs::path dir = fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "regress";
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) continue;
    INFO(e.path().string());
    check_sane(run_capture(e.path().string()), e.path().string());
    check_sane(run_stdin(e.path().string()), "<stdin>");
    ++n;
  }
  CHECK(n >= 1);
}

namespace {

// Every capture the tests use: real, crafted, hostile and regressions.
std::vector<std::string> every_capture() {
  std::vector<std::string> files;
  for (const char* d : {"pcap", "hostile", "regress"}) {
    const fs::path dir = fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / d;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng"))
        files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The engine's own count of what it created and handed out.
struct EngineCount final : tcplife::tcp::ConnectionSink {
  void on_connection(const tcplife::tcp::Connection&) override { ++reported; }
  std::uint64_t reported = 0;
};

}  // namespace

TEST_CASE("accounting: on every test capture, packets and connections add up", "[accounting]") {
  const auto files = every_capture();
  REQUIRE(files.size() >= 50);
  for (const std::string& f : files) {
    INFO(f);
    const RunResult r = run_capture(f);
    if (r.rc == tcplife::kExitInputError) continue;  // unusable: nothing to count
    REQUIRE((r.rc == tcplife::kExitOk || r.rc == tcplife::kExitPartial));
    const json& p = r.doc["packets"];
    std::uint64_t by_reason = 0;
    for (const auto& [k, v] : p["skipped_by_reason"].items()) by_reason += v.get<std::uint64_t>();
    CHECK(p["skipped"].get<std::uint64_t>() == by_reason);
    CHECK(p["read"].get<std::uint64_t>() == p["tcp"].get<std::uint64_t>() + by_reason);
    CHECK(p["filtered_out"].get<std::uint64_t>() == 0);
    const json& s = r.doc["summary"];
    CHECK(s["connections"].get<std::size_t>() == r.doc["connections"].size());

    // The same capture through the engine alone: what it created it reported,
    // and the report lists exactly those.
    tcplife::source::OpenError oerr;
    auto src = tcplife::source::open_file(f, oerr);
    REQUIRE(src != nullptr);
    EngineCount count;
    tcplife::tcp::Tracker tracker({}, count);
    tcplife::core::PacketView pkt;
    tcplife::decode::Segment seg;
    std::uint64_t read = 0, tcp = 0;
    while (src->next(pkt) == tcplife::source::ReadStatus::Packet) {
      ++read;
      if (tcplife::decode::decode(pkt, seg) != tcplife::decode::Status::Ok) continue;
      ++tcp;
      tracker.process(seg);
    }
    tracker.finish();
    CHECK(read == p["read"].get<std::uint64_t>());
    CHECK(tcp == p["tcp"].get<std::uint64_t>());
    CHECK(tracker.stats().connections == count.reported);
    CHECK(tracker.stats().emitted == count.reported);
    CHECK(count.reported == r.doc["connections"].size());
  }
}

TEST_CASE("accounting: a BPF filter's rejects are counted apart", "[accounting]") {
  for (const char* name : {"kernel_port_reuse.pcap", "crafted_fragments_and_non_tcp.pcap",
                           "crafted_multi_if.pcapng"}) {
    INFO(name);
    const std::string f = std::string(TCPLIFE_SOURCE_DIR) + "/testdata/pcap/" + name;
    const RunResult all = run_capture(f);
    tcplife::Config cfg;
    cfg.filter = "tcp port 80";
    const RunResult some = run_capture(f, cfg);
    REQUIRE(all.rc == tcplife::kExitOk);
    REQUIRE(some.rc == tcplife::kExitOk);
    const json& a = all.doc["packets"];
    const json& s = some.doc["packets"];
    CHECK(s["read"].get<std::uint64_t>() + s["filtered_out"].get<std::uint64_t>() ==
          a["read"].get<std::uint64_t>());
    std::uint64_t by_reason = 0;
    for (const auto& [k, v] : s["skipped_by_reason"].items()) by_reason += v.get<std::uint64_t>();
    CHECK(s["read"].get<std::uint64_t>() == s["tcp"].get<std::uint64_t>() + by_reason);
  }
}
