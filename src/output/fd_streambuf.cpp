// SPDX-License-Identifier: MIT
#include "tcplife/output/fd_streambuf.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcplife::output {

FdStreambuf::FdStreambuf(int fd, std::size_t size)
    : fd_(fd), buf_(std::make_unique_for_overwrite<char[]>(size)), size_(size) {
  setp(buf_.get(), buf_.get() + size_);
}

FdStreambuf::~FdStreambuf() { drain(); }

bool FdStreambuf::write_all(const char* p, std::size_t n) {
  while (n > 0 && error_ == 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      break;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return error_ == 0;
}

bool FdStreambuf::drain() {
  const auto n = static_cast<std::size_t>(pptr() - pbase());
  setp(buf_.get(), buf_.get() + size_);
  return write_all(buf_.get(), n);
}

FdStreambuf::int_type FdStreambuf::overflow(int_type ch) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(ch, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
  }
  return traits_type::not_eof(ch);
}

std::streamsize FdStreambuf::xsputn(const char* s, std::streamsize n) {
  const auto len = static_cast<std::size_t>(n);
  if (len <= static_cast<std::size_t>(epptr() - pptr())) {
    std::memcpy(pptr(), s, len);
    pbump(static_cast<int>(len));
    return n;
  }
  if (!drain()) return 0;
  if (len >= size_) return write_all(s, len) ? n : 0;
  std::memcpy(pptr(), s, len);
  pbump(static_cast<int>(len));
  return n;
}

int FdStreambuf::sync() { return drain() ? 0 : -1; }

}  // namespace tcplife::output
