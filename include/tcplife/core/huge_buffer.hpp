// SPDX-License-Identifier: MIT
#pragma once
#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>

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

}  // namespace tcplife::core
