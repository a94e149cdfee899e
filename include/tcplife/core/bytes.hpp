// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace tcplife::core {

using Bytes = std::span<const std::uint8_t>;

// Bounds-checked big-endian cursor over a byte span (tcpdump's GET_BE_U_n,
// without longjmp). Every read either succeeds completely or returns false and
// leaves the cursor where it was. Never throws, never reads past the span.
class ByteReader {
 public:
  constexpr explicit ByteReader(Bytes b) noexcept : b_(b) {}

  [[nodiscard]] constexpr std::size_t remaining() const noexcept { return b_.size() - pos_; }
  [[nodiscard]] constexpr std::size_t offset() const noexcept { return pos_; }
  [[nodiscard]] constexpr Bytes rest() const noexcept { return b_.subspan(pos_); }

  [[nodiscard]] constexpr bool u8(std::uint8_t& v) noexcept {
    if (remaining() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  [[nodiscard]] constexpr bool be16(std::uint16_t& v) noexcept {
    if (remaining() < 2) return false;
    v = static_cast<std::uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  [[nodiscard]] constexpr bool be32(std::uint32_t& v) noexcept {
    if (remaining() < 4) return false;
    v = std::uint32_t{b_[pos_]} << 24 | std::uint32_t{b_[pos_ + 1]} << 16 |
        std::uint32_t{b_[pos_ + 2]} << 8 | std::uint32_t{b_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  [[nodiscard]] constexpr bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }

 private:
  Bytes b_;
  std::size_t pos_ = 0;
};

// Unchecked loads for callers that have already checked the length.
constexpr std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}
constexpr std::uint16_t load_le16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[1] << 8 | p[0]);
}
constexpr std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 |
         std::uint32_t{p[0]};
}

}  // namespace tcplife::core
