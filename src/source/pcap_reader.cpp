// SPDX-License-Identifier: MIT
#include "source/pcap_reader.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>

namespace tcplife::source {
namespace {

constexpr std::size_t kFileHeader = 24;
constexpr std::size_t kRecordHeader = 16;
constexpr std::size_t kPatchedRecordHeader = 24;  // Kuznetzov's: + index, protocol, type, pad
constexpr std::size_t kMinBuffer = 64;

constexpr std::uint32_t kMagicUsec = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNsec = 0xa1b23c4d;
constexpr std::uint32_t kMagicKuznetzov = 0xa1b2cd34;

// Link types whose pseudo-header libpcap converts to host order in files of the
// other byte order, among those tcplife decodes (libpcap also converts USB and
// pflog headers: tcplife refuses those link types before reading a record).
constexpr int kDltLinuxSll = 113;
constexpr int kDltLinuxSll2 = 276;
constexpr int kDltNflog = 239;
constexpr std::uint16_t kSllProtoCan = 0x000C;
constexpr std::uint16_t kSllProtoCanFd = 0x000D;
constexpr std::size_t kSllLen = 16, kSll2Len = 20;

std::string format(const char* fmt, auto... args) {
  std::array<char, 160> b{};
  std::snprintf(b.data(), b.size(), fmt, args...);
  return std::string(b.data());
}

void swap16_at(std::uint8_t* p) { std::swap(p[0], p[1]); }
void swap32_at(std::uint8_t* p) {
  std::swap(p[0], p[3]);
  std::swap(p[1], p[2]);
}
std::uint16_t host16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// libpcap's verdict on the file header, given its first bytes (24 or fewer):
// pcap_fopen_offline on those bytes in memory. Its DLT and snapshot length.
bool libpcap_header(std::span<const std::uint8_t> head, int& dlt, std::uint32_t& snapshot,
                    std::string& why) {
  std::array<std::uint8_t, kFileHeader> copy{};
  std::copy(head.begin(), head.end(), copy.begin());
  std::FILE* f = fmemopen(copy.data(), head.size(), "rb");
  if (f == nullptr) {
    why = format("cannot examine the file header: %s", std::strerror(errno));
    return false;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);
    why = errbuf;
    return false;
  }
  dlt = pcap_datalink(p);
  snapshot = static_cast<std::uint32_t>(pcap_snapshot(p));
  pcap_close(p);  // closes f
  return true;
}

}  // namespace

std::uint32_t max_caplen_for_dlt(int dlt) noexcept {
  // libpcap 1.10: 128 MiB for D-Bus, 8 MiB for EBHSCR, 1 MiB for USBPcap,
  // MAXIMUM_SNAPLEN (256 KiB) for everything else.
  switch (dlt) {
    case DLT_DBUS:
      return 128u << 20;
    case DLT_EBHSCR:
      return 8u << 20;
    case DLT_USBPCAP:
      return 1u << 20;
    default:
      return 262144;
  }
}

PcapReader::PcapReader(int fd, bool owns_fd, std::span<const std::uint8_t> prefix,
                       std::size_t buffer_bytes)
    : fd_(fd), owns_fd_(owns_fd), cap_(std::max({buffer_bytes, kMinBuffer, prefix.size()})) {
  buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(cap_);
  std::copy(prefix.begin(), prefix.end(), buf_.get());
  end_ = prefix.size();
}

PcapReader::~PcapReader() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool PcapReader::start(std::string& why) {
  if (!fill(kFileHeader)) {
    why = format("error reading dump file: %s", std::strerror(read_errno_));
    return false;
  }
  const std::size_t got = std::min(end_ - begin_, kFileHeader);
  if (!libpcap_header(std::span(buf_.get(), got), linktype_, snapshot_, why)) return false;

  // libpcap accepted it, so the magic is one of its three, in one byte order or the other.
  std::uint32_t magic;
  std::memcpy(&magic, buf_.get(), sizeof magic);
  swapped_ = magic != kMagicUsec && magic != kMagicNsec && magic != kMagicKuznetzov;
  if (swapped_) magic = __builtin_bswap32(magic);
  const std::uint8_t* h = buf_.get();
  std::uint16_t major, minor;
  std::memcpy(&major, h + 4, 2);
  std::memcpy(&minor, h + 6, 2);
  if (swapped_) {
    major = __builtin_bswap16(major);
    minor = __builtin_bswap16(minor);
  }
  frac_scale_ = magic == kMagicNsec ? 1 : 1000;
  hdr_len_ = magic == kMagicKuznetzov ? kPatchedRecordHeader : kRecordHeader;
  // Version 2.3 swapped caplen and len to match BPF; some 2.3 writers did not.
  if (major == 543 || (major == 2 && minor < 3))
    lengths_ = Lengths::Swapped;
  else if (major == 2 && minor == 3)
    lengths_ = Lengths::MaybeSwapped;
  else
    lengths_ = Lengths::InOrder;
  max_caplen_ = max_caplen_for_dlt(linktype_);
  plain_limit_ = std::min(snapshot_, max_caplen_);
  const bool fixes_pseudo_header =
      swapped_ &&
      (linktype_ == kDltLinuxSll || linktype_ == kDltLinuxSll2 || linktype_ == kDltNflog);
  plain_ = lengths_ == Lengths::InOrder && !fixes_pseudo_header;
  begin_ = kFileHeader;
  return true;
}

ReadStatus PcapReader::stop(ReadStatus s, std::string msg) {
  done_ = s;
  plain_ = false;  // the fast path must not read past where we stopped
  error_ = std::move(msg);
  return s;
}

