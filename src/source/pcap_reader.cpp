// SPDX-License-Identifier: MIT
#include "source/pcap_reader.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <mutex>

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

constexpr int kShrunk = -1;  // read_errno_: the mapped file got shorter

}  // namespace

// A mapped window, for the SIGBUS handler. A file cut shorter while mapped
// raises SIGBUS on the pages past its new end; the handler puts zero pages
// there (so the access that faulted completes) and sets `lost`. The reader
// checks `lost` after touching a record and before handing it out, so no
// record is taken from the zeros: it reports that the file shrank instead.
struct MapGuard {
  std::atomic<std::uintptr_t> lo{0}, hi{0};  // [lo, hi): the window; hi 0 when none
  std::atomic<bool> lost{false};
  std::atomic<bool> taken{false};
};

namespace {

// One per reader mapping at once; a reader that finds none free reads instead.
constexpr std::size_t kGuards = 16;
std::array<MapGuard, kGuards> g_guards;
struct sigaction g_previous {};
std::uintptr_t g_page = 4096;
std::once_flag g_installed;
bool g_handler_ok = false;

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (MapGuard& g : g_guards) {
    const std::uintptr_t hi = g.hi.load(), lo = g.lo.load();
    if (addr < lo || addr >= hi) continue;
    const std::uintptr_t page = addr & ~(g_page - 1);
    void* z = ::mmap(reinterpret_cast<void*>(page), hi - page, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (z == MAP_FAILED) break;  // cannot repair: die as without a handler
    g.lost.store(true);
    return;
  }
  // Not a window's fault: what would have happened without this handler.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, ctx);
    return;
  }
  if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
      g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(sig, SIG_DFL);  // the access runs again and ends the process
}

MapGuard* take_guard() {
  std::call_once(g_installed, [] {
    const long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) g_page = static_cast<std::uintptr_t>(page);
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    g_handler_ok = ::sigaction(SIGBUS, &sa, &g_previous) == 0;
  });
  if (!g_handler_ok) return nullptr;
  for (MapGuard& g : g_guards) {
    bool expected = false;
    if (g.taken.compare_exchange_strong(expected, true)) {
      g.lost.store(false);
      return &g;
    }
  }
  return nullptr;
}

}  // namespace

bool PcapReader::guard_lost() const { return guard_->lost.load(std::memory_order_relaxed); }

void PcapReader::touch_pages(const std::uint8_t* h, std::size_t n) {
  for (std::size_t i = 0; i < n; i += kPage)
    static_cast<void>(*static_cast<const volatile std::uint8_t*>(h + i));
}

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
                       Options opts)
    : fd_(fd), owns_fd_(owns_fd), cap_(std::max({opts.buffer, kMinBuffer, prefix.size()})) {
  // A regular file at a known offset is mapped from where the prefix began.
  struct stat st {};
  const off_t at = opts.map && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                       ? ::lseek(fd, 0, SEEK_CUR)
                       : off_t{-1};
  if (at >= static_cast<off_t>(prefix.size()) && (guard_ = take_guard()) != nullptr) {
    base_ = static_cast<std::uint64_t>(at) - prefix.size();
    file_size_ = static_cast<std::uint64_t>(st.st_size);
    const std::size_t page = g_page;
    window_ = (std::max(opts.window, page) + page - 1) / page * page;
    return;  // the first fill maps the first window
  }
  buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(cap_);
  mem_ = buf_.get();
  std::copy(prefix.begin(), prefix.end(), mem_);
  end_ = prefix.size();
}

PcapReader::~PcapReader() {
  unmap();
  if (guard_ != nullptr) guard_->taken.store(false);
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void PcapReader::unmap() {
  if (map_ == nullptr) return;
  guard_->hi.store(0);
  guard_->lo.store(0);
  ::munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
}

// Mapped mode: maps the window holding the next `need` bytes from the
// current record on (fewer only at the end of the file). The file's size is
// read again at each window: a file still being written is read on as far as
// it has got, as read(2) would; one cut shorter than what was mapped is an
// error (shrunk()).
bool PcapReader::fill_mapped(std::size_t need) {
  const std::uint64_t pos = base_ + begin_;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    read_errno_ = errno;
    return false;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < base_ + end_ || (guard_lost())) {
    file_size_ = size;
    read_errno_ = kShrunk;
    return false;
  }
  file_size_ = size;
  unmap();
  mem_ = nullptr;
  const std::uint64_t wbase = pos & ~static_cast<std::uint64_t>(g_page - 1);
  const std::uint64_t wend = std::min(std::max(pos + need, wbase + window_), size);
  base_ = pos;
  begin_ = end_ = 0;
  if (wend <= pos) {
    eof_ = true;
    return true;
  }
  void* m = ::mmap(nullptr, wend - wbase, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_,
                   static_cast<off_t>(wbase));
  if (m == MAP_FAILED) {
    read_errno_ = errno;
    return false;
  }
  map_ = m;
  map_len_ = wend - wbase;
  guard_->lost.store(false);
  guard_->lo.store(reinterpret_cast<std::uintptr_t>(m));
  guard_->hi.store(reinterpret_cast<std::uintptr_t>(m) + map_len_);
  mem_ = static_cast<std::uint8_t*>(m);
  prefetched_ = mem_ + (pos - wbase);
  base_ = wbase;
  begin_ = pos - wbase;
  end_ = map_len_;
  if (end_ - begin_ < need) eof_ = true;
  return true;
}

