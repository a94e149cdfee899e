// SPDX-License-Identifier: MIT
// Test support: builds captured frames field by field, outermost layer first.
//
//   using namespace tcplife::test;
//   Frame f = build(Eth{}, Vlan{.vid = 7}, Ipv4{.src = "10.0.0.1", .dst = "10.0.0.2"},
//                   Tcp{.sport = 1234, .dport = 80, .seq = 1, .flags = flag::kSyn,
//                       .options = TcpOpts{}.mss(1460).ws(7), .payload_len = 10});
//   Frame g = tcp4("10.0.0.1", "10.0.0.2", {.sport = 1, .dport = 2, .payload_len = 100});
//   decode(f.view(), seg);                      // a core::PacketView over f.bytes
//   decode(f.snap(40).view(), seg);             // first 40 bytes, wire_len unchanged
//
// Every "type" field (ethertype, IP protocol, PPP protocol, AF, lengths, checksums)
// is derived from the layers around it unless overridden with its std::optional
// field, so malformed frames are one override away. The link type comes from the
// first layer (Eth -> 1, Sll -> 113, Raw{.linktype} or a bare IP header -> 12, ...).
// Tests only: parsing helpers throw std::invalid_argument on bad addresses.
#pragma once
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tcplife/core/packet.hpp"
#include "tcplife/decode/segment.hpp"

namespace tcplife::test {

using Buf = std::vector<std::uint8_t>;
namespace flag = tcplife::decode::flag;

// ---- byte helpers ---------------------------------------------------------------

inline void put8(Buf& b, unsigned v) { b.push_back(static_cast<std::uint8_t>(v & 0xff)); }
inline void put16(Buf& b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v);
}
inline void put24(Buf& b, std::uint32_t v) {
  put8(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void put32(Buf& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void put_le16(Buf& b, unsigned v) {
  put8(b, v);
  put8(b, v >> 8);
}
inline void put_le32(Buf& b, std::uint32_t v) {
  put_le16(b, v & 0xffff);
  put_le16(b, v >> 16);
}
inline void append(Buf& b, const Buf& more) { b.insert(b.end(), more.begin(), more.end()); }
inline void set16(Buf& b, std::size_t at, unsigned v) {
  b.at(at) = static_cast<std::uint8_t>((v >> 8) & 0xff);
  b.at(at + 1) = static_cast<std::uint8_t>(v & 0xff);
}
inline void pad_to(Buf& b, std::size_t multiple, std::uint8_t fill = 0) {
  while (b.size() % multiple != 0) b.push_back(fill);
}

inline std::array<std::uint8_t, 4> ipv4_addr(const std::string& s) {
  std::array<std::uint8_t, 4> a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) throw std::invalid_argument("bad IPv4: " + s);
  return a;
}
inline std::array<std::uint8_t, 16> ipv6_addr(const std::string& s) {
  std::array<std::uint8_t, 16> a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) throw std::invalid_argument("bad IPv6: " + s);
  return a;
}
// The decoder's representation (IPv4 v4-mapped), for comparing Segment addresses.
inline core::IpAddr ip(const std::string& s) {
  if (s.find(':') == std::string::npos) return core::IpAddr::from_v4(ipv4_addr(s).data());
  return core::IpAddr::from_v6(ipv6_addr(s).data());
}

// RFC 1071 sum, unfolded; finish with checksum_fold.
inline std::uint64_t checksum_add(const std::uint8_t* p, std::size_t n, std::uint64_t acc = 0) {
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) acc += static_cast<std::uint64_t>(p[i]) << 8 | p[i + 1];
  if (i < n) acc += static_cast<std::uint64_t>(p[i]) << 8;
  return acc;
}
inline std::uint16_t checksum_fold(std::uint64_t acc) {
  while ((acc >> 16) != 0) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xffff);
}

// ---- TCP options ------------------------------------------------------------------

// Raw option bytes, built fluently: TcpOpts{}.mss(1460).sack_perm().ts(1, 0).nop().ws(7).
// The TCP layer pads them with zeros (EOL) to a multiple of 4.
struct TcpOpts {
  Buf bytes;

