// SPDX-License-Identifier: MIT
// Saved captures: classic pcap through the built-in reader (or libpcap with
// --reader libpcap); pcapng through libpcap, with the built-in pcapng reader
// taking over where libpcap refuses a valid pcapng file.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "source/capture_time.hpp"
#include "source/pcap_reader.hpp"
#include "source/pcapng_reader.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/source/packet_source.hpp"

namespace tcplife::source {
namespace {

// libpcap reads files through stdio; its default 4 KiB buffer costs a read()
// per 4 KiB. 64 KiB measured fastest here (docs/performance.md). glibc ignores
// the size when setvbuf gets no buffer, so we pass one we own; it must outlive
// the FILE and be installed before the first read.
constexpr std::size_t kStdioBuffer = 64 * 1024;
using IoBuffer = std::unique_ptr<char[]>;

// fopen + setvbuf with a buffer of ours, before any I/O on the stream.
std::FILE* open_buffered(const char* path, IoBuffer& buf) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return nullptr;
  buf = std::make_unique_for_overwrite<char[]>(kStdioBuffer);
  std::setvbuf(f, buf.get(), _IOFBF, kStdioBuffer);
  return f;
}

// The same over a descriptor we opened, rewound to the start. Closes `fd` on failure.
std::FILE* fdopen_buffered(int fd, IoBuffer& buf) {
  ::lseek(fd, 0, SEEK_SET);
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return nullptr;
  }
  buf = std::make_unique_for_overwrite<char[]>(kStdioBuffer);
  std::setvbuf(f, buf.get(), _IOFBF, kStdioBuffer);
  return f;
}

// read(2) until `n` bytes or the end of the input; how many were read.
std::size_t read_up_to(int fd, std::uint8_t* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return got;
}

constexpr std::uint32_t kPcapngMagic = 0x0A0D0D0A;

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

bool known_magic(const std::uint8_t m[4]) {
  static constexpr std::array<std::uint32_t, 5> kMagics = {
      0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34, kPcapngMagic, 0x0};
  const std::uint32_t be = std::uint32_t{m[0]} << 24 | std::uint32_t{m[1]} << 16 |
                           std::uint32_t{m[2]} << 8 | m[3];
  const std::uint32_t le = std::uint32_t{m[3]} << 24 | std::uint32_t{m[2]} << 16 |
                           std::uint32_t{m[1]} << 8 | m[0];
  for (std::size_t i = 0; i + 1 < kMagics.size(); ++i)
    if (be == kMagics[i] || le == kMagics[i]) return true;
  return false;
}

bool is_pcapng_magic(const std::uint8_t m[4]) {
  return m[0] == 0x0A && m[1] == 0x0D && m[2] == 0x0D && m[3] == 0x0A;
}

// pcapng policy: libpcap reads first; wherever it stops on a seekable pcapng file
// (it refuses interfaces of different link types or snap lengths, sections of
// different byte orders, resolutions it cannot scale, and misreads what follows
// a byte-order change), the built-in reader takes over and has the last word.
// So a pcapng file and the same bytes on stdin (always the built-in reader)
// give the same packets and the same error.

// A stdio stream over stdin that first replays the bytes we peeked at, so the
// format can be sniffed on a pipe without losing them (libpcap's readers only;
// the built-in classic pcap reader takes the peeked bytes itself).
struct PeekedStdin {
  std::array<std::uint8_t, 4> head{};
  std::size_t head_len = 0;
  std::size_t head_pos = 0;
  int fd = STDIN_FILENO;
};

ssize_t peeked_read(void* cookie, char* buf, size_t size) {
  auto* p = static_cast<PeekedStdin*>(cookie);
  std::size_t n = 0;
  while (n < size && p->head_pos < p->head_len) buf[n++] = static_cast<char>(p->head[p->head_pos++]);
  if (n > 0) return static_cast<ssize_t>(n);
  for (;;) {
    const ssize_t r = ::read(p->fd, buf, size);
    if (r >= 0 || errno != EINTR) return r;
  }
}

