// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <memory>
#include <streambuf>

namespace tcplife::output {

// A write-only stream buffer over a file descriptor with a large buffer
// (std::cout's is 8 KiB once unsynchronised from stdio, and libstdc++ writes
// anything over 1 KiB straight through: a system call per JSON record).
// Output leaves on overflow, on sync() (ostream::flush) and on destruction.
class FdStreambuf final : public std::streambuf {
 public:
  explicit FdStreambuf(int fd, std::size_t size = std::size_t{1} << 20);
  ~FdStreambuf() override;
  FdStreambuf(const FdStreambuf&) = delete;
  FdStreambuf& operator=(const FdStreambuf&) = delete;

  // errno of the first failed write (0: none).
  [[nodiscard]] int error() const noexcept { return error_; }

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  bool drain();
  bool write_all(const char* p, std::size_t n);

  int fd_;
  std::unique_ptr<char[]> buf_;
  std::size_t size_;
  int error_ = 0;
};

}  // namespace tcplife::output