  TcpOpts& eol() { return raw({0}); }
  TcpOpts& nop() { return raw({1}); }
  TcpOpts& mss(std::uint16_t v) {
    raw({2, 4});
    put16(bytes, v);
    return *this;
  }
  TcpOpts& ws(std::uint8_t shift) { return raw({3, 3, shift}); }
  TcpOpts& sack_perm() { return raw({4, 2}); }
  TcpOpts& sack(std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> blocks) {
    raw({5, static_cast<std::uint8_t>(2 + 8 * blocks.size())});
    for (auto [l, r] : blocks) {
      put32(bytes, l);
      put32(bytes, r);
    }
    return *this;
  }
  TcpOpts& ts(std::uint32_t val, std::uint32_t ecr) {
    raw({8, 10});
    put32(bytes, val);
    put32(bytes, ecr);
    return *this;
  }
  // Kind 34 (RFC 7413); cookie_len 0 is a cookie request.
  TcpOpts& tfo(std::uint8_t cookie_len) {
    raw({34, static_cast<std::uint8_t>(2 + cookie_len)});
    for (unsigned i = 0; i < cookie_len; ++i) put8(bytes, 0xC0 + i);
    return *this;
  }
  // Experimental kind 254 with ExID 0xF989 (pre-RFC TFO), or another ExID.
  TcpOpts& tfo_exp(std::uint8_t cookie_len, std::uint16_t exid = 0xF989) {
    raw({254, static_cast<std::uint8_t>(4 + cookie_len)});
    put16(bytes, exid);
    for (unsigned i = 0; i < cookie_len; ++i) put8(bytes, 0xC0 + i);
    return *this;
  }
  TcpOpts& raw(std::initializer_list<std::uint8_t> b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
};

// ---- layers -------------------------------------------------------------------------

using Mac = std::array<std::uint8_t, 6>;

struct Eth {
  Mac dst{0x02, 0, 0, 0, 0, 0x02};
  Mac src{0x02, 0, 0, 0, 0, 0x01};
  std::optional<std::uint16_t> type{};  // default: from the next layer (802.3 length before Snap)
  std::size_t trailer = 0;              // bytes of 0xA5 appended after the payload
  bool pad_to_min = false;              // pad the frame to 60 bytes with 0xA5 (as NICs do)
};
struct Vlan {  // 802.1Q tag; the tpid is written into the previous layer's type field
  std::uint16_t vid = 100;
  std::uint8_t pcp = 0;
  std::uint16_t tpid = 0x8100;  // 0x88A8 for an 802.1ad S-tag, 0x9100 old QinQ
  std::optional<std::uint16_t> type{};
};
struct Snap {  // 802.2 LLC + SNAP: AA AA 03 OUI type
  std::array<std::uint8_t, 3> oui{0, 0, 0};
  std::optional<std::uint16_t> type{};
  std::array<std::uint8_t, 3> llc{0xAA, 0xAA, 0x03};
};
struct Mpls {
  std::uint32_t label = 16;
  std::uint8_t tc = 0;
  std::uint8_t ttl = 64;
  std::optional<bool> bottom{};  // default: set on the last consecutive Mpls layer
};
struct Pppoe {  // session header + PPP protocol field
  std::uint16_t session = 1;
  std::optional<std::uint16_t> ppp_proto{};  // default 0x0021 / 0x0057 from the next layer
  bool compress = false;                     // one-octet protocol field (PFC)
  std::optional<std::uint16_t> length{};
  std::uint8_t ver_type = 0x11;
  std::uint8_t code = 0;
};
struct Ppp {              // a PPP frame header (DLT_PPP, PPTP GRE)
  bool addr_ctrl = true;  // FF 03
  bool compress = false;
  std::optional<std::uint16_t> proto{};
};
struct CHdlc {  // Cisco HDLC (DLT_C_HDLC)
  std::uint8_t address = 0x0F;
  std::optional<std::uint16_t> type{};
};
struct Sll {
  std::uint16_t pkttype = 0;
  std::uint16_t hatype = 1;
  std::uint16_t addr_len = 6;
  std::array<std::uint8_t, 8> addr{0x02, 0, 0, 0, 0, 0x01, 0, 0};
  std::optional<std::uint16_t> protocol{};  // default: ethertype of the next layer (4 before Snap)
};
struct Sll2 {
  std::optional<std::uint16_t> protocol{};
  std::uint32_t ifindex = 1;
  std::uint16_t hatype = 1;
  std::uint8_t pkttype = 0;
  std::uint8_t addr_len = 6;
  std::array<std::uint8_t, 8> addr{0x02, 0, 0, 0, 0, 0x01, 0, 0};
};
struct Null {  // DLT_NULL: AF in the capturing host's order (little-endian by default)
  std::optional<std::uint32_t> af{};  // default 2 / 24
  bool big_endian = false;
};
struct Loop {  // DLT_LOOP: AF in network order
  std::optional<std::uint32_t> af{};
};
struct Raw {          // no link header; the frame starts with the IP header
  int linktype = 12;  // 12, 14, 101 (raw), 228 (IPv4 only), 229 (IPv6 only)
};
struct NflogTlv {
  std::uint16_t type = 0;
  Buf value{};
};
struct Nflog {
  std::optional<std::uint8_t> family{};  // default AF_INET 2 / AF_INET6 10
  std::uint16_t resource = 0;
  bool big_endian = false;  // TLV length/type byte order (host order of the capturer)
  std::vector<NflogTlv> tlvs{{1, {0x08, 0x00, 0x03, 0x00}}, {10, {'l', 'o', 'g', 0}}};  // before
  std::optional<std::uint16_t> payload_tlv_len{};
};
struct Ipv4 {
  std::string src = "192.0.2.1";
  std::string dst = "198.51.100.2";
  std::uint8_t ttl = 64;
  std::uint16_t id = 0x1234;
  std::uint8_t tos = 0;
  bool df = true;
  bool mf = false;
  std::uint16_t frag_offset = 0;  // in 8-byte units
  Buf options{};                  // padded with zeros to a multiple of 4
  std::optional<std::uint8_t> ihl{};
  std::optional<std::uint16_t> total_len{};
  std::optional<std::uint8_t> proto{};
  std::uint8_t version = 4;
};
struct Ipv6Ext {  // an extension header: `body` is what follows next-header and length
  std::uint8_t type = 60;
  Buf body{};
  std::optional<std::uint8_t> len_field{};
};
struct Ipv6 {
  std::string src = "2001:db8::1";
  std::string dst = "2001:db8::2";
  std::uint8_t hop_limit = 64;
  std::uint32_t flow_label = 0;
  std::uint8_t tclass = 0;
  std::vector<Ipv6Ext> ext{};
  std::optional<std::uint16_t> payload_len{};
  std::optional<std::uint8_t> next_header{};  // overrides the upper-layer protocol number
  std::uint8_t version = 6;
};
struct Gre {
  std::uint8_t version = 0;  // 1: PPTP enhanced GRE (key field = payload length + call id)
  bool checksum = false;
  std::optional<std::uint32_t> key{};
  std::optional<std::uint32_t> seq{};
  std::optional<std::uint32_t> ack{};    // version 1 only
  std::uint16_t call_id = 0;             // version 1 only
  std::optional<std::uint16_t> proto{};  // default: from the next layer (Eth -> 0x6558)
  bool routing = false;                  // R bit (RFC 1701)
};
struct Erspan {  // after Gre; type 1 has no header, 2 and 3 do
  std::uint8_t type = 2;
  std::uint16_t session = 1;
  std::uint16_t vlan = 0;
  bool platform_subheader = false;  // type 3 O bit
};
struct Udp {
  std::uint16_t sport = 40000;
  // Default from the next layer: Eth/Vxlan 4789, VxlanGpe 4790, Geneve 6081,
  // TeredoAuth/TeredoOrigin/Ipv6 3544, anything else 9 (discard).
  std::optional<std::uint16_t> dport{};
  std::optional<std::uint16_t> length{};
};
struct Vxlan {
  std::uint32_t vni = 42;
  std::uint8_t flags = 0x08;
};
struct VxlanGpe {
  std::uint32_t vni = 42;
  std::optional<std::uint8_t> next_proto{};  // default from the next layer; P flag set
};
struct Geneve {
  std::uint32_t vni = 42;
  Buf options{};  // padded to 4
  std::optional<std::uint16_t> proto{};
  std::uint8_t version = 0;
};
struct TeredoAuth {
  Buf client_id{};
  Buf auth{};
};
struct TeredoOrigin {
  std::uint16_t port = 0x1234;
  std::array<std::uint8_t, 4> addr{0x3f, 0x57, 0xfe, 0xfd};
};
struct Tcp {
  std::uint16_t sport = 40000;
  std::uint16_t dport = 80;
  std::uint32_t seq = 1000;
  std::uint32_t ack = 0;
  std::uint16_t flags = flag::kAck;  // includes flag::kAe (0x100)
  std::uint16_t window = 65535;
  std::uint16_t urgent = 0;
  TcpOpts options{};
  std::size_t payload_len = 0;  // filled with a byte pattern unless `payload` is set
  Buf payload{};
  std::optional<std::uint8_t> data_offset{};  // in 32-bit words
  std::optional<std::uint16_t> checksum{};    // default: computed by the enclosing IP layer
  bool bad_checksum = false;                  // write a checksum that does not verify
};
struct Payload {  // anything else: ARP, UDP data, ICMP, a PW control word ...
  Buf bytes{};
  std::optional<std::uint16_t> ethertype{};
  std::optional<std::uint8_t> ip_proto{};
};

using Layer = std::variant<Eth, Vlan, Snap, Mpls, Pppoe, Ppp, CHdlc, Sll, Sll2, Null, Loop, Raw,
                           Nflog, Ipv4, Ipv6, Gre, Erspan, Udp, Vxlan, VxlanGpe, Geneve, TeredoAuth,
                           TeredoOrigin, Tcp, Payload>;

// ---- IPv6 extension header helpers ------------------------------------------------

inline Ipv6Ext hop_by_hop(Buf options = {}) { return {0, std::move(options), {}}; }
inline Ipv6Ext dest_opts(Buf options = {}) { return {60, std::move(options), {}}; }
inline Ipv6Ext fragment_ext(std::uint16_t offset, bool more, std::uint32_t id = 7) {
  Buf b;
  put16(b, static_cast<unsigned>(offset << 3 | (more ? 1 : 0)));
  put32(b, id);
  return {44, b, std::uint8_t{0}};
}
inline Ipv6Ext ah_ext(std::uint32_t spi = 0x100, std::uint32_t seq = 1, std::size_t icv_len = 12) {
  Buf b{0, 0};
  put32(b, spi);
  put32(b, seq);
  b.resize(b.size() + icv_len, 0x5A);
  return {51, b, {}};
}
// Routing header type 0, 2 or 4 (SRH: addrs are Segment List[0..n-1], [0] = final).
inline Ipv6Ext routing_ext(std::uint8_t type, std::uint8_t segments_left,
                           const std::vector<std::string>& addrs) {
  Buf b{type, segments_left, static_cast<std::uint8_t>(type == 4 ? addrs.size() - 1 : 0), 0, 0, 0};
  for (const auto& a : addrs) {
    auto x = ipv6_addr(a);
    b.insert(b.end(), x.begin(), x.end());
  }
  return {43, b, {}};
}
inline Buf jumbo_option(std::uint32_t len) {
  Buf b{0xC2, 4};
  put32(b, len);
  return b;
}

// ---- frames -----------------------------------------------------------------------------

struct Frame {
  Buf bytes;
  int linktype = 1;
  std::uint32_t wire_len = 0;
  core::Timestamp ts{};
  std::uint64_t index = 0;

