// SPDX-License-Identifier: MIT
// fuzz_reader: the input is a capture file's bytes. It is read four times
// through tcplife::run() (JSON output): as a file (classic pcap by the built-in
// reader; pcapng by libpcap, with the built-in pcapng reader where libpcap
// refuses), as the same file with --reader mmap and with --reader libpcap, and
// as standard input, "-"
// (the built-in reader for pcap, the built-in pcapng reader for every pcapng).
// One input in eight also gets a BPF filter ("tcp"), so the per-link-type filter
// path runs too.
//
// Checks: no crash, no hang; exit code 0, 1 or 3 (2 only for the filter);
// exit 1 prints nothing on stdout and one stderr line naming the input; exit 0/3
// print a JSON document that parses and adds up (packets read = TCP + skipped,
// summary.connections = len(connections)); exit 3 warns in one line and marks the
// input incomplete; a pcap file and the same bytes on stdin give the same connections;
// the built-in reader (reading or mapping) and libpcap give the same exit code,
// report and message.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fuzz_common.hpp"
#include "tcplife/pipeline.hpp"

namespace {

using nlohmann::json;
using tcplife::fuzz::check;

struct Outcome {
  int rc = 0;
  std::string out;
  std::string err;
  json doc;
};

Outcome run_json(const std::string& input, const std::string& filter,
                 tcplife::source::PcapReaderKind reader = tcplife::source::PcapReaderKind::Builtin) {
  tcplife::Config cfg;
  cfg.input = input;
  cfg.reader = reader;
  cfg.filter = filter;
  cfg.format = tcplife::output::Format::Json;
  std::ostringstream out, err;
  Outcome o;
  o.rc = tcplife::run(cfg, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char ch : s) n += ch == '\n' ? 1 : 0;
  return n;
}

void check_outcome(Outcome& o, const std::string& name, bool filtered) {
  check(o.rc == tcplife::kExitOk || o.rc == tcplife::kExitInputError ||
            o.rc == tcplife::kExitPartial || (filtered && o.rc == tcplife::kExitUsage),
        "exit code is 0, 1 or 3");
  if (o.rc == tcplife::kExitInputError || o.rc == tcplife::kExitUsage) {
    check(o.out.empty(), "an unusable input prints no report");
    check(lines(o.err) == 1 && o.err.back() == '\n', "one stderr line");
    check(o.err.find(name) != std::string::npos || o.rc == tcplife::kExitUsage,
          "the stderr line names the input");
    return;
  }
  o.doc = json::parse(o.out, nullptr, false);
  check(!o.doc.is_discarded(), "the JSON report parses");
  const json& p = o.doc["packets"];
  std::uint64_t skipped = 0;
  for (const auto& [k, v] : p["skipped_by_reason"].items()) skipped += v.get<std::uint64_t>();
  check(skipped == p["skipped"].get<std::uint64_t>(), "skipped = sum of skipped_by_reason");
  check(p["read"].get<std::uint64_t>() == p["tcp"].get<std::uint64_t>() + skipped,
        "packets read = tcp + skipped");
  check(o.doc["summary"]["connections"].get<std::uint64_t>() == o.doc["connections"].size(),
        "summary.connections = len(connections)");
  if (o.rc == tcplife::kExitOk) {
    check(o.err.empty(), "a complete read prints nothing on stderr");
    check(o.doc["input"]["complete"] == true, "complete input marked complete");
  } else {
    check(lines(o.err) == 1 && o.err.find(name) != std::string::npos,
          "a partial read warns in one line naming the input");
    check(o.doc["input"]["complete"] == false, "partial input marked incomplete");
  }
}

// An in-memory file with a path: /proc/self/fd/N of a memfd.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("tcplife-fuzz", 0)) {
    check(fd_ >= 0, "memfd_create");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void write(const std::uint8_t* data, std::size_t size) {
    check(ftruncate(fd_, 0) == 0, "ftruncate");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      check(n > 0, "pwrite");
      done += static_cast<std::size_t>(n);
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static MemFile file;
  const tcplife::fuzz::ExactCopy input(data, size);
  file.write(input.data(), input.size());
  const bool filtered = (tcplife::fuzz::fnv1a(input.data(), input.size()) & 7) == 0;
  const std::string filter = filtered ? "tcp" : "";

  Outcome via_file = run_json(file.path(), filter);
  check_outcome(via_file, file.path(), filtered);

  // The built-in reader against libpcap's pcap_next_ex: the same everything.
  Outcome via_libpcap = run_json(file.path(), filter, tcplife::source::PcapReaderKind::Libpcap);
  check(via_libpcap.rc == via_file.rc, "--reader libpcap: the same exit code");
  check(via_libpcap.out == via_file.out, "--reader libpcap: the same report");
  check(via_libpcap.err == via_file.err, "--reader libpcap: the same message");

  // The built-in reader mapping the file (--reader mmap): the same everything.
  Outcome via_map = run_json(file.path(), filter, tcplife::source::PcapReaderKind::BuiltinMapped);
  check(via_map.rc == via_file.rc, "--reader mmap: the same exit code");
  check(via_map.out == via_file.out, "--reader mmap: the same report");
  check(via_map.err == via_file.err, "--reader mmap: the same message");

  // Standard input is file descriptor 0 (read with read(2), not stdio): put a
  // fresh descriptor of the file there for the run.
  const int saved = dup(STDIN_FILENO);
  const int in = open(file.path().c_str(), O_RDONLY);
  check(saved >= 0 && in >= 0 && dup2(in, STDIN_FILENO) == STDIN_FILENO, "stdin from the file");
  close(in);
  Outcome via_stdin = run_json("-", filter);
  check(dup2(saved, STDIN_FILENO) == STDIN_FILENO, "stdin restored");
  close(saved);
  check_outcome(via_stdin, "<stdin>", filtered);

  // Classic pcap goes through the built-in reader both ways: the same bytes, the same report.
  // pcapng is libpcap (falling back to the built-in reader) from a file and the
  // built-in reader from stdin; TCPLIFE_FUZZ_DIFF=1 compares those too.
  static const bool diff_pcapng = std::getenv("TCPLIFE_FUZZ_DIFF") != nullptr;
  const bool pcapng = size >= 4 && input.data()[0] == 0x0A && input.data()[1] == 0x0D &&
                      input.data()[2] == 0x0D && input.data()[3] == 0x0A;
  if ((!pcapng || diff_pcapng) && via_file.rc == tcplife::kExitOk &&
      via_stdin.rc == tcplife::kExitOk) {
    check(via_file.doc["connections"] == via_stdin.doc["connections"],
          "a capture file and the same bytes on stdin give the same connections");
    check(via_file.doc["packets"] == via_stdin.doc["packets"],
          "a capture file and the same bytes on stdin give the same packet counts");
  }
  return 0;
}
