// SPDX-License-Identifier: MIT
// Tunnels carried by IP: GRE (with ERSPAN and PPTP), and over UDP VXLAN, VXLAN-GPE,
// Geneve and Teredo. A tunnel header that is cut short by the capture is
// IpTruncated (it is part of the IP payload); one longer than the IP payload that
// carries it is TunnelMalformed.
#include "decode/decode_context.hpp"

namespace tcplife::decode::detail {
namespace {

using core::load_be16;
using core::load_be32;

constexpr std::uint16_t kEthTeb = 0x6558;
constexpr std::uint16_t kEthMpls = 0x8847;
constexpr std::uint16_t kEthPpp = 0x880B;
constexpr std::uint16_t kEthErspan2 = 0x88BE;  // ERSPAN type I (no S bit) or II
constexpr std::uint16_t kEthErspan3 = 0x22EB;

constexpr std::uint16_t kPortVxlan = 4789;  // RFC 7348
constexpr std::uint16_t kPortVxlanGpe = 4790;
constexpr std::uint16_t kPortGeneve = 6081;  // RFC 8926
constexpr std::uint16_t kPortTeredo = 3544;  // RFC 4380

// GRE flags (RFC 2784, RFC 2890, RFC 1701 for routing, RFC 2637 for version 1).
constexpr std::uint16_t kGreChecksum = 0x8000;
constexpr std::uint16_t kGreRouting = 0x4000;
constexpr std::uint16_t kGreKey = 0x2000;
constexpr std::uint16_t kGreSeq = 0x1000;
constexpr std::uint16_t kGreAck = 0x0080;
constexpr std::uint16_t kGreVersion = 0x0007;

std::uint32_t load_be24(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]};
}

// Checks a tunnel header of `len` bytes is there; otherwise truncated or malformed.
Status need(const Ctx& c, std::size_t len) noexcept {
  if (c.data.size() >= len) return Status::Ok;
  return c.short_by(len, Status::IpTruncated, Status::TunnelMalformed);
}

// What a GRE/Geneve protocol type (an ethertype) carries.
Status inner_ethertype(Ctx& c, std::uint16_t proto) noexcept {
  if (proto == kEthTeb) {
    c.next = Next::Ethernet;
  } else {
    c.ethertype = proto;
    c.next = Next::EtherType;
  }
  return Status::Ok;
}

// ERSPAN type II: ver(4)=1 vlan(12) cos/en/t/session(16) reserved/index(32), then Ethernet.
Status erspan2(Ctx& c) noexcept {
  if (Status s = need(c, 8); s != Status::Ok) return s;
  if ((c.data[0] >> 4) != 1) return Status::UnsupportedTunnel;
  c.advance(8);
  c.next = Next::Ethernet;
  return Status::Ok;
}

// ERSPAN type III: 12 bytes, ver(4)=2; the O bit (last bit) adds an 8-byte
// platform-specific subheader; then Ethernet.
Status erspan3(Ctx& c) noexcept {
  if (Status s = need(c, 12); s != Status::Ok) return s;
  if ((c.data[0] >> 4) != 2) return Status::UnsupportedTunnel;
  const std::size_t len = (c.data[11] & 0x01) != 0 ? 20 : 12;
  if (Status s = need(c, len); s != Status::Ok) return s;
  c.advance(len);
  c.next = Next::Ethernet;
  return Status::Ok;
}

// GRE version 0: flags/version(2) protocol(2) [checksum(2) reserved(2)] [key(4)] [seq(4)].
Status gre_v0(Ctx& c, std::uint16_t flags, std::uint16_t proto) noexcept {
  // Source routing (RFC 1701) is obsolete; its variable SRE list is not decoded.
  if ((flags & kGreRouting) != 0) return Status::UnsupportedTunnel;
  std::size_t len = 4;
  if ((flags & kGreChecksum) != 0) len += 4;
  std::size_t key_at = 0;
  if ((flags & kGreKey) != 0) {
    key_at = len;
    len += 4;
  }
  if ((flags & kGreSeq) != 0) len += 4;
  if (Status s = need(c, len); s != Status::Ok) return s;
  const std::uint32_t key = key_at != 0 ? load_be32(c.data.data() + key_at) : 0;
  if (Status s = enter_tunnel(c, TunnelKind::Gre, key); s != Status::Ok) return s;
  c.advance(len);
  switch (proto) {
    case kEthErspan2:
      if ((flags & kGreSeq) == 0) {  // type I: no ERSPAN header
        c.next = Next::Ethernet;
        return Status::Ok;
      }
      return erspan2(c);
    case kEthErspan3:
      return erspan3(c);
    case kEthPpp:
      c.next = Next::Ppp;
      return Status::Ok;
    default:
      return inner_ethertype(c, proto);
  }
}

