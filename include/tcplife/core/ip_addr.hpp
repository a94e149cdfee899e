// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <string>

namespace tcplife::core {

// An IPv4 or IPv6 address. IPv4 is stored v4-mapped (::ffff:a.b.c.d) so that
// both families share one key layout; is_v4() tells them apart.
struct IpAddr {
  std::array<std::uint8_t, 16> b{};

  static IpAddr from_v4(const std::uint8_t* p) noexcept {
    IpAddr a;
    a.b[10] = 0xff;
    a.b[11] = 0xff;
    a.b[12] = p[0];
    a.b[13] = p[1];
    a.b[14] = p[2];
    a.b[15] = p[3];
    return a;
  }
  static IpAddr from_v6(const std::uint8_t* p) noexcept {
    IpAddr a;
    for (int i = 0; i < 16; ++i) a.b[static_cast<std::size_t>(i)] = p[i];
    return a;
  }
  [[nodiscard]] bool is_v4() const noexcept {
    for (int i = 0; i < 10; ++i)
      if (b[static_cast<std::size_t>(i)] != 0) return false;
    return b[10] == 0xff && b[11] == 0xff;
  }
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// Dotted quad for IPv4, RFC 5952 text for IPv6 (inet_ntop).
std::string to_string(const IpAddr& a);

}  // namespace tcplife::core
