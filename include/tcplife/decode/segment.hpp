// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>

#include "tcplife/core/bytes.hpp"
#include "tcplife/core/ip_addr.hpp"
#include "tcplife/core/time.hpp"

namespace tcplife::decode {

// TCP header flag bits, as on the wire (byte 13), plus AE (the old NS bit) as 0x100.
namespace flag {
inline constexpr std::uint16_t kFin = 0x01;
inline constexpr std::uint16_t kSyn = 0x02;
inline constexpr std::uint16_t kRst = 0x04;
inline constexpr std::uint16_t kPsh = 0x08;
inline constexpr std::uint16_t kAck = 0x10;
inline constexpr std::uint16_t kUrg = 0x20;
inline constexpr std::uint16_t kEce = 0x40;
inline constexpr std::uint16_t kCwr = 0x80;
inline constexpr std::uint16_t kAe = 0x100;
}  // namespace flag

struct SackBlock {
  std::uint32_t left = 0;   // first sequence number of the block
  std::uint32_t right = 0;  // sequence number just past the block
};

// The TCP options tcplife uses, parsed into fixed fields: no allocation.
struct TcpOptions {
  static constexpr std::size_t kMaxSack = 4;

  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  bool has_tfo = false;      // TFO option (kind 34, or experimental 254 with magic 0xF989)
  bool malformed = false;    // an option had a bad length; the options after it were not read
  std::uint16_t mss = 0;
  std::uint8_t wscale = 0;   // shift as sent (may exceed 14; RFC 7323 says use 14)
  std::uint8_t tfo_cookie_len = 0;  // 0 = cookie request
  std::uint32_t ts_val = 0;
  std::uint32_t ts_ecr = 0;
  std::uint8_t sack_count = 0;      // blocks stored in `sack` (at most kMaxSack)
  std::array<SackBlock, kMaxSack> sack{};
};

enum class TunnelKind : std::uint8_t { None, IpInIp, Gre, Vxlan, Geneve, Teredo };

// The outermost tunnel that carried the segment, if any.
struct TunnelInfo {
  TunnelKind kind = TunnelKind::None;
  std::uint8_t depth = 0;    // number of tunnel layers stripped
  std::uint32_t id = 0;      // VXLAN/Geneve VNI, GRE key (0 if none)
  core::IpAddr outer_src;    // addresses of the outermost tunnel's IP header
  core::IpAddr outer_dst;
};

enum class Checksum : std::uint8_t { NotChecked, Good, Bad, Unverifiable };

inline constexpr std::uint16_t kNoVlan = 0xffff;

// One decoded TCP segment. Plain data; `payload` is a view into the packet's
// bytes and, like them, valid only until the next read.
struct Segment {
  core::Timestamp ts;
  std::uint64_t index = 0;       // 0-based packet number (frame = index + 1)
  std::uint32_t wire_len = 0;    // frame length on the wire

  std::uint8_t ip_version = 0;   // 4 or 6 (of the innermost IP header)
  core::IpAddr src;
  core::IpAddr dst;
  std::uint16_t ip_id = 0;       // IPv4 identification (0 for IPv6)
  std::uint8_t ttl = 0;          // TTL or hop limit
  std::uint32_t ip_total_len = 0;  // IP header + payload, as Zeek's *_ip_bytes count it

  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t flags = 0;       // flag::k*
  std::uint16_t window = 0;      // raw, unscaled
  std::uint16_t urgent = 0;
  std::uint8_t header_len = 0;   // TCP header length in bytes (data offset * 4)
  std::uint32_t payload_len = 0;           // from the IP length fields, not from caplen
  core::Bytes payload;                      // the captured part of the payload (may be shorter)
  TcpOptions options;
  Checksum checksum = Checksum::NotChecked;

  std::uint16_t vlan_outer = kNoVlan;  // outermost 802.1Q/802.1ad VLAN id
  std::uint16_t vlan_inner = kNoVlan;  // second VLAN id (QinQ)
  TunnelInfo tunnel;

  [[nodiscard]] bool has(std::uint16_t f) const noexcept { return (flags & f) != 0; }
};

}  // namespace tcplife::decode
