// SPDX-License-Identifier: MIT
// Shared by the fuzz targets: an exact-size copy of the input (so ASan sees any
// read past its end), Zeek's FuzzBuffer-style splitting into packets, the link
// types a selector byte picks from, and a failure that aborts in every build.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace tcplife::fuzz {

// libFuzzer's buffer may be larger than `size`; a private heap copy of exactly
// `size` bytes makes every over-read a heap-buffer-overflow report ({fmt} does this).
class ExactCopy {
 public:
  ExactCopy(const std::uint8_t* data, std::size_t size)
      : buf_(size > 0 ? new std::uint8_t[size] : nullptr), size_(size) {
    if (size > 0) std::memcpy(buf_.get(), data, size);
  }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return buf_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t size_;
};

// An invariant the target checks failed: print it and abort, so both libFuzzer
// and the replay driver under ctest report the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::fflush(stderr);
  std::abort();
}
inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Link types (DLT_*) every decoder entry point is reached through, and one
// unsupported value. A selector byte picks one modulo the count.
inline constexpr std::array<int, 15> kLinkTypes = {
    1,    // EN10MB
    0,    // NULL
    108,  // LOOP
    12,   // RAW (Linux)
    14,   // RAW (BSD/OS)
    101,  // LINKTYPE_RAW
    228,  // IPV4
    229,  // IPV6
    113,  // LINUX_SLL
    276,  // LINUX_SLL2
    239,  // NFLOG
    9,    // PPP
    50,   // PPP_SERIAL
    104,  // C_HDLC
    147,  // USER0: unsupported
};
inline int linktype_from(std::uint8_t selector) noexcept {
  return kLinkTypes[selector % kLinkTypes.size()];
}

// Splits an input into chunks separated by kMagic, as Zeek's FuzzBuffer does:
// "HEADER \1PKT chunk \1PKT chunk ...". Mutations that insert or delete a
// separator add or remove packets; the chunks themselves stay byte-exact.
class ChunkSplitter {
 public:
  static constexpr std::string_view kMagic{"\1PKT", 4};

  ChunkSplitter(const std::uint8_t* data, std::size_t size) noexcept
      : p_(data), end_(data + size) {}

  // Next chunk (possibly empty); false when the input is used up.
  bool next(const std::uint8_t*& chunk, std::size_t& len) noexcept {
    if (p_ == nullptr) return false;
    const std::uint8_t* start = p_;
    const std::uint8_t* hit = find(start);
    chunk = start;
    if (hit == nullptr) {
      len = static_cast<std::size_t>(end_ - start);
      p_ = nullptr;
    } else {
      len = static_cast<std::size_t>(hit - start);
      p_ = hit + kMagic.size();
    }
    return true;
  }

 private:
  const std::uint8_t* find(const std::uint8_t* from) const noexcept {
    const auto avail = static_cast<std::size_t>(end_ - from);
    if (avail < kMagic.size()) return nullptr;
    for (std::size_t i = 0; i + kMagic.size() <= avail; ++i)
      if (std::memcmp(from + i, kMagic.data(), kMagic.size()) == 0) return from + i;
    return nullptr;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// FNV-1a: a cheap deterministic choice derived from the input.
inline std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace tcplife::fuzz
