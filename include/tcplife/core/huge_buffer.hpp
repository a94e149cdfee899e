// SPDX-License-Identifier: MIT
#pragma once
#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace tcplife::core {

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using HugeBuffer = std::unique_ptr<char[], FreeDeleter>;

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Memory for a big buffer that lives long and is reused: 2 MiB-aligned and
// marked for transparent huge pages, so that touching it the first time costs
// one page fault per 2 MiB instead of 512 (a fault is dear in a virtual
// machine). Where the kernel has no huge pages it is ordinary memory.
inline HugeBuffer huge_buffer(std::size_t n) {
  const std::size_t len = (n + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, len);
  if (p == nullptr) throw std::bad_alloc();
  static_cast<void>(::madvise(p, len, MADV_HUGEPAGE));  // advice only
  return HugeBuffer(static_cast<char*>(p));
}

// A fixed array of n value-initialised T in a huge_buffer.
template <class T>
class HugeArray {
  static_assert(alignof(T) <= kHugePage);

 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t n) : buf_(huge_buffer(n * sizeof(T))) {
    std::uninitialized_value_construct_n(data(), n);
    n_ = n;
  }
  HugeArray(HugeArray&& o) noexcept : buf_(std::move(o.buf_)), n_(std::exchange(o.n_, 0)) {}
  HugeArray& operator=(HugeArray&&) = delete;  // held in place or moved by a vector only
  ~HugeArray() {
    if constexpr (!std::is_trivially_destructible_v<T>)
      if (buf_) std::destroy_n(data(), n_);
  }

  [[nodiscard]] T* data() noexcept { return std::launder(reinterpret_cast<T*>(buf_.get())); }
  [[nodiscard]] const T* data() const noexcept {
    return std::launder(reinterpret_cast<const T*>(buf_.get()));
  }
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return data()[i]; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

 private:
  HugeBuffer buf_;
  std::size_t n_ = 0;
};

// Room for n T in a huge_buffer, constructed by ranges on first use (their
// pages are touched then, not up front). T must not need destroying.
template <class T>
class HugeStorage {
  static_assert(alignof(T) <= kHugePage);
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  explicit HugeStorage(std::size_t n) : buf_(huge_buffer(n * sizeof(T))), n_(n) {}

  // Value-initialises [at, at + count) and returns its first element.
  T* construct(std::size_t at, std::size_t count) {
    if (at > n_ || count > n_ - at) throw std::out_of_range("HugeStorage::construct");
    T* p = reinterpret_cast<T*>(buf_.get()) + at;
    std::uninitialized_value_construct_n(p, count);
    return std::launder(p);
  }

 private:
  HugeBuffer buf_;
  std::size_t n_ = 0;
};

}  // namespace tcplife::core
