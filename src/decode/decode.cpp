// SPDX-License-Identifier: MIT
#include "tcplife/decode/decode.hpp"

#include <algorithm>
#include <array>

#include "decode/decode_context.hpp"

namespace tcplife::decode {
namespace {

// One table, indexed by the enum; the strings are part of the output contract.
constexpr std::array<std::string_view, kStatusCount> kStatusNames = {
    "ok",
    "unsupported_link_type",
    "not_ip",
    "not_tcp",
    "ip_fragment",
    "unsupported_tunnel",
    "link_truncated",
    "ip_truncated",
    "tcp_truncated",
    "ip_bad_version",
    "ip_bad_header_len",
    "ip_bad_total_len",
    "ipv6_bad_ext_header",
    "tcp_bad_header_len",
    "too_many_layers",
    "link_malformed",
    "tunnel_malformed",
};
static_assert(kStatusNames.back() == "tunnel_malformed", "one name per Status, in order");

Status step(detail::Ctx& c, const DecodeOptions& opts) noexcept {
  using detail::Next;
  switch (c.next) {
    case Next::Ethernet:
      return detail::ethernet(c);
    case Next::EtherType:
      return detail::ethertype(c);
    case Next::Llc:
      return detail::llc(c);
    case Next::Ppp:
      return detail::ppp(c);
    case Next::IpAny:
      return detail::ip_any(c);
    case Next::Ipv4:
      return detail::ipv4(c);
    case Next::Ipv6:
      return detail::ipv6(c);
    case Next::IpProto:
      return detail::ip_proto(c);
    case Next::Tcp:
      return detail::tcp(c, opts);
    case Next::Done:
      break;
  }
  return Status::Ok;
}

}  // namespace

std::string_view status_name(Status s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < kStatusNames.size() ? kStatusNames[i] : std::string_view{"unknown"};
}

Status decode(const core::PacketView& pkt, Segment& out, const DecodeOptions& opts) noexcept {
  out = Segment{};
  out.ts = pkt.ts;
  out.index = pkt.index;
  out.wire_len = pkt.wire_len;

  // `declared` starts as what the wire carried, for lengths no header states (TSO, BIG TCP).
  detail::Ctx c{.out = out,
                .data = pkt.bytes,
                .declared = std::max<std::uint64_t>(pkt.wire_len, pkt.bytes.size())};

  if (Status s = detail::start_link(c, pkt.linktype); s != Status::Ok) return s;
  // Every step consumes a header or stops; the bound only guards against a bug
  // turning hostile input into a loop.
  for (unsigned i = 0; i < detail::kMaxSteps; ++i) {
    if (c.next == detail::Next::Done) return Status::Ok;
    if (Status s = step(c, opts); s != Status::Ok) return s;
  }
  return Status::TooManyLayers;
}

bool linktype_supported(int linktype) noexcept { return detail::link_supported(linktype); }

}  // namespace tcplife::decode