// Grows the buffer to hold `need` unconsumed bytes: only for a record larger
// than the buffer, bounded by libpcap's largest acceptable record.
void PcapReader::grow(std::size_t need) {
  const std::size_t new_cap = std::bit_ceil(need);
  auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(new_cap);
  std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
  base_ += begin_;
  end_ -= begin_;
  begin_ = 0;
  buf_ = std::move(bigger);
  cap_ = new_cap;
}

// Makes at least `need` bytes available past begin_ (fewer only at end of
// input). Moves the unconsumed tail to the front, then reads as much as fits,
// but waits for no more than `need`: a pipe delivers packets as they come.
// False on a read error (read_errno_ set).
bool PcapReader::fill(std::size_t need) {
  if (end_ - begin_ >= need || eof_) return true;
  if (need > cap_) grow(need);
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    base_ += begin_;
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ < need) {
    const ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
    } else if (n == 0) {
      eof_ = true;
      break;
    } else if (errno == EINTR) {
      continue;  // SIGINT/SIGTERM: the pipeline checks its stop flag after this packet
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd_, POLLIN, 0};  // a non-blocking stdin: wait for it
      ::poll(&p, 1, -1);
    } else {
      read_errno_ = errno;
      return false;
    }
  }
  return true;
}

// libpcap converts a few pseudo-headers written in the other byte order
// (swap_pseudo_headers): the CAN ID behind a Linux cooked header whose protocol
// is CAN or CAN FD, and the type and length of every NFLOG TLV.
void PcapReader::fix_pseudo_header(std::uint8_t* data, std::uint32_t caplen,
                                   std::uint32_t len) const {
  if (linktype_ == kDltLinuxSll || linktype_ == kDltLinuxSll2) {
    const std::size_t hl = linktype_ == kDltLinuxSll ? kSllLen : kSll2Len;
    if (caplen < hl || len < hl) return;
    const std::uint16_t proto = core::load_be16(data + (linktype_ == kDltLinuxSll ? 14 : 0));
    if (proto != kSllProtoCan && proto != kSllProtoCanFd) return;
    if (caplen < hl + 4 || len < hl + 4) return;
    swap32_at(data + hl);
    return;
  }
  if (linktype_ != kDltNflog) return;
  if (caplen < 4 || len < 4 || data[1] != 0) return;  // too short, or not NFLOG version 0
  std::uint32_t cap_left = caplen - 4, len_left = len - 4;
  std::uint8_t* p = data + 4;
  while (cap_left >= 4) {
    swap16_at(p);      // length
    swap16_at(p + 2);  // type
    // libpcap 1.10 rounds up in 16 bits: a length of 0xFFFD..0xFFFF becomes 0 and ends the walk.
    std::uint16_t size = host16(p);
    if (size % 4 != 0) size = static_cast<std::uint16_t>(size + 4 - size % 4);
    if (size < 4 || cap_left < size || len_left < size) return;
    cap_left -= size;
    len_left -= size;
    p += size;
  }
}

ReadStatus PcapReader::next_slow(core::PacketView& out) {
  if (done_ != ReadStatus::Packet) return done_;
  if (!fill(hdr_len_))
    return stop(ReadStatus::Error,
                format("error reading dump file: %s", std::strerror(read_errno_)));
  std::size_t avail = end_ - begin_;
  if (avail == 0) return stop(ReadStatus::End, {});
  if (avail < hdr_len_) {
    begin_ = end_;
    return stop(ReadStatus::Truncated,
                format("truncated dump file; tried to read %zu header bytes, only got %zu",
                       hdr_len_, avail));
  }
  const std::uint8_t* h = buf_.get() + begin_;
  const core::Timestamp ts = timestamp(h);
  std::uint32_t caplen = u32(h + 8);
  std::uint32_t len = u32(h + 12);
  if (lengths_ == Lengths::Swapped || (lengths_ == Lengths::MaybeSwapped && caplen > len))
    std::swap(caplen, len);

  if (caplen > max_caplen_) {
    begin_ += hdr_len_;  // libpcap has read the header and stops there
    // A bogus record: libpcap names the snapshot length when it is exceeded too.
    return stop(ReadStatus::Error,
                caplen > snapshot_
                    ? format("invalid packet capture length %u, bigger than snaplen of %d", caplen,
                             static_cast<int>(snapshot_))
                    : format("invalid packet capture length %u, bigger than maximum of %u", caplen,
                             max_caplen_));
  }
  // A record above the snapshot length (but not bogus) is cut to it; the rest
  // is read and dropped, so it must be there too.
  const std::size_t need = hdr_len_ + caplen;
  if (!fill(need))
    return stop(ReadStatus::Error,
                format("error reading dump file: %s", std::strerror(read_errno_)));
  avail = end_ - begin_;
  if (avail < need) {
    const std::size_t got = avail - hdr_len_;
    begin_ = end_;
    const std::uint32_t tried = caplen > snapshot_ && got < snapshot_ ? snapshot_ : caplen;
    return stop(
        ReadStatus::Truncated,
        format("truncated dump file; tried to read %u captured bytes, only got %zu", tried, got));
  }
  std::uint8_t* data = buf_.get() + begin_ + hdr_len_;
  const std::uint32_t kept = std::min(caplen, snapshot_);
  if (swapped_) fix_pseudo_header(data, kept, len);
  begin_ += need;
  out.ts = ts;
  out.bytes = core::Bytes(data, kept);
  out.wire_len = len;
  out.index = index_++;
  out.linktype = linktype_;
  return ReadStatus::Packet;
}

}  // namespace tcplife::source
