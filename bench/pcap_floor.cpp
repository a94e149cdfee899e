// SPDX-License-Identifier: MIT
// pcap_floor: the cost of just reading a capture with libpcap - the floor the
// benchmark (issue 8) compares tcplife with. Touches each packet minimally:
// counts it, adds its caplen and its first and last bytes.
//
//   pcap_floor FILE              pcap_open_offline (stdio's default buffer)
//   pcap_floor --buffer N FILE   fopen + setvbuf(N bytes) + pcap_fopen_offline
//   --nano                       ask for nanosecond timestamps, as tcplife does
#include <pcap/pcap.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  std::size_t buffer = 0;
  bool nano = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--buffer" && i + 1 < argc) {
      buffer = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--nano") {
      nano = true;
    } else if (path == nullptr && (a.empty() || a[0] != '-' || a == "-")) {
      path = argv[i];
    } else {
      std::fprintf(stderr, "usage: pcap_floor [--buffer BYTES] [--nano] FILE\n");
      return 2;
    }
  }
  if (path == nullptr) {
    std::fprintf(stderr, "usage: pcap_floor [--buffer BYTES] [--nano] FILE\n");
    return 2;
  }
  const unsigned prec = nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = nullptr;
  std::vector<char> vbuf;
  if (buffer == 0) {
    p = pcap_open_offline_with_tstamp_precision(path, prec, errbuf);
  } else {
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr) {
      std::fprintf(stderr, "pcap_floor: %s: %s\n", path, std::strerror(errno));
      return 1;
    }
    vbuf.resize(buffer);
    std::setvbuf(f, vbuf.data(), _IOFBF, vbuf.size());
    p = pcap_fopen_offline_with_tstamp_precision(f, prec, errbuf);  // owns f from here
    if (p == nullptr) std::fclose(f);
  }
  if (p == nullptr) {
    std::fprintf(stderr, "pcap_floor: %s: %s\n", path, errbuf);
    return 1;
  }
  std::uint64_t packets = 0, bytes = 0, touch = 0;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    ++packets;
    bytes += h->caplen;
    if (h->caplen > 0) touch += d[0] + d[h->caplen - 1];
  }
  int status = 0;
  if (rc != PCAP_ERROR_BREAK) {
    std::fprintf(stderr, "pcap_floor: %s: %s\n", path, pcap_geterr(p));
    status = 3;
  }
  pcap_close(p);  // before vbuf goes away: it closes the FILE using the buffer
  std::printf("packets %" PRIu64 " bytes %" PRIu64 " touch %" PRIu64 "\n", packets, bytes, touch);
  return status;
}