bool PcapReader::start(std::string& why) {
  const bool filled = fill(kFileHeader);
  const std::size_t got = std::min(end_ - begin_, kFileHeader);
  if (!filled || (got > 0 && !settled(mem_ + begin_, got))) {
    if (filled) read_errno_ = kShrunk;
    why = read_error_text();
    return false;
  }
  const std::uint8_t* h = mem_ + begin_;
  if (!libpcap_header(std::span(h, got), linktype_, snapshot_, why)) return false;

  // libpcap accepted it, so the magic is one of its three, in one byte order or the other.
  std::uint32_t magic;
  std::memcpy(&magic, h, sizeof magic);
  swapped_ = magic != kMagicUsec && magic != kMagicNsec && magic != kMagicKuznetzov;
  if (swapped_) magic = __builtin_bswap32(magic);
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
  begin_ += kFileHeader;
  return true;
}

std::string PcapReader::read_error_text() const {
  if (read_errno_ == kShrunk)
    return format("the file shrank to %llu bytes while being read (at byte %llu)",
                  static_cast<unsigned long long>(file_size_),
                  static_cast<unsigned long long>(base_ + begin_));
  return format("error reading dump file: %s", std::strerror(read_errno_));
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
  mem_ = buf_.get();
  cap_ = new_cap;
}

// Makes at least `need` bytes available past begin_ (fewer only at end of
// input). Moves the unconsumed tail to the front, then reads as much as fits,
// but waits for no more than `need`: a pipe delivers packets as they come.
// False on a read error (read_errno_ set).
bool PcapReader::fill(std::size_t need) {
  if (end_ - begin_ >= need || eof_) return true;
  if (guard_ != nullptr) return fill_mapped(need);
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
  if (guard_ != nullptr && guard_lost()) {
    read_errno_ = kShrunk;
    struct stat st {};
    if (::fstat(fd_, &st) == 0) file_size_ = static_cast<std::uint64_t>(st.st_size);
    return stop(ReadStatus::Error, read_error_text());
  }
  if (!fill(hdr_len_)) return stop(ReadStatus::Error, read_error_text());
  std::size_t avail = end_ - begin_;
  if (avail == 0) return stop(ReadStatus::End, {});
  if (avail < hdr_len_) {
    begin_ = end_;
    return stop(ReadStatus::Truncated,
                format("truncated dump file; tried to read %zu header bytes, only got %zu",
                       hdr_len_, avail));
  }
  if (!settled(mem_ + begin_, hdr_len_)) return next_slow(out);  // reports the shrink
  const std::uint8_t* h = mem_ + begin_;
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
  if (!fill(need)) return stop(ReadStatus::Error, read_error_text());
  avail = end_ - begin_;
  if (avail < need) {
    const std::size_t got = avail - hdr_len_;
    begin_ = end_;
    const std::uint32_t tried = caplen > snapshot_ && got < snapshot_ ? snapshot_ : caplen;
    return stop(
        ReadStatus::Truncated,
        format("truncated dump file; tried to read %u captured bytes, only got %zu", tried, got));
  }
  if (!settled(mem_ + begin_, need)) return next_slow(out);  // reports the shrink
  std::uint8_t* data = mem_ + begin_ + hdr_len_;
  const std::uint32_t kept = std::min(caplen, snapshot_);
  if (swapped_) {
    if (guard_ != nullptr) {  // the window is read-only: fix a copy
      scratch_.assign(data, data + kept);
      data = scratch_.data();
    }
    fix_pseudo_header(data, kept, len);
  }
  begin_ += need;
  out.ts = ts;
  out.bytes = core::Bytes(data, kept);
  out.wire_len = len;
  out.index = index_++;
  out.linktype = linktype_;
  return ReadStatus::Packet;
}

}  // namespace tcplife::source
