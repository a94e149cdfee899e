// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

namespace tcplife::tcp {

// RFC 1982 serial-number arithmetic on 32-bit sequence numbers. Never compare
// raw sequence numbers with <.
constexpr std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b);
}
constexpr bool seq_lt(std::uint32_t a, std::uint32_t b) noexcept { return seq_diff(a, b) < 0; }
constexpr bool seq_le(std::uint32_t a, std::uint32_t b) noexcept { return seq_diff(a, b) <= 0; }
constexpr bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept { return seq_diff(a, b) > 0; }
constexpr bool seq_ge(std::uint32_t a, std::uint32_t b) noexcept { return seq_diff(a, b) >= 0; }

// Unwraps 32-bit sequence numbers into a 64-bit space relative to a base, the
// way Zeek's ToRelativeSeqSpace does: each new number is placed nearest to the
// last one placed, so wrap-around at 2^32 is transparent.
class SeqSpace {
 public:
  void reset(std::uint32_t base) noexcept {
    base_ = base;
    last_abs_ = base;
    last_rel_ = 0;
  }
  [[nodiscard]] std::uint32_t base() const noexcept { return base_; }
  // Relative offset of `seq` (may be negative for numbers before the base).
  [[nodiscard]] std::int64_t rel(std::uint32_t seq) const noexcept {
    return last_rel_ + seq_diff(seq, last_abs_);
  }
  // Same as rel(), and makes `seq` the new reference point when it is ahead.
  std::int64_t advance(std::uint32_t seq) noexcept {
    const std::int64_t r = rel(seq);
    if (r > last_rel_) {
      last_rel_ = r;
      last_abs_ = seq;
    }
    return r;
  }

 private:
  std::uint32_t base_ = 0;
  std::uint32_t last_abs_ = 0;
  std::int64_t last_rel_ = 0;
};

}  // namespace tcplife::tcp
