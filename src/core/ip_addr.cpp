// SPDX-License-Identifier: MIT
#include "tcplife/core/ip_addr.hpp"

#include <arpa/inet.h>

namespace tcplife::core {

std::string to_string(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.is_v4()) {
    inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace tcplife::core
