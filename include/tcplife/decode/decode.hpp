// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string_view>

#include "tcplife/core/packet.hpp"
#include "tcplife/decode/segment.hpp"

namespace tcplife::decode {

// Why a packet did not yield a TCP segment. The names (drop_reason_name) are
// stable snake_case strings and part of the output contract. Keep tcpdump's
// three outcomes apart: truncated (captured bytes end early), malformed (fields
// contradict each other), unsupported (we do not decode this).
enum class Status : std::uint8_t {
  Ok = 0,
  // unsupported / not ours
  UnsupportedLinkType,
  NotIp,                // link layer carried something else (ARP, LLDP, ...)
  NotTcp,               // IP carried something else (UDP, ICMP, ...)
  IpFragment,           // an IP fragment (tcplife does not reassemble)
  UnsupportedTunnel,    // a tunnel/encapsulation we do not decode
  // truncated
  LinkTruncated,
  IpTruncated,
  TcpTruncated,         // fewer than 20 bytes (or the header's options) captured
  // malformed
  IpBadVersion,
  IpBadHeaderLen,       // IPv4 IHL < 5
  IpBadTotalLen,        // total length shorter than the header
  Ipv6BadExtHeader,     // extension header chain malformed or too long
  TcpBadHeaderLen,      // data offset < 5 or past the IP payload
  TooManyLayers,        // VLAN/MPLS/tunnel nesting beyond the limit
  LinkMalformed,        // link header contradicts itself (NFLOG TLV length < 4, PPPoE length)
  TunnelMalformed,      // GRE/VXLAN/Geneve/ERSPAN header longer than the packet carrying it
  kCount
};

inline constexpr std::size_t kStatusCount = static_cast<std::size_t>(Status::kCount);

// Stable name of a status ("ok", "unsupported_link_type", "tcp_truncated", ...).
std::string_view status_name(Status s) noexcept;

struct DecodeOptions {
  bool verify_checksum = false;  // fill Segment::checksum (off: offload makes most captures "bad")
};

// Decodes one captured packet of link type `pkt.linktype` (a libpcap DLT_*
// value). On Ok fills `out` completely; otherwise `out` is unspecified. Pure:
// no state, no allocation, no exceptions, never reads outside pkt.bytes.
Status decode(const core::PacketView& pkt, Segment& out,
              const DecodeOptions& opts = {}) noexcept;

// True if `linktype` (DLT_*) is one decode() understands.
bool linktype_supported(int linktype) noexcept;

}  // namespace tcplife::decode
