// SPDX-License-Identifier: MIT
// fuzz_pipeline: a sequence of packets through the whole pipeline, in process:
// tcplife::run() (decode, the connection engine and its state machines, the
// flow table, expiry and eviction, the analyzers, the global detectors and an
// output sink into an in-memory stream). The input is split into packets as
// Zeek's FuzzBuffer does; they reach run() as an in-memory pcapng file (one
// interface per link type), so the fuzzer never chases the real pipeline's
// wiring and always tests exactly what the tool runs.
//
// Input: config(1) linktype(1) then chunks separated by "\1PKT" (ChunkSplitter).
//   config bits 0-1  output format: json, ndjson, text (with the timeline), zeek
//          bits 2-3  max_connections: unlimited, 1, 2, 8
//          bit  4    short timeouts (linger 0, idle 1 s) instead of the defaults
//          bit  5    verify TCP checksums
//          bit  6    each chunk's first byte after the time code picks its own link type
//          bit  7    global detectors at thresholds of 1-2 and tables of 4 entries
//   chunk  time(1) [linktype(1) if bit 6] frame bytes...
//   time   0x00-0x7f: +n ms; 0x80-0xbf: +(n-0x80)*10 s; 0xc0-0xef: -(n-0xc0) ms
//          (time going backwards); 0xf0-0xff: jump to an extreme a capture can hold
// Checks: no crash; exit 0; JSON and NDJSON output parse; packets read = TCP +
// skipped; summary.connections = connections reported = len(connections).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "tcplife/pipeline.hpp"

namespace {

using tcplife::core::kNsPerSec;
using tcplife::fuzz::check;
namespace output = tcplife::output;

// The range of capture times the sources hand out (src/source/capture_time.hpp
// clamps to it): -2^31 s to 2^32 s. The engine must cope with all of it.
constexpr std::int64_t kMinTs = -(std::int64_t{1} << 31) * kNsPerSec;
constexpr std::int64_t kMaxTs = ((std::int64_t{1} << 32) - 1) * kNsPerSec + 999'999'999;

std::int64_t next_time(std::int64_t now, std::uint8_t code) {
  std::int64_t t = now;
  if (code < 0x80) {
    t += std::int64_t{code} * 1'000'000;
  } else if (code < 0xc0) {
    t += std::int64_t{code - 0x80} * 10 * kNsPerSec;
  } else if (code < 0xf0) {
    t -= std::int64_t{code - 0xc0} * 1'000'000;
  } else {
    switch (code & 0x0f) {
      case 0:
        return kMinTs;
      case 1:
        return kMaxTs;
      case 2:
        return 0;
      case 3:
        return -1;
      case 4:
        t += 7201 * kNsPerSec;
        break;  // past the established idle timeout
      case 5:
        t -= 7201 * kNsPerSec;
        break;
      default:
        t += std::int64_t{code & 0x0f} * 61 * kNsPerSec;
        break;
    }
  }
  return std::min(std::max(t, kMinTs), kMaxTs);
}

// A little-endian pcapng writer: one section, an interface per link type
// (nanosecond resolution, no snap length), an EPB per packet.
class PcapngWriter {
 public:
  PcapngWriter() {
    block(0x0A0D0D0A, [this] {
      u32(0x1A2B3C4D);
      u32(0x00000001);  // version 1.0
      u32(0xffffffff);  // section length unknown
      u32(0xffffffff);
    });
  }
  void packet(int linktype, std::int64_t ts_ns, const std::uint8_t* p, std::size_t n) {
    const std::uint32_t ifid = interface(linktype);
    // Counted from the interface's if_tsoffset (kMinTs), so every time is >= 0.
    const auto units = static_cast<std::uint64_t>(ts_ns - kMinTs);
    block(6, [&] {
      u32(ifid);
      u32(static_cast<std::uint32_t>(units >> 32));
      u32(static_cast<std::uint32_t>(units));
      u32(static_cast<std::uint32_t>(n));
      u32(static_cast<std::uint32_t>(n));
      buf_.insert(buf_.end(), p, p + n);
      pad();
    });
  }
  [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return buf_; }

 private:
  std::uint32_t interface(int linktype) {
    for (std::size_t i = 0; i < ifaces_.size(); ++i)
      if (ifaces_[i] == linktype) return static_cast<std::uint32_t>(i);
    ifaces_.push_back(linktype);
    block(1, [this, linktype] {
      u16(static_cast<std::uint16_t>(linktype));
      u16(0);
      u32(0);  // snaplen: none
      u16(9);  // if_tsresol
      u16(1);
      u32(9);   // 10^-9, padded
      u16(14);  // if_tsoffset: seconds added to every time
      u16(8);
      const auto offset = static_cast<std::uint64_t>(kMinTs / kNsPerSec);
      u32(static_cast<std::uint32_t>(offset));
      u32(static_cast<std::uint32_t>(offset >> 32));
      u32(0);  // opt_endofopt
    });
    return static_cast<std::uint32_t>(ifaces_.size() - 1);
  }
  template <class Body>
  void block(std::uint32_t type, Body body) {
    const std::size_t start = buf_.size();
    u32(type);
    u32(0);
    body();
    const auto total = static_cast<std::uint32_t>(buf_.size() - start + 4);
    u32(total);
    for (int i = 0; i < 4; ++i)
      buf_[start + 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total >> (8 * i));
  }
  void u16(std::uint16_t v) {
    buf_.push_back(static_cast<std::uint8_t>(v));
    buf_.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v));
    u16(static_cast<std::uint16_t>(v >> 16));
  }
  void pad() {
    while (buf_.size() % 4 != 0) buf_.push_back(0);
  }

  std::vector<std::uint8_t> buf_;
  std::vector<int> ifaces_;
};

