// SPDX-License-Identifier: MIT
// TCP header (RFC 9293), options and checksum.
#include "decode/decode_context.hpp"

namespace tcplife::decode::detail {
namespace {

using core::load_be16;
using core::load_be32;

constexpr std::uint8_t kOptEol = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptMss = 2;
constexpr std::uint8_t kOptWscale = 3;         // RFC 7323
constexpr std::uint8_t kOptSackPermitted = 4;  // RFC 2018
constexpr std::uint8_t kOptSack = 5;
constexpr std::uint8_t kOptTimestamps = 8;      // RFC 7323
constexpr std::uint8_t kOptTfo = 34;            // RFC 7413
constexpr std::uint8_t kOptExperimental = 254;  // RFC 6994: ExID in the first 2 bytes
constexpr std::uint16_t kTfoExid = 0xF989;      // TFO before kind 34 was assigned
constexpr std::size_t kMaxTfoCookie = 16;

// One option of `len` bytes (kind and length included) at `p`. A known kind with
// the wrong length is ignored, not fatal: its length still lets us walk on.
void apply_option(const std::uint8_t* p, std::size_t len, TcpOptions& o) noexcept {
  switch (p[0]) {
    case kOptMss:
      if (len == 4) {
        o.has_mss = true;
        o.mss = load_be16(p + 2);
      }
      break;
    case kOptWscale:
      if (len == 3) {
        o.has_wscale = true;
        o.wscale = p[2];
      }
      break;
    case kOptSackPermitted:
      if (len == 2) o.sack_permitted = true;
      break;
    case kOptSack:
      if (len >= 10 && (len - 2) % 8 == 0) {
        for (std::size_t i = 2; i < len && o.sack_count < TcpOptions::kMaxSack; i += 8) {
          o.sack[o.sack_count++] = SackBlock{load_be32(p + i), load_be32(p + i + 4)};
        }
      }
      break;
    case kOptTimestamps:
      if (len == 10) {
        o.has_timestamps = true;
        o.ts_val = load_be32(p + 2);
        o.ts_ecr = load_be32(p + 6);
      }
      break;
    case kOptTfo:
      if (len <= 2 + kMaxTfoCookie) {
        o.has_tfo = true;
        o.tfo_cookie_len = static_cast<std::uint8_t>(len - 2);
      }
      break;
    case kOptExperimental:
      if (len >= 4 && len <= 4 + kMaxTfoCookie && load_be16(p + 2) == kTfoExid) {
        o.has_tfo = true;
        o.tfo_cookie_len = static_cast<std::uint8_t>(len - 4);
      }
      break;
    default:
      break;  // unknown kinds are skipped by their length
  }
}

// One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded.
std::uint64_t sum_words(core::Bytes b, std::uint64_t acc) noexcept {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2) acc += load_be16(b.data() + i);
  if (i < b.size()) acc += std::uint64_t{b[i]} << 8;  // odd length: pad with a zero byte
  return acc;
}

Checksum verify(const Segment& s, core::Bytes segment, std::uint64_t l4_len) noexcept {
  if (segment.size() < l4_len) return Checksum::Unverifiable;
  std::uint64_t acc = 0;
  if (s.ip_version == 4) {
    if (l4_len > 0xffff) return Checksum::Unverifiable;
    acc = sum_words(core::Bytes(s.src.b).subspan(12), acc);
    acc = sum_words(core::Bytes(s.dst.b).subspan(12), acc);
    acc += 6 + l4_len;
  } else {
    // RFC 8200 8.1: a 32-bit length and next header 6; s.dst is already the final
    // destination when a routing header was present.
    acc = sum_words(core::Bytes(s.src.b), acc);
    acc = sum_words(core::Bytes(s.dst.b), acc);
    acc += (l4_len >> 16) + (l4_len & 0xffff) + 6;
  }
  acc = sum_words(segment, acc);
  while ((acc >> 16) != 0) acc = (acc & 0xffff) + (acc >> 16);
  return acc == 0xffff ? Checksum::Good : Checksum::Bad;
}

}  // namespace

// Parses the option bytes after the fixed header. `cut` says the capture ended
// inside the options (snaplen): running out of bytes then is truncation, not a bad
// length, so we stop without setting `malformed` and keep what was read.
void parse_tcp_options(core::Bytes opts, bool cut, TcpOptions& o) noexcept {
  std::size_t i = 0;
  const std::size_t end = opts.size();
  while (i < end) {
    const std::uint8_t kind = opts[i];
    if (kind == kOptEol) return;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= end) {
      o.malformed = !cut;
      return;
    }
    const std::size_t len = opts[i + 1];
    if (len < 2) {
      o.malformed = true;
      return;
    }
    if (i + len > end) {
      o.malformed = !cut;
      return;
    }
    apply_option(opts.data() + i, len, o);
    i += len;
  }
}

Status tcp(Ctx& c, const DecodeOptions& opts) noexcept {
  const std::uint64_t l4_len = c.declared;  // the IP payload length
  if (c.len_from_header && l4_len < 20) return Status::TcpBadHeaderLen;
  if (c.data.size() < 20) return Status::TcpTruncated;
  const std::uint8_t* h = c.data.data();
  const std::size_t hlen = static_cast<std::size_t>(h[12] >> 4) * 4;
  if (hlen < 20 || hlen > l4_len) return Status::TcpBadHeaderLen;

  Segment& o = c.out;
  o.sport = load_be16(h);
  o.dport = load_be16(h + 2);
  o.seq = load_be32(h + 4);
  o.ack = load_be32(h + 8);
  o.flags = static_cast<std::uint16_t>((h[12] & 0x01) << 8 | h[13]);
  o.window = load_be16(h + 14);
  o.urgent = load_be16(h + 18);
  o.header_len = static_cast<std::uint8_t>(hlen);

  const bool cut = c.data.size() < hlen;
  const std::size_t opt_end = cut ? c.data.size() : hlen;
  parse_tcp_options(c.data.subspan(20, opt_end - 20), cut, o.options);

  o.payload_len = saturate32(l4_len - hlen);
  o.payload = cut ? core::Bytes{} : c.data.subspan(hlen);
  if (opts.verify_checksum) o.checksum = verify(o, c.data, l4_len);
  c.next = Next::Done;
  return Status::Ok;
}

}  // namespace tcplife::decode::detail
