// SPDX-License-Identifier: MIT
// Built-in reader for classic pcap files (issue 8). libpcap's pcap_next_ex
// copies every record from the stdio buffer into its own; this reader read(2)s
// large blocks into one buffer and hands out views into it. The file header is
// still judged by libpcap (so acceptance, error text, the DLT mapping and the
// snapshot length cannot differ); every record is read the way libpcap 1.10's
// sf-pcap.c reads it (test/golden/pcap_reader_test.cpp compares them on every
// test capture).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "source/capture_time.hpp"
#include "tcplife/source/packet_source.hpp"

namespace tcplife::source {

class PcapReader {
 public:
  // 256 KiB: the fastest of 64 KiB .. 4 MiB measured (docs/performance.md);
  // each read stays in the core's L2 cache until the packets in it are used.
  static constexpr std::size_t kDefaultBuffer = std::size_t{256} << 10;

  // Reads from `fd`, closed by the destructor when `owns_fd`. `prefix` holds
  // the bytes already read from it (the peeked magic); they come first.
  // `buffer_bytes` is the initial buffer (at least 64 bytes; it grows for a
  // record that does not fit, up to the largest record libpcap accepts).
  PcapReader(int fd, bool owns_fd, std::span<const std::uint8_t> prefix,
             std::size_t buffer_bytes = kDefaultBuffer);
  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Reads the 24-byte file header and lets libpcap judge it. False (and `why`
  // = libpcap's message, as pcap_fopen_offline gives it) if unusable.
  bool start(std::string& why);

  // The next record. `out.bytes` points into the buffer, valid until the next
  // call. End, Truncated and Error repeat once returned.
  ReadStatus next(core::PacketView& out) {
    // Fast path: a plain record wholly in the buffer.
    const std::size_t avail = end_ - begin_;
    if (plain_ && avail >= hdr_len_) [[likely]] {
      const std::uint8_t* h = buf_.get() + begin_;
      const std::uint32_t caplen = u32(h + 8);
      if (caplen <= plain_limit_ && avail - hdr_len_ >= caplen) [[likely]] {
        out.ts = timestamp(h);
        out.bytes = core::Bytes(h + hdr_len_, caplen);
        out.wire_len = u32(h + 12);
        out.index = index_++;
        out.linktype = linktype_;
        begin_ += hdr_len_ + caplen;
        return ReadStatus::Packet;
      }
    }
    return next_slow(out);
  }

  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] int linktype() const { return linktype_; }
  // Bytes of the input consumed so far (as ftell on libpcap's stream would say).
  [[nodiscard]] std::int64_t position() const { return static_cast<std::int64_t>(base_ + begin_); }
  [[nodiscard]] std::size_t buffer_size() const { return cap_; }

 private:
  // How caplen and len are stored (libpcap: version 2.3 files may have them
  // either way; before 2.3 and DG/UX's 543.0, len comes first).
  enum class Lengths : std::uint8_t { InOrder, Swapped, MaybeSwapped };

  std::uint32_t u32(const std::uint8_t* p) const {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return swapped_ ? __builtin_bswap32(v) : v;
  }
  // libpcap sign-extends the native-order fields (bpf_int32) and zero-extends
  // the byte-swapped ones (its swap yields an unsigned int): kept as it is.
  std::int64_t field(const std::uint8_t* p) const {
    const std::uint32_t v = u32(p);
    return swapped_ ? std::int64_t{v} : std::int64_t{static_cast<std::int32_t>(v)};
  }
  core::Timestamp timestamp(const std::uint8_t* h) const {
    return capture_time(field(h), field(h + 4) * frac_scale_);
  }

  ReadStatus next_slow(core::PacketView& out);
  ReadStatus stop(ReadStatus s, std::string msg);
  bool fill(std::size_t need);
  void grow(std::size_t need);
  void fix_pseudo_header(std::uint8_t* data, std::uint32_t caplen, std::uint32_t len) const;

  int fd_;
  bool owns_fd_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_;
  std::size_t begin_ = 0;   // first unconsumed byte
  std::size_t end_ = 0;     // end of the bytes read
  std::uint64_t base_ = 0;  // input offset of buf_[0]
  bool eof_ = false;
  int read_errno_ = 0;

  bool swapped_ = false;
  bool plain_ = false;  // records need no length quirk and no pseudo-header fix
  std::size_t hdr_len_ = 16;
  std::int64_t frac_scale_ = 1000;  // microseconds -> nanoseconds
  Lengths lengths_ = Lengths::InOrder;
  int linktype_ = 0;
  std::uint32_t snapshot_ = 0;     // libpcap's snapshot length for the file
  std::uint32_t max_caplen_ = 0;   // above this a record is corrupt
  std::uint32_t plain_limit_ = 0;  // min(snapshot_, max_caplen_)
  std::uint64_t index_ = 0;
  ReadStatus done_ = ReadStatus::Packet;  // End/Truncated/Error once reached
  std::string error_;
};

// libpcap 1.10's largest acceptable record for a DLT (max_snaplen_for_dlt).
std::uint32_t max_caplen_for_dlt(int dlt) noexcept;

}  // namespace tcplife::source