// An in-memory file with a path: /proc/self/fd/N of a memfd.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("tcplife-fuzz-pipeline", 0)) {
    check(fd_ >= 0, "memfd_create");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void write(const std::vector<std::uint8_t>& b) {
    check(ftruncate(fd_, 0) == 0, "ftruncate");
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = pwrite(fd_, b.data() + done, b.size() - done, static_cast<off_t>(done));
      check(n > 0, "pwrite");
      done += static_cast<std::size_t>(n);
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

void check_totals(const nlohmann::json& doc, std::uint64_t packets, std::uint64_t records) {
  const nlohmann::json& p = doc["packets"];
  check(p["read"].get<std::uint64_t>() == packets, "every packet read");
  std::uint64_t skipped = 0;
  for (const auto& [k, v] : p["skipped_by_reason"].items()) skipped += v.get<std::uint64_t>();
  check(p["read"].get<std::uint64_t>() == p["tcp"].get<std::uint64_t>() + skipped,
        "packets read = tcp + skipped");
  const nlohmann::json& s = doc["summary"];
  check(s["connections"].get<std::uint64_t>() == records, "summary.connections = records");
  if (s.contains("reported"))
    check(s["reported"].get<std::uint64_t>() == records, "summary.reported = records");
}

void check_output(output::Format fmt, const std::string& out, std::uint64_t packets) {
  if (fmt == output::Format::Json) {
    const nlohmann::json doc = nlohmann::json::parse(out, nullptr, false);
    check(!doc.is_discarded(), "JSON output parses");
    check_totals(doc, packets, doc["connections"].size());
  } else if (fmt == output::Format::Ndjson) {
    std::istringstream in(out);
    std::string line;
    std::uint64_t records = 0;
    bool summary = false;
    while (std::getline(in, line)) {
      check(!summary, "nothing after the NDJSON summary line");
      const nlohmann::json doc = nlohmann::json::parse(line, nullptr, false);
      check(!doc.is_discarded(), "every NDJSON line parses");
      if (doc["type"] == "connection") {
        ++records;
      } else {
        summary = true;
        check_totals(doc, packets, records);
      }
    }
    check(summary, "NDJSON ends with a summary line");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return -1;
  const tcplife::fuzz::ExactCopy input(data, size);
  const std::uint8_t cfg_bits = input.data()[0];
  const int base_linktype = tcplife::fuzz::linktype_from(input.data()[1]);
  const bool per_chunk_linktype = (cfg_bits & 0x40) != 0;

  static constexpr output::Format kFormats[] = {output::Format::Json, output::Format::Ndjson,
                                                output::Format::Text, output::Format::Zeek};
  tcplife::Config cfg;
  cfg.format = kFormats[cfg_bits & 3];
  cfg.output.timeline = true;
  static constexpr std::size_t kMaxConns[] = {0, 1, 2, 8};
  cfg.tracker.max_connections = kMaxConns[(cfg_bits >> 2) & 3];
  if ((cfg_bits & 0x10) != 0) {
    cfg.tracker.close_linger_ns = 0;
    cfg.tracker.idle_handshake_ns = cfg.tracker.idle_established_ns = cfg.tracker.idle_closing_ns =
        kNsPerSec;
  }
  cfg.verify_checksums = (cfg_bits & 0x20) != 0;
  if ((cfg_bits & 0x80) != 0) {
    cfg.global.syn_flood_half_open = 2;
    cfg.global.syn_flood_rate_milli = 1;
    cfg.global.scan_targets = 2;
    cfg.global.rst_storm_resets = 1;
    cfg.global.rst_storm_rate_milli = 1;
    cfg.global.max_tracked = 4;
  }

  PcapngWriter pcapng;
  std::int64_t now = 1'700'000'000LL * kNsPerSec;
  tcplife::fuzz::ChunkSplitter chunks(input.data() + 2, size - 2);
  const std::uint8_t* chunk = nullptr;
  std::size_t len = 0;
  std::uint64_t packets = 0;
  while (chunks.next(chunk, len)) {
    if (len == 0) continue;
    now = next_time(now, chunk[0]);
    ++chunk;
    --len;
    int linktype = base_linktype;
    if (per_chunk_linktype && len > 0) {
      linktype = tcplife::fuzz::linktype_from(chunk[0]);
      ++chunk;
      --len;
    }
    pcapng.packet(linktype, now, chunk, len);
    ++packets;
  }
  static MemFile file;
  file.write(pcapng.bytes());
  cfg.input = file.path();

  // Triage: TCPLIFE_FUZZ_DUMP=FILE keeps the pcapng (tcplife FILE shows the rest).
  static const char* dump = std::getenv("TCPLIFE_FUZZ_DUMP");
  if (dump != nullptr) {
    std::ofstream(dump, std::ios::binary)
        .write(reinterpret_cast<const char*>(pcapng.bytes().data()),
               static_cast<std::streamsize>(pcapng.bytes().size()));
  }

  std::ostringstream out, err;
  const int rc = tcplife::run(cfg, out, err);
  check(rc == tcplife::kExitOk, "a well-formed capture is read whole (exit 0)");
  check(err.str().empty(), "nothing on stderr");
  check_output(cfg.format, out.str(), packets);
  return 0;
}
