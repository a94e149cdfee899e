// SPDX-License-Identifier: MIT
// IPv4 (RFC 791) and IPv6 with its extension header chain (RFC 8200).
#include "decode/decode_context.hpp"

namespace tcplife::decode::detail {
namespace {

using core::load_be16;
using core::load_be32;

constexpr std::uint8_t kProtoHopByHop = 0;
constexpr std::uint8_t kProtoIpv4 = 4;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIpv6 = 41;
constexpr std::uint8_t kProtoRouting = 43;
constexpr std::uint8_t kProtoFragment = 44;
constexpr std::uint8_t kProtoGre = 47;
constexpr std::uint8_t kProtoAh = 51;
constexpr std::uint8_t kProtoDstOpts = 60;
constexpr std::uint8_t kProtoMobility = 135;
constexpr std::uint8_t kProtoHip = 139;
constexpr std::uint8_t kProtoShim6 = 140;

constexpr std::uint8_t kOptJumbo = 0xC2;  // RFC 2675

// Extension headers we walk through. ESP (50) and No Next Header (59) end the
// chain and fall to ip_proto() as "not TCP".
bool is_ext_header(std::uint8_t nh) noexcept {
  switch (nh) {
    case kProtoHopByHop:
    case kProtoRouting:
    case kProtoFragment:
    case kProtoAh:
    case kProtoDstOpts:
    case kProtoMobility:
    case kProtoHip:
    case kProtoShim6:
      return true;
    default:
      return false;
  }
}

// Jumbo Payload option (RFC 2675) in a hop-by-hop header `h` of `len` bytes.
bool find_jumbo(const std::uint8_t* h, std::size_t len, std::uint32_t& jumbo) noexcept {
  std::size_t i = 2;
  while (i < len) {
    if (h[i] == 0) {  // Pad1
      ++i;
      continue;
    }
    if (i + 2 > len) return false;
    const std::size_t olen = h[i + 1];
    if (i + 2 + olen > len) return false;
    if (h[i] == kOptJumbo && olen == 4) {
      jumbo = load_be32(h + i + 2);
      return true;
    }
    i += 2 + olen;
  }
  return false;
}

// With segments left, the header's destination is an intermediate hop; the
// transport checksum (RFC 8200 8.1) and the connection, as the reply sees it,
// use the final destination. `h` holds `len` captured bytes.
void apply_routing_final_dst(Ctx& c, const std::uint8_t* h, std::size_t len) noexcept {
  const std::uint8_t type = h[2];
  const std::uint8_t segments_left = h[3];
  if (segments_left == 0 || len < 24) return;
  switch (type) {
    case 0: {  // RH0 (deprecated): addresses in order, the last is final
      const std::size_t n = (len - 8) / 16;
      c.out.dst = core::IpAddr::from_v6(h + 8 + 16 * (n - 1));
      break;
    }
    case 2:  // Mobile IPv6: the home address
    case 4:  // Segment Routing (RFC 8754): Segment List[0] is the last segment
      c.out.dst = core::IpAddr::from_v6(h + 8);
      break;
    default:
      break;
  }
}

// Length of the extension header at the cursor; false if it is not all there.
Status ext_header_len(Ctx& c, std::uint8_t nh, std::size_t& len) noexcept {
  if (c.data.size() < 2) return c.short_by(2, Status::IpTruncated, Status::Ipv6BadExtHeader);
  if (nh == kProtoFragment) {
    len = 8;
  } else if (nh == kProtoAh) {
    len = (static_cast<std::size_t>(c.data[1]) + 2) * 4;  // RFC 4302: 4-byte units, minus 2
  } else {
    len = (static_cast<std::size_t>(c.data[1]) + 1) * 8;
  }
  return Status::Ok;
}

Status walk_ext_headers(Ctx& c, std::uint8_t& nh, std::uint64_t& payload) noexcept {
  for (unsigned n = 0; is_ext_header(nh); ++n) {
    if (n == kMaxIpv6ExtHeaders) return Status::Ipv6BadExtHeader;
    std::size_t len = 0;
    if (Status s = ext_header_len(c, nh, len); s != Status::Ok) return s;
    if (n == 0 && nh == kProtoHopByHop && !c.len_from_header && c.data.size() >= len) {
      // Payload length 0: a jumbogram states its length (counted from the end of
      // the fixed header, where we are) here; BIG TCP captures don't.
      std::uint32_t jumbo = 0;
      if (find_jumbo(c.data.data(), len, jumbo)) {
        payload = jumbo;
        c.clamp(jumbo);
        c.len_from_header = true;
      }
    }
    if (len > c.declared) return Status::Ipv6BadExtHeader;
    if (len > c.data.size()) return Status::IpTruncated;
    const std::uint8_t* h = c.data.data();
    if (nh == kProtoFragment) {
      const std::uint16_t off_m = load_be16(h + 2);
      // Offset 0 and M=0 is an "atomic fragment" (RFC 6946): a whole packet.
      if ((off_m & 0xFFF9) != 0) return Status::IpFragment;
    }
    if (nh == kProtoRouting) apply_routing_final_dst(c, h, len);
    nh = h[0];
    c.advance(len);
  }
  return Status::Ok;
}

}  // namespace

Status ip_any(Ctx& c) noexcept {
  if (c.data.empty()) return Status::IpTruncated;
  switch (c.data[0] >> 4) {
    case 4:
      return ipv4(c);
    case 6:
      return ipv6(c);
    default:
      return Status::IpBadVersion;
  }
}

Status ipv4(Ctx& c) noexcept {
  if (c.data.empty()) return Status::IpTruncated;
  if ((c.data[0] >> 4) != 4) return Status::IpBadVersion;
  if (c.data.size() < 20) return Status::IpTruncated;
  const std::uint8_t* h = c.data.data();
  const std::size_t hlen = static_cast<std::size_t>(h[0] & 0x0f) * 4;
  if (hlen < 20) return Status::IpBadHeaderLen;
  const std::uint16_t total = load_be16(h + 2);
  if (total != 0 && total < hlen) return Status::IpBadTotalLen;
  if (hlen > c.data.size()) return Status::IpTruncated;

  Segment& o = c.out;
  o.ip_version = 4;
  o.ip_id = load_be16(h + 4);
  o.ttl = h[8];
  o.src = core::IpAddr::from_v4(h + 12);
  o.dst = core::IpAddr::from_v4(h + 16);
  const std::uint16_t frag = load_be16(h + 6);
  const std::uint8_t proto = h[9];

  // Total length 0 is what TSO/GSO captures show: the length is whatever arrived.
  c.len_from_header = total != 0;
  const std::uint64_t len = total != 0 ? total : c.declared;
  c.clamp(len);  // drops Ethernet padding
  o.ip_total_len = saturate32(len);
  if ((frag & 0x3fff) != 0) return Status::IpFragment;  // MF or a fragment offset
  c.advance(hlen);
  c.ip_proto = proto;
  c.next = Next::IpProto;
  return Status::Ok;
}

Status ipv6(Ctx& c) noexcept {
  if (c.data.empty()) return Status::IpTruncated;
  if ((c.data[0] >> 4) != 6) return Status::IpBadVersion;
  if (c.data.size() < 40) return Status::IpTruncated;
  const std::uint8_t* h = c.data.data();
  Segment& o = c.out;
  o.ip_version = 6;
  o.ip_id = 0;
  o.ttl = h[7];
  o.src = core::IpAddr::from_v6(h + 8);
  o.dst = core::IpAddr::from_v6(h + 24);
  const std::uint16_t plen = load_be16(h + 4);
  std::uint8_t nh = h[6];
  c.advance(40);

  // Payload length 0: a jumbogram (RFC 2675) or a BIG TCP / GSO capture; use
  // the Jumbo option if the hop-by-hop header has one, else what arrived.
  c.len_from_header = plen != 0;
  std::uint64_t payload = plen != 0 ? plen : c.declared;
  c.clamp(payload);
  if (Status s = walk_ext_headers(c, nh, payload); s != Status::Ok) return s;
  o.ip_total_len = saturate32(40 + payload);  // as Zeek counts IP bytes
  c.ip_proto = nh;
  c.next = Next::IpProto;
  return Status::Ok;
}

Status enter_tunnel(Ctx& c, TunnelKind kind, std::uint32_t id) noexcept {
  if (c.tunnels >= kMaxTunnels) return Status::TooManyLayers;
  if (c.tunnels == 0) {
    c.out.tunnel.kind = kind;
    c.out.tunnel.id = id;
    c.out.tunnel.outer_src = c.out.src;  // still the enclosing IP header's
    c.out.tunnel.outer_dst = c.out.dst;
  }
  ++c.tunnels;
  c.out.tunnel.depth = static_cast<std::uint8_t>(c.tunnels);
  return Status::Ok;
}

Status ip_proto(Ctx& c) noexcept {
  switch (c.ip_proto) {
    case kProtoTcp:
      c.next = Next::Tcp;
      return Status::Ok;
    case kProtoIpv4:
    case kProtoIpv6: {
      if (Status s = enter_tunnel(c, TunnelKind::IpInIp, 0); s != Status::Ok) return s;
      c.next = c.ip_proto == kProtoIpv4 ? Next::Ipv4 : Next::Ipv6;
      return Status::Ok;
    }
    case kProtoGre:
      return gre(c);
    case kProtoUdp:
      return udp(c);
    default:
      return Status::NotTcp;  // ICMP, ESP, no next header, SCTP, ...
  }
}

}  // namespace tcplife::decode::detail