  // A view over `bytes`, valid while this Frame lives and is not modified.
  [[nodiscard]] core::PacketView view() const {
    core::PacketView v;
    v.ts = ts;
    v.bytes = core::Bytes(bytes);
    v.wire_len = wire_len;
    v.index = index;
    v.linktype = linktype;
    return v;
  }
  // As captured with a snaplen of `caplen`: an exact-size copy (so ASan sees
  // over-reads), wire_len unchanged.
  [[nodiscard]] Frame snap(std::size_t caplen) const {
    Frame f = *this;
    f.bytes = Buf(bytes.begin(),
                  bytes.begin() + static_cast<std::ptrdiff_t>(std::min(caplen, bytes.size())));
    return f;
  }
};

namespace detail {

template <class T>
bool is(const Layer* l) {
  return l != nullptr && std::holds_alternative<T>(*l);
}

inline std::uint16_t ethertype_of(const Layer* l, std::size_t inner_size) {
  if (l == nullptr) return 0x88B5;  // IEEE local experimental
  if (is<Eth>(l)) return 0x6558;
  if (const auto* v = std::get_if<Vlan>(l)) return v->tpid;
  if (is<Snap>(l)) return static_cast<std::uint16_t>(inner_size);  // an 802.3 length
  if (is<Mpls>(l)) return 0x8847;
  if (is<Pppoe>(l)) return 0x8864;
  if (is<Ipv4>(l)) return 0x0800;
  if (is<Ipv6>(l)) return 0x86DD;
  if (is<Ppp>(l)) return 0x880B;
  if (const auto* e = std::get_if<Erspan>(l)) return e->type == 3 ? 0x22EB : 0x88BE;
  if (const auto* p = std::get_if<Payload>(l)) return p->ethertype.value_or(0x88B5);
  return 0x88B5;
}
inline std::uint8_t ip_proto_of(const Layer* l) {
  if (is<Ipv4>(l)) return 4;
  if (is<Ipv6>(l)) return 41;
  if (is<Tcp>(l)) return 6;
  if (is<Udp>(l)) return 17;
  if (is<Gre>(l)) return 47;
  if (const auto* p = l != nullptr ? std::get_if<Payload>(l) : nullptr)
    return p->ip_proto.value_or(253);
  return 59;  // no next header
}
inline std::uint16_t ppp_proto_of(const Layer* l) {
  if (is<Ipv4>(l)) return 0x0021;
  if (is<Ipv6>(l)) return 0x0057;
  return 0xC021;  // LCP
}
inline bool next_is_v6(const Layer* l) { return is<Ipv6>(l); }

inline void put_ppp_proto(Buf& b, std::uint16_t proto, bool compress) {
  if (compress && proto < 0x100) {
    put8(b, proto);
  } else {
    put16(b, proto);
  }
}

// Writes the TCP checksum into `seg` (a serialized Tcp layer) for the given pseudo-header.
inline void patch_tcp_checksum(const Tcp& t, Buf& seg, const std::uint8_t* src,
                               const std::uint8_t* dst, std::size_t addr_len) {
  if (t.checksum || seg.size() < 18) return;
  std::uint64_t acc = checksum_add(src, addr_len);
  acc = checksum_add(dst, addr_len, acc);
  acc += 6 + (seg.size() >> 16) + (seg.size() & 0xffff);
  set16(seg, 16, 0);
  std::uint16_t c = checksum_fold(checksum_add(seg.data(), seg.size(), acc));
  if (t.bad_checksum) c = c == 0x1234 ? 0x4321 : 0x1234;
  set16(seg, 16, c);
}

inline Buf layer_bytes(const Eth& e, const Layer* next, Buf inner) {
  Buf b(e.dst.begin(), e.dst.end());
  b.insert(b.end(), e.src.begin(), e.src.end());
  put16(b, e.type.value_or(ethertype_of(next, inner.size())));
  append(b, inner);
  if (e.pad_to_min && b.size() < 60) b.resize(60, 0xA5);
  b.resize(b.size() + e.trailer, 0xA5);
  return b;
}
inline Buf layer_bytes(const Vlan& v, const Layer* next, Buf inner) {
  Buf b;
  put16(b, static_cast<unsigned>(v.pcp) << 13 | (v.vid & 0x0fffu));
  put16(b, v.type.value_or(ethertype_of(next, inner.size())));
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Snap& s, const Layer* next, Buf inner) {
  Buf b(s.llc.begin(), s.llc.end());
  b.insert(b.end(), s.oui.begin(), s.oui.end());
  put16(b, s.type.value_or(ethertype_of(next, inner.size())));
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Mpls& m, const Layer* next, Buf inner) {
  const bool bottom = m.bottom.value_or(!is<Mpls>(next));
  Buf b;
  put32(b, (m.label & 0xfffffu) << 12 | static_cast<std::uint32_t>(m.tc & 7u) << 9 |
               (bottom ? 1u << 8 : 0u) | m.ttl);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Pppoe& p, const Layer* next, Buf inner) {
  Buf ppp;
  put_ppp_proto(ppp, p.ppp_proto.value_or(ppp_proto_of(next)), p.compress);
  append(ppp, inner);
  Buf b{p.ver_type, p.code};
  put16(b, p.session);
  put16(b, p.length.value_or(static_cast<std::uint16_t>(ppp.size())));
  append(b, ppp);
  return b;
}
inline Buf layer_bytes(const Ppp& p, const Layer* next, Buf inner) {
  Buf b;
  if (p.addr_ctrl) b = {0xFF, 0x03};
  put_ppp_proto(b, p.proto.value_or(ppp_proto_of(next)), p.compress);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const CHdlc& c, const Layer* next, Buf inner) {
  Buf b{c.address, 0};
  put16(b, c.type.value_or(ethertype_of(next, inner.size())));
  append(b, inner);
  return b;
}
inline std::uint16_t sll_protocol(const Layer* next, std::size_t inner_size) {
  return is<Snap>(next) ? std::uint16_t{4} : ethertype_of(next, inner_size);
}
inline Buf layer_bytes(const Sll& s, const Layer* next, Buf inner) {
  Buf b;
  put16(b, s.pkttype);
  put16(b, s.hatype);
  put16(b, s.addr_len);
  b.insert(b.end(), s.addr.begin(), s.addr.end());
  put16(b, s.protocol.value_or(sll_protocol(next, inner.size())));
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Sll2& s, const Layer* next, Buf inner) {
  Buf b;
  put16(b, s.protocol.value_or(sll_protocol(next, inner.size())));
  put16(b, 0);
  put32(b, s.ifindex);
  put16(b, s.hatype);
  put8(b, s.pkttype);
  put8(b, s.addr_len);
  b.insert(b.end(), s.addr.begin(), s.addr.end());
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Null& n, const Layer* next, Buf inner) {
  Buf b;
  const std::uint32_t af = n.af.value_or(next_is_v6(next) ? 24u : 2u);
  if (n.big_endian) {
    put32(b, af);
  } else {
    put_le32(b, af);
  }
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Loop& l, const Layer* next, Buf inner) {
  Buf b;
  put32(b, l.af.value_or(next_is_v6(next) ? 24u : 2u));
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Raw&, const Layer*, Buf inner) { return inner; }
inline Buf layer_bytes(const Nflog& n, const Layer* next, Buf inner) {
  Buf b{n.family.value_or(next_is_v6(next) ? std::uint8_t{10} : std::uint8_t{2}), 0};
  put16(b, n.resource);
  auto tlv_head = [&](std::size_t len, std::uint16_t type) {
    if (n.big_endian) {
      put16(b, static_cast<unsigned>(len));
      put16(b, type);
    } else {
      put_le16(b, static_cast<unsigned>(len));
      put_le16(b, type);
    }
  };
  for (const auto& t : n.tlvs) {
    tlv_head(4 + t.value.size(), t.type);
    append(b, t.value);
    pad_to(b, 4);
  }
  tlv_head(n.payload_tlv_len.value_or(static_cast<std::uint16_t>(4 + inner.size())), 9);
  append(b, inner);
  pad_to(b, 4);
  return b;
}
inline Buf layer_bytes(const Ipv4& h, const Layer* next, Buf inner) {
  const auto src = ipv4_addr(h.src);
  const auto dst = ipv4_addr(h.dst);
  if (const auto* t = next != nullptr ? std::get_if<Tcp>(next) : nullptr)
    patch_tcp_checksum(*t, inner, src.data(), dst.data(), 4);
  Buf opts = h.options;
  pad_to(opts, 4);
  const std::size_t hlen = 20 + opts.size();
  Buf b;
  put8(b, static_cast<unsigned>(h.version) << 4 | h.ihl.value_or(hlen / 4));
  put8(b, h.tos);
  put16(b, h.total_len.value_or(static_cast<std::uint16_t>(hlen + inner.size())));
  put16(b, h.id);
  put16(b, (h.df ? 0x4000u : 0u) | (h.mf ? 0x2000u : 0u) | (h.frag_offset & 0x1fffu));
  put8(b, h.ttl);
  put8(b, h.proto.value_or(ip_proto_of(next)));
  put16(b, 0);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, opts);
  set16(b, 10, checksum_fold(checksum_add(b.data(), b.size())));
  append(b, inner);
  return b;
}
// Serialized extension headers; `upper` is the protocol after the last one.
inline Buf ipv6_ext_bytes(const std::vector<Ipv6Ext>& ext, std::uint8_t upper) {
  Buf b;
  for (std::size_t i = 0; i < ext.size(); ++i) {
    const Ipv6Ext& e = ext[i];
    Buf h{i + 1 < ext.size() ? ext[i + 1].type : upper, 0};
    append(h, e.body);
    if (e.type == 44) {
      h.resize(8, 0);
    } else if (e.type == 51) {
      pad_to(h, 8);
      h[1] = static_cast<std::uint8_t>(h.size() / 4 - 2);
    } else {
      pad_to(h, 8);
      h[1] = static_cast<std::uint8_t>(h.size() / 8 - 1);
    }
    if (e.len_field) h[1] = *e.len_field;
    append(b, h);
  }
  return b;
}
// The destination the transport checksum uses (RFC 8200 8.1).
inline std::array<std::uint8_t, 16> ipv6_final_dst(const Ipv6& h) {
  auto dst = ipv6_addr(h.dst);
  for (const auto& e : h.ext) {
    if (e.type != 43 || e.body.size() < 22 || e.body[1] == 0) continue;
    const std::size_t n = (e.body.size() - 6) / 16;
    const std::size_t at = 6 + 16 * (e.body[0] == 0 ? n - 1 : 0);
    if (e.body[0] == 0 || e.body[0] == 2 || e.body[0] == 4)
      std::copy_n(e.body.begin() + static_cast<std::ptrdiff_t>(at), 16, dst.begin());
  }
  return dst;
}
inline Buf layer_bytes(const Ipv6& h, const Layer* next, Buf inner) {
  const auto src = ipv6_addr(h.src);
  const auto dst = ipv6_addr(h.dst);
  if (const auto* t = next != nullptr ? std::get_if<Tcp>(next) : nullptr) {
    const auto fdst = ipv6_final_dst(h);
    patch_tcp_checksum(*t, inner, src.data(), fdst.data(), 16);
  }
  const std::uint8_t upper = h.next_header.value_or(ip_proto_of(next));
  Buf ext = ipv6_ext_bytes(h.ext, upper);
  Buf b;
  put32(b, static_cast<std::uint32_t>(h.version) << 28 |
               static_cast<std::uint32_t>(h.tclass) << 20 | (h.flow_label & 0xfffffu));
  put16(b, h.payload_len.value_or(static_cast<std::uint16_t>(ext.size() + inner.size())));
  put8(b, h.ext.empty() ? upper : h.ext[0].type);
  put8(b, h.hop_limit);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, ext);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Gre& g, const Layer* next, Buf inner) {
  Buf b;
  if (g.version == 1) {
    put16(b, 0x2000u | (g.seq ? 0x1000u : 0u) | (g.ack ? 0x0080u : 0u) | 1u);
    put16(b, g.proto.value_or(0x880B));
    put16(b, static_cast<unsigned>(inner.size()));
    put16(b, g.call_id);
    if (g.seq) put32(b, *g.seq);
    if (g.ack) put32(b, *g.ack);
    append(b, inner);
    return b;
  }
  const auto* erspan = next != nullptr ? std::get_if<Erspan>(next) : nullptr;
  std::optional<std::uint32_t> seq = g.seq;
  if (erspan != nullptr && erspan->type != 1 && !seq) seq = 0;  // ERSPAN II/III need S
  put16(b, (g.checksum ? 0x8000u : 0u) | (g.routing ? 0x4000u : 0u) | (g.key ? 0x2000u : 0u) |
               (seq ? 0x1000u : 0u) | (g.version & 7u));
  put16(b, g.proto.value_or(ethertype_of(next, inner.size())));
  if (g.checksum || g.routing) put32(b, 0);
  if (g.key) put32(b, *g.key);
  if (seq) put32(b, *seq);
  append(b, inner);
  if (g.checksum) set16(b, 4, checksum_fold(checksum_add(b.data(), b.size())));
  return b;
}
inline Buf layer_bytes(const Erspan& e, const Layer*, Buf inner) {
  Buf b;
  if (e.type == 2) {
    put16(b, 0x1000u | (e.vlan & 0x0fffu));
    put16(b, e.session & 0x3ffu);
    put32(b, 0);
  } else if (e.type == 3) {
    put16(b, 0x2000u | (e.vlan & 0x0fffu));
    put16(b, e.session & 0x3ffu);
    put32(b, 0x01020304);  // timestamp
    put16(b, 0);           // SGT
    put8(b, 0);
    put8(b, e.platform_subheader ? 1 : 0);
    if (e.platform_subheader) b.resize(b.size() + 8, 0);
  }
  append(b, inner);
  return b;
}
inline std::uint16_t udp_port_of(const Layer* l) {
  if (is<Vxlan>(l) || is<Eth>(l)) return 4789;
  if (is<VxlanGpe>(l)) return 4790;
  if (is<Geneve>(l)) return 6081;
  if (is<TeredoAuth>(l) || is<TeredoOrigin>(l) || is<Ipv6>(l)) return 3544;
  return 9;
}
inline Buf layer_bytes(const Udp& u, const Layer* next, Buf inner) {
  Buf b;
  put16(b, u.sport);
  put16(b, u.dport.value_or(udp_port_of(next)));
  put16(b, u.length.value_or(static_cast<std::uint16_t>(8 + inner.size())));
  put16(b, 0);  // no checksum
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Vxlan& v, const Layer*, Buf inner) {
  Buf b{v.flags, 0, 0, 0};
  put24(b, v.vni);
  put8(b, 0);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const VxlanGpe& v, const Layer* next, Buf inner) {
  std::uint8_t np = 4;
  if (is<Ipv4>(next)) np = 1;
  if (is<Ipv6>(next)) np = 2;
  if (is<Eth>(next)) np = 3;
  if (is<Mpls>(next)) np = 5;
  Buf b{0x0C, 0, 0, v.next_proto.value_or(np)};
  put24(b, v.vni);
  put8(b, 0);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Geneve& g, const Layer* next, Buf inner) {
  Buf opts = g.options;
  pad_to(opts, 4);
  Buf b;
  put8(b, static_cast<unsigned>(g.version) << 6 | ((opts.size() / 4) & 0x3f));
  put8(b, 0);
  put16(b, g.proto.value_or(ethertype_of(next, inner.size())));
  put24(b, g.vni);
  put8(b, 0);
  append(b, opts);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const TeredoAuth& a, const Layer*, Buf inner) {
  Buf b{0, 1, static_cast<std::uint8_t>(a.client_id.size()),
        static_cast<std::uint8_t>(a.auth.size())};
  append(b, a.client_id);
  append(b, a.auth);
  b.resize(b.size() + 8, 0x11);  // nonce
  put8(b, 0);                    // confirmation
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const TeredoOrigin& o, const Layer*, Buf inner) {
  Buf b{0, 0};
  put16(b, o.port ^ 0xffffu);  // obfuscated, RFC 4380 5.1.1
  for (auto x : o.addr) put8(b, x ^ 0xffu);
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Tcp& t, const Layer*, Buf inner) {
  Buf opts = t.options.bytes;
  pad_to(opts, 4);
  Buf b;
  put16(b, t.sport);
  put16(b, t.dport);
  put32(b, t.seq);
  put32(b, t.ack);
  const unsigned doff = t.data_offset.value_or(static_cast<std::uint8_t>((20 + opts.size()) / 4));
  put8(b, doff << 4 | ((t.flags >> 8) & 1u));
  put8(b, t.flags & 0xffu);
  put16(b, t.window);
  put16(b, t.checksum.value_or(0));
  put16(b, t.urgent);
  append(b, opts);
  if (!t.payload.empty()) {
    append(b, t.payload);
  } else {
    for (std::size_t i = 0; i < t.payload_len; ++i) put8(b, static_cast<unsigned>('a' + i % 26));
  }
  append(b, inner);
  return b;
}
inline Buf layer_bytes(const Payload& p, const Layer*, Buf inner) {
  Buf b = p.bytes;
  append(b, inner);
  return b;
}

