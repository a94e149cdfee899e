// SPDX-License-Identifier: MIT
// Built-in reader for classic pcap files (issue 8). libpcap's pcap_next_ex
// copies every record from the stdio buffer into its own; this reader read(2)s
// large blocks into one buffer (or, with Options::map, maps a regular file in
// windows) and hands out views into the buffer or the window. The file header is
// still judged by libpcap (so acceptance, error text, the DLT mapping and the
// snapshot length cannot differ); every record is read the way libpcap 1.10's
// sf-pcap.c reads it (test/golden/pcap_reader_test.cpp compares them on every
// test capture).
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "source/capture_time.hpp"
#include "tcplife/source/packet_source.hpp"

namespace tcplife::source {

struct MapGuard;  // pcap_reader.cpp: a mapped window, for the SIGBUS handler

class PcapReader {
 public:
  // 256 KiB: the fastest of 64 KiB .. 4 MiB measured (docs/performance.md);
  // each read stays in the core's L2 cache until the packets in it are used.
  static constexpr std::size_t kDefaultBuffer = std::size_t{256} << 10;

  // 4 MiB windows: mapping one costs ~1 µs per page, whatever its size; the
  // window is all the capture that is resident for tcplife at a time.
  static constexpr std::size_t kMapWindow = std::size_t{4} << 20;

  struct Options {
    // read(2) mode: the initial buffer (at least 64 bytes; it grows for a
    // record that does not fit, up to the largest record libpcap accepts).
    std::size_t buffer = kDefaultBuffer;
    // Map a regular file instead of reading it, `window` bytes at a time
    // (rounded up to whole pages; a larger record gets a larger window).
    // Off by default: on this project's virtual machines mapping and
    // unmapping windows (page-table changes the hypervisor must follow)
    // cost more than read(2)'s copy; on 2026-12-06 the default JSON run of
    // the 1 GB bench capture took 0.76 s of CPU reading, 1.22 s mapping
    // (docs/performance.md, "Reading: read(2) again").
    bool map = false;
    std::size_t window = kMapWindow;
  };

  // Reads from `fd`, closed by the destructor when `owns_fd`. `prefix` holds
  // the bytes already read from it (the peeked magic); they come first. With
  // `opts.map`, a regular file whose offset is known is mapped (unless mapping
  // fails); anything else is read.
  PcapReader(int fd, bool owns_fd, std::span<const std::uint8_t> prefix, Options opts);
  PcapReader(int fd, bool owns_fd, std::span<const std::uint8_t> prefix)
      : PcapReader(fd, owns_fd, prefix, Options{}) {}
  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Reads the 24-byte file header and lets libpcap judge it. False (and `why`
  // = libpcap's message, as pcap_fopen_offline gives it) if unusable.
  bool start(std::string& why);

  // The next record. `out.bytes` points into the window or buffer, valid
  // until the next call. End, Truncated and Error repeat once returned.
  ReadStatus next(core::PacketView& out) {
    // Fast path: a plain record wholly in the window or buffer.
    const std::size_t avail = end_ - begin_;
    if (plain_ && avail >= hdr_len_) [[likely]] {
      const std::uint8_t* h = mem_ + begin_;
      const std::uint32_t caplen = u32(h + 8);
      if (caplen <= plain_limit_ && avail - hdr_len_ >= caplen && settled(h, hdr_len_ + caplen))
          [[likely]] {
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
  // read(2) mode: the buffer's size now.
  [[nodiscard]] std::size_t buffer_size() const { return cap_; }
  // Whether the file is being mapped (else read).
  [[nodiscard]] bool mapped() const { return guard_ != nullptr; }

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

  // Mapped mode: true if the record at `h` (`n` bytes, in the window) is
  // really in the file. Its pages are touched here, so a file cut shorter
  // since it was mapped shows (MapGuard) before the record is handed out.
  bool settled(const std::uint8_t* h, std::size_t n) {
    if (guard_ == nullptr) return true;
    // Each record header's place depends on the one before, so without help
    // every record would wait for memory: keep the next kAhead bytes coming
    // into the cache, as read(2)'s copy would have put them there.
    const std::uint8_t* ahead = std::min<const std::uint8_t*>(h + kAhead, mem_ + end_);
    for (; prefetched_ < ahead; prefetched_ += 64) __builtin_prefetch(prefetched_);
    static_cast<void>(*static_cast<const volatile std::uint8_t*>(h + n - 1));
    if (n > kPage) touch_pages(h, n);
    return !guard_lost();
  }
  bool guard_lost() const;
  static void touch_pages(const std::uint8_t* h, std::size_t n);

  ReadStatus next_slow(core::PacketView& out);
  ReadStatus stop(ReadStatus s, std::string msg);
  [[nodiscard]] std::string read_error_text() const;
  bool fill(std::size_t need);
  bool fill_mapped(std::size_t need);
  bool shrunk();
  void unmap();
  void grow(std::size_t need);
  void fix_pseudo_header(std::uint8_t* data, std::uint32_t caplen, std::uint32_t len) const;

  static constexpr std::size_t kPage = 4096;  // touch stride; at most the real page size
  static constexpr std::size_t kAhead = 8192;  // prefetch distance in the window

  int fd_;
  bool owns_fd_;
  std::unique_ptr<std::uint8_t[]> buf_;  // read(2) mode
  std::size_t cap_;
  std::uint8_t* mem_ = nullptr;  // buf_ or the mapped window
  std::size_t begin_ = 0;        // first unconsumed byte of mem_
  std::size_t end_ = 0;          // end of the bytes read or mapped
  std::uint64_t base_ = 0;       // input offset of mem_[0]
  bool eof_ = false;
  int read_errno_ = 0;

  // Mapped mode.
  MapGuard* guard_ = nullptr;        // registers the window for SIGBUS
  void* map_ = nullptr;               // the window, map_len_ bytes
  std::size_t map_len_ = 0;
  std::size_t window_ = 0;
  const std::uint8_t* prefetched_ = nullptr;  // the window is in the cache up to here
  std::uint64_t file_size_ = 0;          // as of the last fstat
  std::vector<std::uint8_t> scratch_;  // a record whose pseudo-header is fixed

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
