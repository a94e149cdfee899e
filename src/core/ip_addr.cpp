// SPDX-License-Identifier: MIT
#include "tcplife/core/ip_addr.hpp"

#include <arpa/inet.h>

namespace tcplife::core {

std::string to_string(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.is_v4()) {
    // Dotted quad by hand: inet_ntop goes through sprintf, a hot spot in JSON output.
    std::size_t n = 0;
    for (int i = 12; i < 16; ++i) {
      const unsigned v = a.b[static_cast<std::size_t>(i)];
      if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
      buf[n++] = static_cast<char>('0' + v % 10);
      if (i < 15) buf[n++] = '.';
    }
    return std::string(buf, n);
  } else {
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace tcplife::core
