// SPDX-License-Identifier: MIT
#include "tcplife/flow/flow_table.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace tcplife::flow {
namespace {

std::uint64_t load64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Byte-wise (lexicographic) order of two addresses, as <=> on their bytes
// gives it, from two big-endian words each.
int compare(const core::IpAddr& a, const core::IpAddr& b) noexcept {
  for (std::size_t at : {std::size_t{0}, std::size_t{8}}) {
    const std::uint64_t x = __builtin_bswap64(load64(a.b.data() + at));
    const std::uint64_t y = __builtin_bswap64(load64(b.b.data() + at));
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

KeyedPacket make_key(const core::IpAddr& src, std::uint16_t sport, const core::IpAddr& dst,
                     std::uint16_t dport) noexcept {
  const int c = compare(src, dst);
  const bool src_lo = c < 0 || (c == 0 && sport <= dport);
  KeyedPacket k;
  if (src_lo) {
    k.key = FlowKey{src, dst, sport, dport};
    k.from = Side::Lo;
  } else {
    k.key = FlowKey{dst, src, dport, sport};
    k.from = Side::Hi;
  }
  return k;
}

std::uint64_t hash(const FlowKey& k) noexcept {
  // Each word multiplied by its own odd constant, then one final mix
  // (murmur3's fmix64): a few multiplies for the 36-byte key.
  const std::uint64_t a = load64(k.addr_lo.b.data()) * 0x9e3779b97f4a7c15ULL;
  const std::uint64_t b = load64(k.addr_lo.b.data() + 8) * 0xc2b2ae3d27d4eb4fULL;
  const std::uint64_t c = load64(k.addr_hi.b.data()) * 0x165667b19e3779f9ULL;
  const std::uint64_t d = load64(k.addr_hi.b.data() + 8) * 0xd6e8feb86659fd93ULL;
  const std::uint64_t p = (std::uint64_t{k.port_lo} << 16 | k.port_hi) * 0xff51afd7ed558ccdULL;
  std::uint64_t h = a ^ std::rotl(b, 21) ^ std::rotl(c, 42) ^ std::rotl(d, 13) ^ p;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

FlowTable::FlowTable(std::size_t initial_capacity) {
  const std::size_t cap = std::bit_ceil(initial_capacity < 16 ? std::size_t{16} : initial_capacity);
  slots_.resize(cap);
  mask_ = cap - 1;
}

void FlowTable::erase_at(std::size_t i) noexcept {
  // Backward-shift: pull later members of the probe run into the hole.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    if (slots_[j].id == kNoConn) break;
    const std::size_t h = slots_[j].tag & mask_;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool home_in_between = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!home_in_between) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole].id = kNoConn;
  --size_;
}

void FlowTable::grow() {
  if (slots_.size() > (std::size_t{1} << 31)) throw std::length_error("flow table: over 2^31 keys");
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots_.size() * 2));
  mask_ = slots_.size() - 1;
  // Keys are distinct: each goes to the first free slot from its home.
  for (const Slot& s : old) {
    if (s.id == kNoConn) continue;
    std::size_t i = s.tag & mask_;
    while (slots_[i].id != kNoConn) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace tcplife::flow
