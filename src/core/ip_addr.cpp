// SPDX-License-Identifier: MIT
#include "tcplife/core/ip_addr.hpp"

#include <arpa/inet.h>

#include <array>

namespace tcplife::core {

namespace {

std::size_t put_dotted(char* buf, const std::uint8_t* q) {
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned v = q[i];
    if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
    buf[n++] = static_cast<char>('0' + v % 10);
    if (i < 3) buf[n++] = '.';
  }
  return n;
}

// IPv6 text exactly as glibc's inet_ntop writes it (RFC 5952: lower-case hex
// without leading zeros, the first longest run of two or more zero groups as
// "::", and the last 32 bits dotted for the IPv4-compatible ::a.b.c.d),
// without inet_ntop's sprintf per group: a hot spot in JSON output.
std::size_t put_v6(char* buf, const IpAddr& a) {
  std::array<unsigned, 8> w{};
  for (std::size_t i = 0; i < 8; ++i) w[i] = unsigned{a.b[2 * i]} << 8 | a.b[2 * i + 1];
  int best = -1, best_len = 0, cur = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (w[static_cast<std::size_t>(i)] == 0) {
      if (cur < 0) cur = i, cur_len = 0;
      ++cur_len;
    } else if (cur >= 0) {
      if (best < 0 || cur_len > best_len) best = cur, best_len = cur_len;
      cur = -1;
    }
  }
  if (cur >= 0 && (best < 0 || cur_len > best_len)) best = cur, best_len = cur_len;
  if (best_len < 2) best = -1;
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) buf[n++] = ':';
      continue;
    }
    if (i != 0) buf[n++] = ':';
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
      return n + put_dotted(buf + n, a.b.data() + 12);
    const unsigned v = w[static_cast<std::size_t>(i)];
    bool lead = true;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (v >> shift) & 0xf;
      if (lead && d == 0 && shift != 0) continue;
      lead = false;
      buf[n++] = kHex[d];
    }
  }
  if (best >= 0 && best + best_len == 8) buf[n++] = ':';
  return n;
}

}  // namespace

std::string to_string(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.is_v4()) {
    // Dotted quad by hand: inet_ntop goes through sprintf, a hot spot in JSON output.
    return std::string(buf, put_dotted(buf, a.b.data() + 12));
  }
  return std::string(buf, put_v6(buf, a));
}

}  // namespace tcplife::core