// Enhanced GRE, version 1 (PPTP, RFC 2637): flags/version(2) protocol(2)=0x880B
// payload length(2) call id(2) [seq(4)] [ack(4)], then a PPP frame.
Status gre_v1(Ctx& c, std::uint16_t flags, std::uint16_t proto) noexcept {
  if (proto != kEthPpp || (flags & kGreKey) == 0) return Status::UnsupportedTunnel;
  std::size_t len = 8;
  if ((flags & kGreSeq) != 0) len += 4;
  if ((flags & kGreAck) != 0) len += 4;
  if (Status s = need(c, len); s != Status::Ok) return s;
  const std::uint16_t payload_len = load_be16(c.data.data() + 4);
  const std::uint16_t call_id = load_be16(c.data.data() + 6);
  if (Status s = enter_tunnel(c, TunnelKind::Gre, call_id); s != Status::Ok) return s;
  c.advance(len);
  if (payload_len == 0) return Status::NotTcp;  // an acknowledgement only
  c.clamp(payload_len);
  c.next = Next::Ppp;
  return Status::Ok;
}

// VXLAN (RFC 7348): flags(1) reserved(3) VNI(3) reserved(1), then Ethernet.
Status vxlan(Ctx& c) noexcept {
  if (Status s = need(c, 8); s != Status::Ok) return s;
  if (Status s = enter_tunnel(c, TunnelKind::Vxlan, load_be24(c.data.data() + 4)); s != Status::Ok)
    return s;
  c.advance(8);
  c.next = Next::Ethernet;
  return Status::Ok;
}

// VXLAN-GPE: flags(1) reserved(2) next protocol(1) VNI(3) reserved(1). Without
// the P flag the payload is Ethernet, as in VXLAN.
Status vxlan_gpe(Ctx& c) noexcept {
  if (Status s = need(c, 8); s != Status::Ok) return s;
  const bool has_next = (c.data[0] & 0x04) != 0;
  const std::uint8_t next = c.data[3];
  if (Status s = enter_tunnel(c, TunnelKind::Vxlan, load_be24(c.data.data() + 4)); s != Status::Ok)
    return s;
  c.advance(8);
  if (!has_next) {
    c.next = Next::Ethernet;
    return Status::Ok;
  }
  switch (next) {
    case 1:
      c.next = Next::Ipv4;
      return Status::Ok;
    case 2:
      c.next = Next::Ipv6;
      return Status::Ok;
    case 3:
      c.next = Next::Ethernet;
      return Status::Ok;
    case 5:
      return inner_ethertype(c, kEthMpls);
    default:
      return Status::UnsupportedTunnel;  // NSH, ...
  }
}

// Geneve (RFC 8926): ver(2) opt len(6, 4-byte units) O C rsvd(6) protocol(2)
// VNI(3) reserved(1), options, then the payload named by the protocol type.
Status geneve(Ctx& c) noexcept {
  if (Status s = need(c, 8); s != Status::Ok) return s;
  const std::uint8_t* p = c.data.data();
  if ((p[0] >> 6) != 0) return Status::UnsupportedTunnel;
  const std::size_t len = 8 + static_cast<std::size_t>(p[0] & 0x3f) * 4;
  const std::uint16_t proto = load_be16(p + 2);
  const std::uint32_t vni = load_be24(p + 4);
  if (Status s = need(c, len); s != Status::Ok) return s;
  if (Status s = enter_tunnel(c, TunnelKind::Geneve, vni); s != Status::Ok) return s;
  c.advance(len);
  return inner_ethertype(c, proto);
}