inline Buf serialize(const std::vector<Layer>& ls, std::size_t i) {
  if (i >= ls.size()) return {};
  Buf inner = serialize(ls, i + 1);
  const Layer* next = i + 1 < ls.size() ? &ls[i + 1] : nullptr;
  return std::visit([&](const auto& l) { return layer_bytes(l, next, std::move(inner)); }, ls[i]);
}

inline int linktype_of(const Layer& first) {
  if (std::holds_alternative<Eth>(first)) return 1;
  if (std::holds_alternative<Sll>(first)) return 113;
  if (std::holds_alternative<Sll2>(first)) return 276;
  if (std::holds_alternative<Null>(first)) return 0;
  if (std::holds_alternative<Loop>(first)) return 108;
  if (const auto* r = std::get_if<Raw>(&first)) return r->linktype;
  if (std::holds_alternative<Nflog>(first)) return 239;
  if (std::holds_alternative<Ppp>(first)) return 9;
  if (std::holds_alternative<CHdlc>(first)) return 104;
  return 12;  // a bare IP header: DLT_RAW
}

}  // namespace detail

// Builds a frame from layers listed outermost first; wire_len = the built size.
inline Frame build_layers(const std::vector<Layer>& layers) {
  Frame f;
  if (layers.empty()) return f;
  f.bytes = detail::serialize(layers, 0);
  f.linktype = detail::linktype_of(layers.front());
  f.wire_len = static_cast<std::uint32_t>(f.bytes.size());
  return f;
}
template <class... L>
Frame build(L&&... layers) {
  return build_layers(std::vector<Layer>{Layer(std::forward<L>(layers))...});
}

