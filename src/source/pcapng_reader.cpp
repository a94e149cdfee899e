// SPDX-License-Identifier: MIT
#include "source/pcapng_reader.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "source/capture_time.hpp"
#include "tcplife/core/bytes.hpp"

namespace tcplife::source {
namespace {

constexpr std::uint16_t bswap(std::uint16_t v) { return __builtin_bswap16(v); }
constexpr std::uint32_t bswap(std::uint32_t v) { return __builtin_bswap32(v); }

constexpr std::uint32_t kShb = 0x0A0D0D0A;
constexpr std::uint32_t kIdb = 1;
constexpr std::uint32_t kObsoletePacket = 2;
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
// A block larger than this is treated as corruption, not as a reason to allocate.
constexpr std::uint32_t kMaxBlock = 64u << 20;
constexpr std::size_t kReadStep = 1u << 20;

std::uint32_t pad4(std::uint32_t n) { return (n + 3u) & ~3u; }

}  // namespace

PcapngReader::~PcapngReader() {
  if (f_ != nullptr) std::fclose(f_);
}

std::int64_t PcapngReader::position() const {
  const long p = std::ftell(f_);
  return p < 0 ? -1 : static_cast<std::int64_t>(p);
}

ReadStatus PcapngReader::fail(ReadStatus s, std::string msg) {
  error_ = std::move(msg);
  return s;
}

std::uint16_t PcapngReader::u16(std::size_t off) const {
  const std::uint16_t v = core::load_le16(buf_.data() + off);
  return swapped_ ? bswap(v) : v;
}

std::uint32_t PcapngReader::u32(std::size_t off) const {
  const std::uint32_t v = core::load_le32(buf_.data() + off);
  return swapped_ ? bswap(v) : v;
}

// Reads one whole block into buf_ (body only: after type and length, before
// the trailing length). Returns Packet on success.
ReadStatus PcapngReader::read_block(std::uint32_t& type, std::size_t& body_len) {
  std::uint8_t hdr[8];
  const std::size_t got = std::fread(hdr, 1, sizeof hdr, f_);
  if (got == 0) return ReadStatus::End;
  if (got < sizeof hdr)
    return fail(ReadStatus::Truncated, "file ends inside a pcapng block header");
  std::uint32_t raw_type = core::load_le32(hdr);
  std::uint8_t magic[4] = {};
  const bool shb = raw_type == kShb;
  if (shb) {
    // The byte order is only known after the section header's magic.
    if (std::fread(magic, 1, 4, f_) != 4)
      return fail(ReadStatus::Truncated, "file ends inside a pcapng section header");
    const std::uint32_t m = core::load_le32(magic);
    if (m == kByteOrderMagic) {
      swapped_ = std::endian::native == std::endian::big;
    } else if (m == bswap(kByteOrderMagic)) {
      swapped_ = std::endian::native == std::endian::little;
    } else {
      return fail(ReadStatus::Error, "bad pcapng byte-order magic");
    }
  }
  std::uint32_t total = core::load_le32(hdr + 4);
  if (swapped_) {
    raw_type = bswap(raw_type);
    total = bswap(total);
  }
  type = raw_type;
  if (total < (shb ? 28u : 12u) || total % 4 != 0 || total > kMaxBlock)
    return fail(ReadStatus::Error,
                "corrupt pcapng block (type " + std::to_string(type) + ", length " +
                    std::to_string(total) + ")");
  body_len = total - 12;
  // Read in steps, growing the buffer only as the bytes arrive: a short file
  // that claims a 64 MiB block costs what it holds, not 64 MiB.
  const std::size_t already = shb ? 4 : 0;
  if (buf_.size() < already) buf_.resize(already);
  if (shb) std::copy(magic, magic + 4, buf_.begin());
  for (std::size_t have = already; have < body_len + 4;) {
    const std::size_t n = std::min(kReadStep, body_len + 4 - have);
    if (buf_.size() < have + n) {
      if (buf_.capacity() < have + n) buf_.reserve(std::max(have + n, 2 * buf_.capacity()));
      buf_.resize(have + n);
    }
    const std::size_t read = std::fread(buf_.data() + have, 1, n, f_);
    have += read;
    if (read < n)
      return fail(ReadStatus::Truncated, "file ends inside a pcapng block of type " +
                                             std::to_string(type) + " (length " +
                                             std::to_string(total) + ")");
  }
  if (u32(body_len) != total)
    return fail(ReadStatus::Error, "pcapng block lengths disagree (type " +
                                       std::to_string(type) + ")");
  return ReadStatus::Packet;
}

bool PcapngReader::parse_shb(std::size_t body_len) {
  if (body_len < 16) return false;
  ifaces_.clear();
  have_section_ = true;
  return true;
}

bool PcapngReader::parse_idb(std::size_t body_len) {
  if (body_len < 8) return false;
  Interface itf;
  itf.linktype = u16(0);
  itf.snaplen = u32(4);
  std::size_t off = 8;
  while (off + 4 <= body_len) {
    const std::uint16_t code = u16(off);
    const std::uint16_t len = u16(off + 2);
    off += 4;
    if (code == 0 || off + len > body_len) break;  // opt_endofopt, or a bad length
    if (code == 9 && len >= 1) {                   // if_tsresol
      const std::uint8_t v = buf_[off];
      itf.tsresol_pow2 = (v & 0x80) != 0;
      itf.tsresol_exp = static_cast<std::uint8_t>(v & 0x7f);
    } else if (code == 14 && len >= 8) {           // if_tsoffset
      const std::uint64_t lo = u32(off), hi = u32(off + 4);
      itf.tsoffset_s = static_cast<std::int64_t>(swapped_ ? (lo << 32 | hi) : (hi << 32 | lo));
    }
    off += pad4(len);
  }
  ifaces_.push_back(itf);
  if (std::find(seen_linktypes_.begin(), seen_linktypes_.end(), itf.linktype) ==
      seen_linktypes_.end())
    seen_linktypes_.push_back(itf.linktype);
  return true;
}

core::Timestamp PcapngReader::to_ts(const Interface& itf, std::uint64_t units) const {
  // In 128 bits: 64-bit units times 10^9 and a 64-bit second offset cannot
  // overflow there; the result is clamped to the capture-time range.
  __extension__ using u128 = unsigned __int128;
  const unsigned e = itf.tsresol_exp;
  i128 ns = 0;
  if (itf.tsresol_pow2) {
    if (e < 128) ns = static_cast<i128>((static_cast<u128>(units) * 1'000'000'000u) >> e);
  } else if (e <= 9) {
    std::uint64_t mul = 1;
    for (unsigned i = e; i < 9; ++i) mul *= 10;
    ns = static_cast<i128>(static_cast<u128>(units) * mul);
  } else {
    std::uint64_t div = 1;
    for (unsigned i = 9; i < e && i < 28; ++i) div *= 10;
    ns = static_cast<i128>(units / div);
  }
  return clamp_capture_ns(ns + static_cast<i128>(itf.tsoffset_s) * core::kNsPerSec);
}

bool PcapngReader::start(std::string& why) {
  std::uint32_t type = 0;
  std::size_t body = 0;
  const ReadStatus st = read_block(type, body);
  if (st == ReadStatus::End) error_ = "empty pcapng file";
  if (st == ReadStatus::Packet && type != kShb) error_ = "first block is not a section header";
  if (st == ReadStatus::Packet && type == kShb && !parse_shb(body))
    error_ = "corrupt pcapng section header";
  if (st != ReadStatus::Packet || type != kShb || !have_section_) {
    why = error_;
    return false;
  }
  return true;
}

ReadStatus PcapngReader::next(core::PacketView& out) {
  for (;;) {
    std::uint32_t type = 0;
    std::size_t body = 0;
    const ReadStatus st = read_block(type, body);
    if (st != ReadStatus::Packet) return st;
    if (type == kShb) {
      if (!parse_shb(body)) return fail(ReadStatus::Error, "corrupt pcapng section header");
      continue;
    }
    if (!have_section_) return fail(ReadStatus::Error, "pcapng block before any section header");
    if (type == kIdb) {
      if (!parse_idb(body)) return fail(ReadStatus::Error, "corrupt pcapng interface block");
      continue;
    }
    std::uint32_t iface = 0, caplen = 0, wire = 0;
    std::uint64_t units = 0;
    std::size_t data_off = 0;
    bool has_ts = true;
    if (type == kEnhancedPacket && body >= 20) {
      iface = u32(0);
      units = std::uint64_t{u32(4)} << 32 | u32(8);
      caplen = u32(12);
      wire = u32(16);
      data_off = 20;
    } else if (type == kObsoletePacket && body >= 20) {
      iface = u16(0);
      units = std::uint64_t{u32(4)} << 32 | u32(8);
      caplen = u32(12);
      wire = u32(16);
      data_off = 20;
    } else if (type == kSimplePacket && body >= 4) {
      wire = u32(0);
      data_off = 4;
      caplen = static_cast<std::uint32_t>(std::min<std::size_t>(wire, body - 4));
      has_ts = false;
    } else if (type == kEnhancedPacket || type == kObsoletePacket || type == kSimplePacket) {
      return fail(ReadStatus::Error, "corrupt pcapng packet block");
    } else {
      continue;  // statistics, name resolution, custom and unknown blocks
    }
    if (iface >= ifaces_.size())
      return fail(ReadStatus::Error, "pcapng packet refers to interface " +
                                         std::to_string(iface) + ", which was never described");
    const Interface& itf = ifaces_[iface];
    if (type == kSimplePacket && itf.snaplen != 0) caplen = std::min(caplen, itf.snaplen);
    if (data_off + caplen > body)
      return fail(ReadStatus::Error, "pcapng packet's captured length " + std::to_string(caplen) +
                                         " exceeds its block");
    out.ts = has_ts ? to_ts(itf, units) : last_ts_;
    last_ts_ = out.ts;
    out.bytes = core::Bytes(buf_.data() + data_off, caplen);
    out.wire_len = std::max(wire, caplen);
    out.index = index_++;
    out.linktype = itf.linktype;
    return ReadStatus::Packet;
  }
}

}  // namespace tcplife::source
