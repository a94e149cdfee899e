// SPDX-License-Identifier: MIT
// Private to the decode module: the cursor the layer decoders share.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "tcplife/core/bytes.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/decode/segment.hpp"

namespace tcplife::decode::detail {

// Limits on nesting; exceeding one is Status::TooManyLayers.
inline constexpr unsigned kMaxLinkLayers = 16;  // VLAN tags + MPLS labels, whole packet
inline constexpr unsigned kMaxTunnels = 4;      // tunnel layers stripped
inline constexpr unsigned kMaxIpv6ExtHeaders = 16;
inline constexpr unsigned kMaxSteps = 96;  // safety net over the whole dispatch loop

// What the bytes at the cursor are.
enum class Next : std::uint8_t {
  Ethernet,   // an Ethernet II / 802.3 header
  EtherType,  // a payload announced by Ctx::ethertype (VLAN tag, MPLS, PPPoE, IP, ...)
  Llc,        // an 802.2 LLC header (SNAP expected)
  Ppp,        // a PPP protocol field (optionally preceded by FF 03)
  IpAny,      // an IP header, version from the first nibble
  Ipv4,
  Ipv6,
  IpProto,  // the payload of an IP header, protocol in Ctx::ip_proto
  Tcp,
  Done,
};

struct Ctx {
  Segment& out;
  // Captured bytes from the cursor on, already clamped to `declared`.
  core::Bytes data;
  // Bytes the enclosing headers say exist from the cursor on (>= data.size()).
  // Differs from data.size() when the capture was cut by the snaplen.
  std::uint64_t declared = 0;
  Next next = Next::Done;
  std::uint16_t ethertype = 0;
  std::uint8_t ip_proto = 0;
  // False when the innermost IP header gave no length (IPv4 total length 0 from
  // TSO, IPv6 payload length 0 without a Jumbo option): `declared` was derived
  // from the capture, so a short transport header is truncation, not malformation.
  bool len_from_header = true;
  unsigned link_layers = 0;
  unsigned tunnels = 0;
  unsigned vlans = 0;

  // Moves the cursor past n captured bytes (caller checked n <= data.size()).
  void advance(std::size_t n) noexcept {
    data = data.subspan(n);
    declared = declared >= n ? declared - n : 0;
  }
  // A header said the rest is `len` bytes long: drop trailing bytes (Ethernet padding).
  void clamp(std::uint64_t len) noexcept {
    declared = len;
    if (data.size() > len) data = data.first(static_cast<std::size_t>(len));
  }
  // Status for a header of `need` bytes that is not all there: malformed if the
  // enclosing headers say it cannot fit, truncated if the capture merely ended.
  [[nodiscard]] Status short_by(std::size_t need, Status truncated,
                                Status malformed) const noexcept {
    return declared < need ? malformed : truncated;
  }
};

inline std::uint32_t saturate32(std::uint64_t v) noexcept {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
}

// Link layer (link_layer.cpp).
Status start_link(Ctx& c, int linktype) noexcept;
bool link_supported(int linktype) noexcept;
Status ethernet(Ctx& c) noexcept;
Status llc(Ctx& c) noexcept;
Status ethertype(Ctx& c) noexcept;
Status ppp(Ctx& c) noexcept;

// IP layer (ip_layer.cpp).
Status ip_any(Ctx& c) noexcept;
Status ipv4(Ctx& c) noexcept;
Status ipv6(Ctx& c) noexcept;
Status ip_proto(Ctx& c) noexcept;
Status enter_tunnel(Ctx& c, TunnelKind kind, std::uint32_t id) noexcept;

// Tunnels carried by IP (tunnel.cpp).
Status gre(Ctx& c) noexcept;
Status udp(Ctx& c) noexcept;

// TCP (tcp_layer.cpp).
Status tcp(Ctx& c, const DecodeOptions& opts) noexcept;
void parse_tcp_options(core::Bytes opts, bool cut, TcpOptions& out) noexcept;

}  // namespace tcplife::decode::detail