int peeked_close(void* cookie) {
  delete static_cast<PeekedStdin*>(cookie);
  return 0;
}

class OfflineSource final : public PacketSource {
 public:
  OfflineSource(std::string path, bool seekable) : path_(std::move(path)), seekable_(seekable) {}

  bool open_libpcap(std::FILE* f, OpenError& err) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
      std::fclose(f);
      err = {OpenError::Kind::Corrupt, display_name() + ": cannot read capture header: " + errbuf};
      return false;
    }
    pcap_.reset(p);
    file_ = f;
    format_ = pcap_datalink(p) >= 0 && is_ng_ ? "pcapng" : "pcap";
    linktypes_.push_back(pcap_datalink(p));
    return true;
  }

  // Hands `f` (owned from now on) to the built-in reader and reads the section
  // header. False (and `err` set) if that header is unusable.
  bool use_pcapng_reader(std::FILE* f, OpenError& err) {
    ng_ = std::make_unique<PcapngReader>(f);
    format_ = "pcapng";
    std::string why;
    if (ng_->start(why)) return true;
    err = {OpenError::Kind::Corrupt, display_name() + ": cannot read capture header: " + why};
    return false;
  }

  [[nodiscard]] std::string display_name() const {
    return path_ == "-" ? std::string("<stdin>") : path_;
  }

  // Reads classic pcap with the built-in reader (owned from now on). False
  // (and `err` set) if the file header is unusable.
  bool use_pcap_reader(std::unique_ptr<PcapReader> reader, OpenError& err) {
    std::string why;
    if (!reader->start(why)) {
      err = {OpenError::Kind::Corrupt, display_name() + ": cannot read capture header: " + why};
      return false;
    }
    reader_ = std::move(reader);
    format_ = "pcap";
    linktypes_.push_back(reader_->linktype());
    return true;
  }

  void set_is_ng(bool ng) { is_ng_ = ng; }
  void adopt_buffer(IoBuffer buf) { iobuf_ = std::move(buf); }

  ReadStatus next(core::PacketView& out) override {
    for (;;) {
      const ReadStatus st = read_one(out);
      if (st != ReadStatus::Packet) return st;
      if (!passes_filter(out)) {
        ++filtered_;
        continue;
      }
      return st;
    }
  }

  const std::string& error() const override { return error_; }

  std::vector<int> linktypes() const override {
    return ng_ ? ng_->linktypes() : linktypes_;
  }

  std::int64_t position() const override {
    if (reader_) return seekable_ ? reader_->position() : -1;
    if (ng_) return ng_->position();
    if (file_ == nullptr || !seekable_) return -1;
    const long p = std::ftell(file_);
    return p < 0 ? -1 : static_cast<std::int64_t>(p);
  }

  std::string format() const override { return format_; }

  bool set_filter(const std::string& expr, std::string& err) override {
    filter_expr_ = expr;
    // Compile once now for the first link type, to report syntax errors up front.
    const std::vector<int> lts = linktypes();
    const int lt = lts.empty() ? DLT_EN10MB : lts.front();
    return compiled_for(lt, err) != nullptr;
  }

  std::uint64_t filtered_out() const override { return filtered_; }

  ~OfflineSource() override {
    for (auto& f : filters_) pcap_freecode(&f.prog);
  }

 private:
  struct Filter {
    int linktype;
    bpf_program prog;
    bool ok;
  };

  ReadStatus read_one(core::PacketView& out) {
    if (reader_) {
      const ReadStatus st = reader_->next(out);
      if (st != ReadStatus::Packet) [[unlikely]]
        error_ = reader_->error();
      return st;
    }
    if (ng_) {
      for (;;) {
        const ReadStatus st = ng_->next(out);
        if (st != ReadStatus::Packet) {
          error_ = ng_->error();
          return st;
        }
        // After a switch from libpcap: skip what libpcap already delivered.
        if (out.index >= skip_) return st;
      }
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    if (rc == 1) {
      // libpcap's pcapng reader scales 64-bit times into tv_sec: clamp, never overflow.
      out.ts = capture_time(static_cast<std::int64_t>(hdr->ts.tv_sec),
                            static_cast<std::int64_t>(hdr->ts.tv_usec));
      out.bytes = core::Bytes(data, hdr->caplen);
      out.wire_len = hdr->len;
      out.index = index_++;
      out.linktype = linktypes_.front();
      return ReadStatus::Packet;
    }
    if (rc == PCAP_ERROR_BREAK) return ReadStatus::End;  // -2: end of file
    const char* msg = pcap_geterr(pcap_.get());
    if (is_ng_ && seekable_) {
      // Reopen with the built-in reader and skip what libpcap already delivered.
      pcap_.reset();  // closes the old stream before its buffer is replaced
      std::FILE* f = open_buffered(path_.c_str(), iobuf_);
      if (f != nullptr) {
        skip_ = index_;
        file_ = nullptr;
        OpenError ignored;
        if (!use_pcapng_reader(f, ignored)) {
          error_ = ng_->error();
          return ReadStatus::Error;
        }
        return read_one(out);
      }
    }
    error_ = msg;
    return std::strstr(msg, "truncated") != nullptr ? ReadStatus::Truncated : ReadStatus::Error;
  }

  const bpf_program* compiled_for(int linktype, std::string& err) {
    for (auto& f : filters_)
      if (f.linktype == linktype) return f.ok ? &f.prog : nullptr;
    Filter f{linktype, {}, false};
    pcap_t* dead = pcap_open_dead(linktype, 262144);
    if (dead != nullptr) {
      f.ok = pcap_compile(dead, &f.prog, filter_expr_.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
      if (!f.ok) err = pcap_geterr(dead);
      pcap_close(dead);
    }
    filters_.push_back(f);
    return f.ok ? &filters_.back().prog : nullptr;
  }

  bool passes_filter(const core::PacketView& pkt) {
    if (filter_expr_.empty()) return true;
    std::string err;
    const bpf_program* prog = compiled_for(pkt.linktype, err);
    if (prog == nullptr) return false;  // the expression means nothing for this link type
    pcap_pkthdr h{};
    h.caplen = static_cast<bpf_u_int32>(pkt.bytes.size());
    h.len = pkt.wire_len;
    return pcap_offline_filter(prog, &h, pkt.bytes.data()) != 0;
  }

  std::string path_;
  bool seekable_;
  bool is_ng_ = false;
  IoBuffer iobuf_;  // the stream's buffer: declared before the streams, so it outlives them
  std::unique_ptr<PcapReader> reader_;  // classic pcap, built-in reader
  PcapHandle pcap_;
  std::FILE* file_ = nullptr;  // owned by pcap_
  std::unique_ptr<PcapngReader> ng_;
  std::uint64_t index_ = 0;
  std::uint64_t skip_ = 0;
  std::vector<int> linktypes_;
  std::string format_;
  std::string error_;
  std::string filter_expr_;
  std::vector<Filter> filters_;
  std::uint64_t filtered_ = 0;
};

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

std::unique_ptr<PacketSource> open_file(const std::string& path, OpenError& err,
                                        PcapReaderKind kind) {
  const bool is_stdin = path == "-";
  int fd = STDIN_FILENO;
  std::uint8_t magic[4] = {};
  const std::string name = is_stdin ? std::string("<stdin>") : path;

  if (!is_stdin) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int e = errno;
      err = {e == ENOENT ? OpenError::Kind::NotFound
                         : (e == EACCES ? OpenError::Kind::Permission : OpenError::Kind::Other),
             name + ": " + (e == ENOENT ? std::string("no such file") : errno_text(e))};
      return nullptr;
    }
    if (S_ISDIR(st.st_mode)) {
      err = {OpenError::Kind::Other, name + ": is a directory, not a capture file"};
      return nullptr;
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      err = {e == EACCES ? OpenError::Kind::Permission : OpenError::Kind::Other,
             name + ": cannot open: " + errno_text(e)};
      return nullptr;
    }
  }
  // Peek with read(2), never through stdio: whichever reader follows gets every byte.
  const std::size_t got = read_up_to(fd, magic, 4);
  const auto close_fd = [&] {
    if (!is_stdin) ::close(fd);
  };

  if (got == 0) {
    close_fd();
    err = {OpenError::Kind::Empty, name + ": empty file (0 bytes), not a capture"};
    return nullptr;
  }
  if (got < 4 || !known_magic(magic)) {
    close_fd();
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
    err = {OpenError::Kind::NotCapture,
           name + ": not a pcap or pcapng capture (starts with 0x" +
               std::string(hex, got < 4 ? got * 2 : 8) + ")"};
    return nullptr;
  }

  auto src = std::make_unique<OfflineSource>(path, !is_stdin);
  src->set_is_ng(is_pcapng_magic(magic));
  if (!is_pcapng_magic(magic) && kind != PcapReaderKind::Libpcap) {
    PcapReader::Options opts;
    opts.map = kind == PcapReaderKind::BuiltinMapped;
    auto reader =
        std::make_unique<PcapReader>(fd, !is_stdin, std::span<const std::uint8_t>(magic), opts);
    if (!src->use_pcap_reader(std::move(reader), err)) return nullptr;
  } else {
    IoBuffer iobuf;
    std::FILE* f = nullptr;
    if (is_stdin) {
      auto* cookie = new PeekedStdin;
      for (std::size_t i = 0; i < got; ++i) cookie->head[i] = magic[i];
      cookie->head_len = got;
      cookie->fd = fd;
      cookie_io_functions_t io{peeked_read, nullptr, nullptr, peeked_close};
      f = fopencookie(cookie, "rb", io);
      if (f == nullptr) {
        delete cookie;
        err = {OpenError::Kind::Other, name + ": cannot read standard input"};
        return nullptr;
      }
      iobuf = std::make_unique_for_overwrite<char[]>(kStdioBuffer);
      std::setvbuf(f, iobuf.get(), _IOFBF, kStdioBuffer);
    } else {
      f = fdopen_buffered(fd, iobuf);
      if (f == nullptr) {
        const int e = errno;
        err = {OpenError::Kind::Other, name + ": cannot open: " + errno_text(e)};
        return nullptr;
      }
    }
    src->adopt_buffer(std::move(iobuf));
    if (is_stdin && is_pcapng_magic(magic)) {
      // libpcap cannot be restarted on a pipe, so pcapng from stdin uses the built-in reader.
      if (!src->use_pcapng_reader(f, err)) return nullptr;
      return src;
    }
    if (!src->open_libpcap(f, err)) {
      if (is_pcapng_magic(magic) && !is_stdin) {
        // Wherever libpcap stops on pcapng, the built-in reader decides (see above).
        IoBuffer gbuf;
        std::FILE* g = open_buffered(path.c_str(), gbuf);
        if (g != nullptr) {
          auto ng = std::make_unique<OfflineSource>(path, true);
          ng->adopt_buffer(std::move(gbuf));
          ng->set_is_ng(true);
          err = {};
          if (!ng->use_pcapng_reader(g, err)) return nullptr;
          return ng;
        }
      }
      return nullptr;
    }
  }
  const std::vector<int> lts = src->linktypes();
  if (!is_pcapng_magic(magic) && !lts.empty() && !decode::linktype_supported(lts.front())) {
    const char* dlt_name = pcap_datalink_val_to_name(lts.front());
    err = {OpenError::Kind::UnsupportedLinkType,
           name + ": unsupported link type " + std::to_string(lts.front()) +
               (dlt_name != nullptr ? std::string(" (") + dlt_name + ")" : std::string())};
    return nullptr;
  }
  return src;
}

}  // namespace tcplife::source
