// SPDX-License-Identifier: MIT
// fuzz_decode: one captured frame through decode::decode(), for every link type.
//
// Input: selector(1) flags(1) wire_extra(2, big-endian) frame bytes...
//   selector  picks the link type (fuzz_common.hpp kLinkTypes, modulo)
//   flags     bit 0: verify the TCP checksum; bit 1: wire_len = wire_extra
//             (may be below the captured length) instead of caplen + wire_extra
// Checks, besides "no crash, no over-read": a decoded segment's payload lies
// inside the frame and fits its declared length; every status has a name; and
// a prefix of a frame that decoded (wire_len kept) decodes Ok or as truncated.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "tcplife/decode/decode.hpp"

namespace {

using tcplife::core::PacketView;
using tcplife::decode::Segment;
using tcplife::decode::Status;
using tcplife::fuzz::check;

bool truncated_or_ok(Status s) {
  return s == Status::Ok || s == Status::LinkTruncated || s == Status::IpTruncated ||
         s == Status::TcpTruncated;
}

void check_segment(const Segment& seg, const std::uint8_t* frame, std::size_t size) {
  check(seg.ip_version == 4 || seg.ip_version == 6, "ip_version is 4 or 6");
  check(seg.header_len >= 20 && seg.header_len <= 60, "TCP header length in [20, 60]");
  if (!seg.payload.empty()) {
    check(seg.payload.data() >= frame && seg.payload.data() + seg.payload.size() <= frame + size,
          "payload view lies inside the frame");
  }
  check(seg.payload.size() <= seg.payload_len, "captured payload <= declared payload");
  check(seg.options.sack_count <= tcplife::decode::TcpOptions::kMaxSack, "sack_count bounded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return -1;  // reject: keeps the corpus to well-formed inputs
  const int linktype = tcplife::fuzz::linktype_from(data[0]);
  const std::uint8_t flags = data[1];
  const auto wire_extra = static_cast<std::uint32_t>(data[2] << 8 | data[3]);
  const tcplife::fuzz::ExactCopy frame(data + 4, size - 4);

  PacketView pkt;
  pkt.ts = tcplife::core::Timestamp{1'700'000'000LL * tcplife::core::kNsPerSec};
  pkt.bytes = tcplife::core::Bytes(frame.data(), frame.size());
  const auto caplen = static_cast<std::uint32_t>(frame.size());
  pkt.wire_len = (flags & 2) != 0 ? wire_extra : caplen + wire_extra;
  pkt.index = 7;
  pkt.linktype = linktype;

  tcplife::decode::DecodeOptions opts;
  opts.verify_checksum = (flags & 1) != 0;
  Segment seg;
  const Status st = tcplife::decode::decode(pkt, seg, opts);
  check(tcplife::decode::status_name(st) != "unknown", "every status has a name");
  if (st != Status::Ok) return 0;
  check_segment(seg, frame.data(), frame.size());
  check(seg.index == pkt.index && seg.ts == pkt.ts, "index and time copied");

  // Prefix property (STYLE.md 8): cut where the input's hash says, keep wire_len.
  // Teredo off its port is recognised by content, so a cut may make it plain UDP.
  if (frame.size() == 0 || seg.tunnel.kind == tcplife::decode::TunnelKind::Teredo) return 0;
  const std::size_t cut = tcplife::fuzz::fnv1a(data, size) % frame.size();
  const tcplife::fuzz::ExactCopy prefix(frame.data(), cut);
  PacketView short_pkt = pkt;
  short_pkt.bytes = tcplife::core::Bytes(prefix.data(), prefix.size());
  short_pkt.wire_len = std::max(pkt.wire_len, caplen);
  Segment seg2;
  const Status st2 = tcplife::decode::decode(short_pkt, seg2, opts);
  check(truncated_or_ok(st2), "a prefix of a decodable frame is Ok or truncated");
  if (st2 == Status::Ok) check_segment(seg2, prefix.data(), prefix.size());
  return 0;
}