// Teredo (RFC 4380): IPv6 in UDP, optionally after an authentication indicator
// (00 01 id-len au-len client-id auth-value nonce(8) confirmation(1)) and/or an
// origin indication (00 00 port(2) address(4)). Only a payload holding exactly one
// IPv6 packet counts; anything else is plain UDP (NotTcp). Port 3544 is the Teredo
// server's; clients then talk to peers on any port, so (as Zeek detects Teredo on
// every UDP port) off port 3544 we also accept it, but only when the capture holds
// the whole IPv6 header and one of its addresses is in the Teredo prefix 2001:0::/32.
bool teredo_prefix(const std::uint8_t* a) noexcept {
  return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0;
}

Status teredo(Ctx& c, bool on_port) noexcept {
  // Not enough bytes to tell: cut short (if it could still be Teredo), or not Teredo.
  auto fail = [&c, on_port](std::size_t n) {
    return on_port && c.declared >= n ? Status::IpTruncated : Status::NotTcp;
  };
  std::size_t off = 0;
  if (c.data.size() < 2) return fail(2);
  if (c.data[0] == 0x00 && c.data[1] == 0x01) {
    if (c.data.size() < 4) return fail(4);
    off = 4 + std::size_t{c.data[2]} + std::size_t{c.data[3]} + 8 + 1;
    if (c.data.size() < off + 2) return fail(off + 2);
  }
  if (c.data[off] == 0x00 && c.data[off + 1] == 0x00) off += 8;
  if (c.declared < off + 40) return Status::NotTcp;
  if (c.data.size() < off + 1) return fail(off + 40);
  if ((c.data[off] >> 4) != 6) return Status::NotTcp;
  if (c.data.size() < off + 40) return fail(off + 40);
  const std::uint8_t* ip6 = c.data.data() + off;
  if (40 + std::uint64_t{load_be16(ip6 + 4)} != c.declared - off) return Status::NotTcp;
  if (!on_port && !teredo_prefix(ip6 + 8) && !teredo_prefix(ip6 + 24)) return Status::NotTcp;
  if (Status s = enter_tunnel(c, TunnelKind::Teredo, 0); s != Status::Ok) return s;
  c.advance(off);
  c.next = Next::Ipv6;
  return Status::Ok;
}

}  // namespace

Status gre(Ctx& c) noexcept {
  if (Status s = need(c, 4); s != Status::Ok) return s;
  const std::uint16_t flags = load_be16(c.data.data());
  const std::uint16_t proto = load_be16(c.data.data() + 2);
  switch (flags & kGreVersion) {
    case 0:
      return gre_v0(c, flags, proto);
    case 1:
      return gre_v1(c, flags, proto);
    default:
      return Status::UnsupportedTunnel;
  }
}

// UDP: source port(2) destination port(2) length(2) checksum(2). Only tunnels
// interest us (by destination port, Teredo also by content); plain UDP is NotTcp.
Status udp(Ctx& c) noexcept {
  if (c.declared < 8) return Status::NotTcp;  // not even a UDP header: not ours
  if (c.data.size() < 8) return Status::IpTruncated;
  const std::uint8_t* p = c.data.data();
  const std::uint16_t sport = load_be16(p);
  const std::uint16_t dport = load_be16(p + 2);
  const std::uint16_t ulen = load_be16(p + 4);
  // Length 0 (IPv6 jumbograms) or inconsistent: fall back to the IP payload length.
  const std::uint64_t len = ulen >= 8 && ulen <= c.declared ? ulen : c.declared;
  c.advance(8);
  c.clamp(len - 8);
  if (dport == kPortVxlan) return vxlan(c);
  if (dport == kPortVxlanGpe) return vxlan_gpe(c);
  if (dport == kPortGeneve) return geneve(c);
  return teredo(c, dport == kPortTeredo || sport == kPortTeredo);
}

}  // namespace tcplife::decode::detail
