// SPDX-License-Identifier: MIT
// RTT statistics (bounded log histogram) and the vantage point.
#include "tcplife/analyze/summary.hpp"

#include <algorithm>
#include <bit>

namespace tcplife::analyze {
namespace {

using tcp::RttStats;
using tcp::SegAnalysisEndpoint;
namespace sf = tcp::seg_flag;

constexpr int kBuckets = static_cast<int>(RttStats::kBuckets);
constexpr int kGlobalBuckets = 4 * 32;  // 4 per octave of a 32-bit microsecond value

// Global log-bucket of a value: 4 buckets per power of two.
int bucket_of(std::uint32_t us) noexcept {
  const std::uint64_t v = std::max<std::uint32_t>(us, 1u);
  const int octave = static_cast<int>(std::bit_width(v)) - 1;
  const int sub = static_cast<int>(((v << 2) >> octave) & 3u);
  return octave * 4 + sub;
}

// Lower bound of a global bucket, in microseconds.
std::uint64_t bucket_low(int g) noexcept {
  const int octave = g / 4, sub = g % 4;
  return (static_cast<std::uint64_t>(4 + sub) << octave) >> 2;
}

void shift_window(RttStats& s, int new_base) noexcept {
  const int old_base = s.base;
  std::array<std::uint8_t, RttStats::kBuckets> moved{};
  for (int i = 0; i < kBuckets; ++i) {
    if (s.hist[static_cast<std::size_t>(i)] == 0) continue;
    const int j = std::clamp(old_base + i - new_base, 0, kBuckets - 1);
    const unsigned sum =
        unsigned{moved[static_cast<std::size_t>(j)]} + s.hist[static_cast<std::size_t>(i)];
    moved[static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(std::min(sum, 255u));
  }
  s.hist = moved;
  s.base = static_cast<std::uint8_t>(new_base);
}

}  // namespace

void add_sample(RttStats& s, std::uint32_t us) noexcept {
  const int g = bucket_of(us);
  if (s.samples == 0) {
    s.min_us = s.max_us = us;
    s.base = static_cast<std::uint8_t>(std::clamp(g - kBuckets / 2, 0, kGlobalBuckets - kBuckets));
  } else {
    s.min_us = std::min(s.min_us, us);
    s.max_us = std::max(s.max_us, us);
  }
  if (s.samples < 0xffffffffu) ++s.samples;
  if (g < s.base) shift_window(s, g);
  if (g >= s.base + kBuckets) shift_window(s, g - kBuckets + 1);
  auto& slot = s.hist[static_cast<std::size_t>(g - s.base)];
  if (slot == 255) {
    for (auto& h : s.hist) h = static_cast<std::uint8_t>((h + 1) / 2);
  }
  ++slot;
}

RttSummary summarize(const RttStats& s) noexcept {
  RttSummary r;
  r.samples = s.samples;
  if (s.samples == 0) return r;
  r.min_ns = std::int64_t{s.min_us} * 1000;
  r.max_ns = std::int64_t{s.max_us} * 1000;
  if (s.samples == 1) {
    r.median_ns = r.min_ns;
    return r;
  }
  if (s.samples == 2) {
    r.median_ns = (r.min_ns + r.max_ns) / 2;
    return r;
  }
  unsigned total = 0;
  for (const auto h : s.hist) total += h;
  unsigned cum = 0;
  int at = kBuckets - 1;
  for (int i = 0; i < kBuckets; ++i) {
    cum += s.hist[static_cast<std::size_t>(i)];
    if (2 * cum >= total + 1) {
      at = i;
      break;
    }
  }
  const int g = s.base + at;
  const std::uint64_t lo = bucket_low(g), hi = bucket_low(g + 1);
  const std::uint64_t mid = lo + (hi - lo) / 2;
  const std::uint64_t clamped = std::clamp<std::uint64_t>(mid, s.min_us, s.max_us);
  r.median_ns = static_cast<std::int64_t>(clamped) * 1000;
  return r;
}

std::string_view vantage_name(Vantage v) noexcept {
  switch (v) {
    case Vantage::ClientSide:
      return "client_side";
    case Vantage::ServerSide:
      return "server_side";
    case Vantage::Middle:
      return "middle";
    default:
      return "unknown";
  }
}

bool initial_rtt(const tcp::Connection& c, std::int64_t& ns) noexcept {
  const SegAnalysisEndpoint& a = c.analysis[0];
  if ((a.flags & sf::kIrtt) == 0) return false;
  ns = std::int64_t{a.irtt_us} * 1000;
  return true;
}

VantageInfo vantage(const tcp::Connection& c) noexcept {
  VantageInfo v;
  const SegAnalysisEndpoint& cl = c.analysis[flow::idx(c.client)];
  const SegAnalysisEndpoint& sv = c.analysis[flow::idx(c.server())];
  if ((cl.flags & sf::kIrtt) == 0 || c.hs.simultaneous) return v;
  // The client's latest SYN and the server's latest SYN-ACK before the ACK.
  if ((cl.flags & (sf::kHsSeen | sf::kHsSyn)) != (sf::kHsSeen | sf::kHsSyn)) return v;
  if ((sv.flags & sf::kHsSeen) == 0 || (sv.flags & sf::kHsSyn) != 0) return v;
  const std::uint32_t total = cl.irtt_us;
  const std::uint32_t a = sv.hs_us - cl.hs_us;  // modulo 2^32 microseconds
  if (a > total) return v;  // the SYN-ACK came before the SYN we kept: nothing to say
  const std::uint32_t b = total - a;
  v.have_halves = true;
  v.syn_to_synack_ns = std::int64_t{a} * 1000;
  v.synack_to_ack_ns = std::int64_t{b} * 1000;
  const auto near = [total](std::uint32_t x) {
    return std::uint64_t{x} * 10 <= total || x <= kNearZeroUs;
  };
  const bool a_near = near(a), b_near = near(b);
  if (a_near && b_near) {
    v.where = Vantage::Unknown;
  } else if (b_near) {
    v.where = Vantage::ClientSide;  // the client answered the SYN-ACK at once: it is next to us
  } else if (a_near) {
    v.where = Vantage::ServerSide;
  } else {
    v.where = Vantage::Middle;
  }
  return v;
}

}  // namespace tcplife::analyze
