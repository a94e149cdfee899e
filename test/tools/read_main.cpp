// SPDX-License-Identifier: MIT
// tcplife_read: reads a capture the way tcplife does and nothing more, to time
// the readers apart from the analysis (docs/performance.md). Touches each
// packet as bench/pcap_floor does: counts it, adds its caplen and its first and
// last bytes.
//
//   tcplife_read [--reader builtin|mmap|libpcap] FILE   through source::open_file
//   tcplife_read --buffer BYTES FILE               the built-in reader with this buffer
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "source/pcap_reader.hpp"
#include "tcplife/source/packet_source.hpp"

namespace {

using tcplife::core::PacketView;
using tcplife::source::ReadStatus;

struct Totals {
  std::uint64_t packets = 0, bytes = 0, touch = 0;
};

template <typename Source>
ReadStatus drain(Source& src, Totals& t) {
  PacketView v;
  ReadStatus st;
  while ((st = src.next(v)) == ReadStatus::Packet) {
    ++t.packets;
    t.bytes += v.bytes.size();
    if (!v.bytes.empty()) t.touch += std::uint64_t{v.bytes.front()} + v.bytes.back();
  }
  return st;
}

int usage() {
  std::fprintf(stderr,
               "usage: tcplife_read [--reader builtin|mmap|libpcap | --buffer BYTES] FILE\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto kind = tcplife::source::PcapReaderKind::Builtin;
  std::size_t buffer = 0;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--reader" && i + 1 < argc) {
      const std::string_view k = argv[++i];
      if (k != "builtin" && k != "mmap" && k != "libpcap") return usage();
      if (k == "libpcap") kind = tcplife::source::PcapReaderKind::Libpcap;
      if (k == "mmap") kind = tcplife::source::PcapReaderKind::BuiltinMapped;
    } else if (a == "--buffer" && i + 1 < argc) {
      buffer = std::strtoull(argv[++i], nullptr, 10);
    } else if (path == nullptr) {
      path = argv[i];
    } else {
      return usage();
    }
  }
  if (path == nullptr) return usage();
  Totals t;
  ReadStatus st;
  std::string error;
  if (buffer != 0) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "tcplife_read: %s: %s\n", path, std::strerror(errno));
      return 1;
    }
    tcplife::source::PcapReader r(fd, true, {}, {.buffer = buffer, .map = false});
    if (!r.start(error)) {
      std::fprintf(stderr, "tcplife_read: %s: %s\n", path, error.c_str());
      return 1;
    }
    st = drain(r, t);
    error = r.error();
  } else {
    tcplife::source::OpenError err;
    auto src = tcplife::source::open_file(path, err, kind);
    if (!src) {
      std::fprintf(stderr, "tcplife_read: %s\n", err.message.c_str());
      return 1;
    }
    st = drain(*src, t);
    error = src->error();
  }
  std::printf("packets %" PRIu64 " bytes %" PRIu64 " touch %" PRIu64 "\n", t.packets, t.bytes,
              t.touch);
  if (st != ReadStatus::End) {
    std::fprintf(stderr, "tcplife_read: %s: %s\n", path, error.c_str());
    return 3;
  }
  return 0;
}
