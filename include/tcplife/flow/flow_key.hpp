// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <cstring>

#include "tcplife/core/ip_addr.hpp"

namespace tcplife::flow {

// Which side of the canonical key sent a packet: Lo = the (address, port)
// that sorts first.
enum class Side : std::uint8_t { Lo = 0, Hi = 1 };

constexpr Side other(Side s) noexcept { return s == Side::Lo ? Side::Hi : Side::Lo; }
constexpr std::size_t idx(Side s) noexcept { return static_cast<std::size_t>(s); }

// Canonical 4-tuple: (addr_lo, port_lo) <= (addr_hi, port_hi), so both
// directions of a connection give the same key.
struct FlowKey {
  core::IpAddr addr_lo;
  core::IpAddr addr_hi;
  std::uint16_t port_lo = 0;
  std::uint16_t port_hi = 0;
  // Word-wise (the default == compares byte arrays through memcmp calls).
  friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
    return words(a.addr_lo, 0) == words(b.addr_lo, 0) &&
           words(a.addr_lo, 8) == words(b.addr_lo, 8) &&
           words(a.addr_hi, 0) == words(b.addr_hi, 0) &&
           words(a.addr_hi, 8) == words(b.addr_hi, 8) && a.port_lo == b.port_lo &&
           a.port_hi == b.port_hi;
  }
  static std::uint64_t words(const core::IpAddr& a, std::size_t at) noexcept {
    std::uint64_t v;
    std::memcpy(&v, a.b.data() + at, sizeof v);
    return v;
  }

  [[nodiscard]] const core::IpAddr& addr(Side s) const noexcept {
    return s == Side::Lo ? addr_lo : addr_hi;
  }
  [[nodiscard]] std::uint16_t port(Side s) const noexcept {
    return s == Side::Lo ? port_lo : port_hi;
  }
};

struct KeyedPacket {
  FlowKey key;
  Side from;  // the side that sent this packet
};

// Builds the canonical key of a packet from src to dst, and which side sent it.
KeyedPacket make_key(const core::IpAddr& src, std::uint16_t sport, const core::IpAddr& dst,
                     std::uint16_t dport) noexcept;

// A well-mixed 64-bit hash of the key (fields hashed, never padding).
std::uint64_t hash(const FlowKey& k) noexcept;

}  // namespace tcplife::flow
