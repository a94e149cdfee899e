// SPDX-License-Identifier: MIT
// Link layers: the DLT-specific headers, Ethernet, VLAN tags, MPLS, PPPoE, LLC/SNAP, PPP.
#include <pcap/dlt.h>

#include "decode/decode_context.hpp"

namespace tcplife::decode::detail {
namespace {

using core::load_be16;
using core::load_be32;
using core::load_le16;
using core::load_le32;

// Link type values that are the same on every platform we read captures from.
// DLT_RAW and DLT_LOOP differ between OSes (dlt.h), so raw IP is matched by value:
// 12 is DLT_RAW on Linux, 14 on BSD/OS, 101 is LINKTYPE_RAW as stored in files.
constexpr int kRawLinux = 12;
constexpr int kRawBsdOs = 14;
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeLoop = 108;  // DLT_LOOP outside OpenBSD (where it is 12)

enum class Link : std::uint8_t {
  Unsupported,
  Ethernet,
  Null,
  Raw,
  Ipv4,
  Ipv6,
  Sll,
  Sll2,
  Nflog,
  Ppp,
  PppSerial,
  CHdlc
};

Link classify(int lt) noexcept {
  if (lt == DLT_EN10MB) return Link::Ethernet;
  if (lt == DLT_NULL || lt == kLinktypeLoop) return Link::Null;
  if (lt == kRawLinux || lt == kRawBsdOs || lt == kLinktypeRaw) return Link::Raw;
  if (lt == DLT_IPV4) return Link::Ipv4;
  if (lt == DLT_IPV6) return Link::Ipv6;
  if (lt == DLT_LINUX_SLL) return Link::Sll;
  if (lt == DLT_LINUX_SLL2) return Link::Sll2;
  if (lt == DLT_NFLOG) return Link::Nflog;
  if (lt == DLT_PPP) return Link::Ppp;
  if (lt == DLT_PPP_SERIAL) return Link::PppSerial;
  if (lt == DLT_C_HDLC) return Link::CHdlc;
  return Link::Unsupported;
}

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86DD;
constexpr std::uint16_t kEthVlan = 0x8100;     // 802.1Q
constexpr std::uint16_t kEthQinQ = 0x88A8;     // 802.1ad service tag
constexpr std::uint16_t kEthQinQOld = 0x9100;  // pre-standard QinQ
constexpr std::uint16_t kEthMplsUc = 0x8847;
constexpr std::uint16_t kEthMplsMc = 0x8848;
constexpr std::uint16_t kEthPppoeSession = 0x8864;
constexpr std::uint16_t kEthTeb = 0x6558;      // transparent Ethernet bridging (GRE, Geneve)
constexpr std::uint16_t kMaxEthLength = 1500;  // <= : an 802.3 length, not a type
constexpr std::uint16_t kMinEtherType = 0x0600;
constexpr std::uint16_t kSllLlc = 0x0004;  // SLL "protocol": 802.2 LLC frame follows
constexpr std::uint16_t kArphrdNetlink = 824;
constexpr std::uint16_t kNflogPayload = 9;  // NFULA_PAYLOAD

// Address family values of DLT_NULL/DLT_LOOP (the capturing OS's AF_* numbers).
Next from_af(std::uint32_t af) noexcept {
  switch (af) {
    case 2:
      return Next::Ipv4;  // AF_INET everywhere
    case 10:              // AF_INET6 on Linux
    case 24:              // NetBSD, OpenBSD, BSD/OS
    case 28:              // FreeBSD, DragonFly
    case 30:              // macOS
      return Next::Ipv6;
    default:
      return Next::Done;
  }
}

// DLT_NULL stores the AF in the capturing host's byte order, DLT_LOOP in network
// order; files move between hosts, so accept either order for both. The values are
// small, so the two readings cannot both be valid.
Status null_loop(Ctx& c) noexcept {
  if (c.data.size() < 4) return Status::LinkTruncated;
  Next n = from_af(load_le32(c.data.data()));
  if (n == Next::Done) n = from_af(load_be32(c.data.data()));
  if (n == Next::Done) return Status::NotIp;
  c.advance(4);
  c.next = n;
  return Status::Ok;
}

// The SLL/SLL2 "protocol" field: an ethertype, or a small value naming a non-IP
// framing, except 0x0004 which means an 802.2 LLC header follows.
Status sll_protocol(Ctx& c, std::uint16_t hatype, std::uint16_t proto) noexcept {
  if (hatype == kArphrdNetlink) return Status::NotIp;  // proto is a netlink family
  if (proto == kSllLlc) {
    c.next = Next::Llc;
    return Status::Ok;
  }
  if (proto < kMinEtherType) return Status::NotIp;
  c.ethertype = proto;
  c.next = Next::EtherType;
  return Status::Ok;
}

// DLT_LINUX_SLL: packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2).
Status sll(Ctx& c) noexcept {
  if (c.data.size() < 16) return Status::LinkTruncated;
  const std::uint16_t hatype = load_be16(c.data.data() + 2);
  const std::uint16_t proto = load_be16(c.data.data() + 14);
  c.advance(16);
  return sll_protocol(c, hatype, proto);
}

// DLT_LINUX_SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1)
// address length(1) address(8).
Status sll2(Ctx& c) noexcept {
  if (c.data.size() < 20) return Status::LinkTruncated;
  const std::uint16_t proto = load_be16(c.data.data());
  const std::uint16_t hatype = load_be16(c.data.data() + 8);
  c.advance(20);
  return sll_protocol(c, hatype, proto);
}

// DLT_NFLOG: family(1) version(1) resource id(2, network order), then TLVs of
// length(2) type(2) value, each padded to 4 bytes. Length and type are in the
// capturing host's byte order; the first TLV's type (always small) tells which.
// The length counts the 4-byte TLV header. The packet is in the payload TLV.
Status nflog(Ctx& c) noexcept {
  if (c.data.size() < 4) return Status::LinkTruncated;
  const std::uint8_t family = c.data[0];
  c.advance(4);
  bool little = true;
  bool first = true;
  // Each TLV consumes at least 4 bytes, so the loop ends.
  while (true) {
    if (c.data.size() < 4) return Status::LinkTruncated;  // ended before the payload TLV
    const std::uint8_t* p = c.data.data();
    if (first) {
      // Top bits of a netlink attribute type are flags (nested, byte order).
      little = (load_le16(p + 2) & 0x3fff) <= (load_be16(p + 2) & 0x3fff);
      first = false;
    }
    const std::uint16_t len = little ? load_le16(p) : load_be16(p);
    const auto type =
        static_cast<std::uint16_t>((little ? load_le16(p + 2) : load_be16(p + 2)) & 0x3fff);
    if (len < 4) return Status::LinkMalformed;
    if (type == kNflogPayload) {
      c.advance(4);
      // A snaplen cut leaves the payload TLV short: keep what is there.
      c.clamp(len - 4u);
      c.next = family == 2 ? Next::Ipv4 : family == 10 ? Next::Ipv6 : Next::IpAny;
      return Status::Ok;
    }
    const std::size_t padded = (static_cast<std::size_t>(len) + 3) & ~std::size_t{3};
    if (padded > c.data.size()) return Status::LinkTruncated;
    c.advance(padded);
  }
}

// Cisco HDLC: address(1) control(1) protocol(2, an ethertype).
Status chdlc(Ctx& c) noexcept {
  if (c.data.size() < 4) return Status::LinkTruncated;
  c.ethertype = load_be16(c.data.data() + 2);
  c.advance(4);
  c.next = Next::EtherType;
  return Status::Ok;
}

void record_vlan(Ctx& c, std::uint16_t tci) noexcept {
  const auto vid = static_cast<std::uint16_t>(tci & 0x0fff);
  if (c.vlans == 0) c.out.vlan_outer = vid;
  if (c.vlans == 1) c.out.vlan_inner = vid;
  ++c.vlans;
}

// A type/length field as found in Ethernet and after a VLAN tag.
Status type_or_length(Ctx& c, std::uint16_t v) noexcept {
  if (v <= kMaxEthLength) {
    c.next = Next::Llc;
    return Status::Ok;
  }
  if (v < kMinEtherType) return Status::NotIp;
  c.ethertype = v;
  c.next = Next::EtherType;
  return Status::Ok;
}

// 802.1Q/802.1ad tag: TCI(2) then the next type/length.
Status vlan_tag(Ctx& c) noexcept {
  if (c.data.size() < 4) return Status::LinkTruncated;
  if (++c.link_layers > kMaxLinkLayers) return Status::TooManyLayers;
  record_vlan(c, load_be16(c.data.data()));
  const std::uint16_t type = load_be16(c.data.data() + 2);
  c.advance(4);
  return type_or_length(c, type);
}

// MPLS label stack entries: label(20) TC(3) S(1) TTL(8). Nothing says what follows
// the bottom of the stack (RFC 3032); guess IP from the version nibble. A first
// nibble of 0 is a pseudowire control word (RFC 4385), e.g. Ethernet over MPLS,
// which we do not decode.
Status mpls(Ctx& c) noexcept {
  while (true) {
    if (c.data.size() < 4) return Status::LinkTruncated;
    if (++c.link_layers > kMaxLinkLayers) return Status::TooManyLayers;
    const bool bottom = (c.data[2] & 0x01) != 0;
    c.advance(4);
    if (bottom) break;
  }
  if (c.data.empty()) return Status::LinkTruncated;
  switch (c.data[0] >> 4) {
    case 4:
      c.next = Next::Ipv4;
      return Status::Ok;
    case 6:
      c.next = Next::Ipv6;
      return Status::Ok;
    case 0:
      return Status::UnsupportedTunnel;
    default:
      return Status::NotIp;
  }
}

// PPPoE session stage (RFC 2516): ver/type(1) = 0x11, code(1) = 0, session id(2),
// length(2) of the PPP frame that follows.
Status pppoe(Ctx& c) noexcept {
  if (c.data.size() < 6) return Status::LinkTruncated;
  if (c.data[0] != 0x11 || c.data[1] != 0x00) return Status::NotIp;
  const std::uint16_t len = load_be16(c.data.data() + 4);
  if (len < 2) return Status::LinkMalformed;  // no room for a PPP protocol and a packet
  c.advance(6);
  c.clamp(len);
  c.next = Next::Ppp;
  return Status::Ok;
}

}  // namespace

bool link_supported(int linktype) noexcept { return classify(linktype) != Link::Unsupported; }

Status start_link(Ctx& c, int linktype) noexcept {
  switch (classify(linktype)) {
    case Link::Unsupported:
      return Status::UnsupportedLinkType;
    case Link::Ethernet:
      c.next = Next::Ethernet;
      return Status::Ok;
    case Link::Null:
      return null_loop(c);
    case Link::Raw:
      c.next = Next::IpAny;
      return Status::Ok;
    case Link::Ipv4:
      c.next = Next::Ipv4;
      return Status::Ok;
    case Link::Ipv6:
      c.next = Next::Ipv6;
      return Status::Ok;
    case Link::Sll:
      return sll(c);
    case Link::Sll2:
      return sll2(c);
    case Link::Nflog:
      return nflog(c);
    case Link::Ppp:
      c.next = Next::Ppp;
      return Status::Ok;
    case Link::PppSerial:
      // PPP in HDLC-like framing (FF 03), or Cisco HDLC (address 0x0F/0x8F).
      if (!c.data.empty() && (c.data[0] == 0x0F || c.data[0] == 0x8F)) return chdlc(c);
      c.next = Next::Ppp;
      return Status::Ok;
    case Link::CHdlc:
      return chdlc(c);
  }
  return Status::UnsupportedLinkType;
}

// Ethernet II: dst(6) src(6) type(2); a type <= 1500 is an 802.3 length and LLC follows.
Status ethernet(Ctx& c) noexcept {
  if (c.data.size() < 14) return Status::LinkTruncated;
  const std::uint16_t type = load_be16(c.data.data() + 12);
  c.advance(14);
  return type_or_length(c, type);
}

// 802.2 LLC: DSAP(1) SSAP(1) control(1); IP only rides in SNAP (AA AA 03), with
// OUI 00-00-00 (RFC 1042) or 00-00-F8 (802.1H) followed by an ethertype.
Status llc(Ctx& c) noexcept {
  if (c.data.size() < 3) return Status::LinkTruncated;
  const std::uint8_t* p = c.data.data();
  if (p[0] != 0xAA || p[1] != 0xAA || p[2] != 0x03) return Status::NotIp;
  if (c.data.size() < 8) return Status::LinkTruncated;
  if (p[3] != 0 || p[4] != 0 || (p[5] != 0 && p[5] != 0xF8)) return Status::NotIp;
  const std::uint16_t type = load_be16(p + 6);
  c.advance(8);
  if (type < kMinEtherType) return Status::NotIp;
  c.ethertype = type;
  c.next = Next::EtherType;
  return Status::Ok;
}

Status ethertype(Ctx& c) noexcept {
  switch (c.ethertype) {
    case kEthIpv4:
      c.next = Next::Ipv4;
      return Status::Ok;
    case kEthIpv6:
      c.next = Next::Ipv6;
      return Status::Ok;
    case kEthVlan:
    case kEthQinQ:
    case kEthQinQOld:
      return vlan_tag(c);
    case kEthMplsUc:
    case kEthMplsMc:
      return mpls(c);
    case kEthPppoeSession:
      return pppoe(c);
    case kEthTeb:  // Ethernet in Ethernet (SLL on a gretap device); counted, so it ends
      if (++c.link_layers > kMaxLinkLayers) return Status::TooManyLayers;
      c.next = Next::Ethernet;
      return Status::Ok;
    default:
      return Status::NotIp;  // ARP, LLDP, PPPoE discovery, ...
  }
}

// PPP (RFC 1661): optional address/control FF 03, then the protocol field. Protocol
// values have an odd low octet and an even high one, so an odd first octet is a
// compressed one-octet protocol (RFC 1661 section 6.5).
Status ppp(Ctx& c) noexcept {
  if (!c.data.empty() && c.data[0] == 0xFF) {  // 0xFF is no protocol octet
    if (c.data.size() < 2) return Status::LinkTruncated;
    if (c.data[1] != 0x03) return Status::NotIp;
    c.advance(2);
  }
  if (c.data.empty()) return Status::LinkTruncated;
  std::uint16_t proto = c.data[0];
  if ((proto & 1) != 0) {
    c.advance(1);
  } else {
    if (c.data.size() < 2) return Status::LinkTruncated;
    proto = load_be16(c.data.data());
    c.advance(2);
  }
  switch (proto) {
    case 0x0021:
      c.next = Next::Ipv4;
      return Status::Ok;
    case 0x0057:
      c.next = Next::Ipv6;
      return Status::Ok;
    default:
      return Status::NotIp;  // LCP, IPCP, compressed data, ...
  }
}

}  // namespace tcplife::decode::detail