// The one-liners: Ethernet / IPv4 (or IPv6) / TCP.
inline Frame tcp4(const std::string& src, const std::string& dst, Tcp t = {}) {
  return build(Eth{}, Ipv4{.src = src, .dst = dst}, std::move(t));
}
inline Frame tcp6(const std::string& src, const std::string& dst, Tcp t = {}) {
  return build(Eth{}, Ipv6{.src = src, .dst = dst}, std::move(t));
}

// ---- pcap files ---------------------------------------------------------------------------

// A classic pcap file (little-endian; usec or nsec magic) holding `frames`, whose
// link type is taken from the first frame (raw 12/14 are written as LINKTYPE_RAW 101).
inline Buf pcap_bytes(const std::vector<Frame>& frames, bool nsec = false,
                      std::uint32_t snaplen = 262144) {
  int lt = frames.empty() ? 1 : frames.front().linktype;
  if (lt == 12 || lt == 14) lt = 101;
  Buf b;
  put_le32(b, nsec ? 0xa1b23c4du : 0xa1b2c3d4u);
  put_le16(b, 2);
  put_le16(b, 4);
  put_le32(b, 0);  // thiszone
  put_le32(b, 0);  // sigfigs
  put_le32(b, snaplen);
  put_le32(b, static_cast<std::uint32_t>(lt));
  for (const Frame& f : frames) {
    const std::int64_t sec = f.ts.ns / core::kNsPerSec;
    const std::int64_t frac = f.ts.ns % core::kNsPerSec;
    put_le32(b, static_cast<std::uint32_t>(sec));
    put_le32(b, static_cast<std::uint32_t>(nsec ? frac : frac / 1000));
    put_le32(b, static_cast<std::uint32_t>(f.bytes.size()));
    put_le32(b, std::max<std::uint32_t>(f.wire_len, static_cast<std::uint32_t>(f.bytes.size())));
    append(b, f.bytes);
  }
  return b;
}
inline bool write_pcap(const std::string& path, const std::vector<Frame>& frames,
                       bool nsec = false) {
  const Buf b = pcap_bytes(frames, nsec);
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (fp == nullptr) return false;
  const bool ok = std::fwrite(b.data(), 1, b.size(), fp) == b.size();
  return std::fclose(fp) == 0 && ok;
}

}  // namespace tcplife::test
