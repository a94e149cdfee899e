// SPDX-License-Identifier: MIT
// The built-in classic pcap reader against libpcap (issue 8): on every test
// capture (testdata/pcap, hostile, regress, and ../shared/corpus/files when
// present) and on crafted files for each header and record quirk, both readers
// give the same packets (time, lengths, bytes, index, link type), the same end
// (status, message, byte offset) and the same open error. Also: small buffers
// (refills, growth, headers split across reads), stdin from a pipe written in
// dribbles, and the CLI's --reader.
#include "source/pcap_reader.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/shell.hpp"
#include "tcplife/source/packet_source.hpp"

namespace {

namespace fs = std::filesystem;
using tcplife::core::PacketView;
using tcplife::source::OpenError;
using tcplife::source::PacketSource;
using tcplife::source::PcapReader;
using tcplife::source::PcapReaderKind;
using tcplife::source::ReadStatus;

struct Packet {
  std::int64_t ts_ns = 0;
  std::uint32_t wire_len = 0;
  std::vector<std::uint8_t> bytes;
  std::uint64_t index = 0;
  int linktype = 0;
  bool operator==(const Packet&) const = default;
};

// Everything a reader says about one input.
struct Reading {
  bool opened = false;
  OpenError::Kind open_kind = OpenError::Kind::None;
  std::string open_message;
  std::vector<int> linktypes;
  std::string format;
  std::vector<Packet> packets;
  ReadStatus end = ReadStatus::End;
  std::string error;
  std::int64_t position = -1;
};

Packet copy_of(const PacketView& v) {
  return {v.ts.ns, v.wire_len, {v.bytes.begin(), v.bytes.end()}, v.index, v.linktype};
}

template <typename Source>
void drain(Source& src, Reading& r) {
  PacketView v;
  for (;;) {
    const ReadStatus st = src.next(v);
    if (st != ReadStatus::Packet) {
      r.end = st;
      r.error = src.error();
      break;
    }
    r.packets.push_back(copy_of(v));
  }
  r.position = src.position();
}

Reading read_with(const std::string& path, PcapReaderKind kind) {
  Reading r;
  OpenError err;
  std::unique_ptr<PacketSource> src = tcplife::source::open_file(path, err, kind);
  if (!src) {
    r.open_kind = err.kind;
    r.open_message = err.message;
    return r;
  }
  r.opened = true;
  r.linktypes = src->linktypes();
  r.format = src->format();
  drain(*src, r);
  return r;
}

void require_same(const Reading& a, const Reading& b) {
  REQUIRE(a.opened == b.opened);
  CHECK(a.open_kind == b.open_kind);
  CHECK(a.open_message == b.open_message);
  CHECK(a.linktypes == b.linktypes);
  CHECK(a.format == b.format);
  REQUIRE(a.packets.size() == b.packets.size());
  for (std::size_t i = 0; i < a.packets.size(); ++i) {
    INFO("packet " << i);
    const Packet& p = a.packets[i];
    const Packet& q = b.packets[i];
    CHECK(p.ts_ns == q.ts_ns);
    CHECK(p.wire_len == q.wire_len);
    CHECK(p.index == q.index);
    CHECK(p.linktype == q.linktype);
    CHECK(p.bytes.size() == q.bytes.size());
    CHECK(p.bytes == q.bytes);
  }
  CHECK(a.end == b.end);
  CHECK(a.error == b.error);
  CHECK(a.position == b.position);
}

void require_same_readers(const std::string& path) {
  INFO(path);
  const Reading lib = read_with(path, PcapReaderKind::Libpcap);
  const Reading own = read_with(path, PcapReaderKind::Builtin);
  require_same(own, lib);
  const Reading mapped = read_with(path, PcapReaderKind::BuiltinMapped);
  require_same(mapped, lib);
}

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_classic_pcap(const std::vector<std::uint8_t>& b) {
  if (b.size() < 4) return false;
  const std::uint32_t le = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 |
                           std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
  const std::uint32_t be = __builtin_bswap32(le);
  for (std::uint32_t m : {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u})
    if (le == m || be == m) return true;
  return false;
}

// Every capture the tests know, plus the shared corpus when it is checked out.
std::vector<std::string> every_capture() {
  std::vector<std::string> files;
  const fs::path root(TCPLIFE_SOURCE_DIR);
  for (const char* d : {"testdata/pcap", "testdata/hostile", "testdata/regress"})
    for (const auto& e : fs::recursive_directory_iterator(root / d))
      if (e.is_regular_file() && e.path().filename() != "MANIFEST.tsv" &&
          e.path().filename() != "README.md")
        files.push_back(e.path().string());
  const fs::path corpus = root.parent_path() / "shared" / "corpus" / "files";
  std::error_code ec;
  if (fs::is_directory(corpus, ec))
    for (const auto& e : fs::recursive_directory_iterator(corpus, ec))
      if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

struct TempFile {
  explicit TempFile(const std::string& tag)
      : path((fs::temp_directory_path() /
              ("tcplife_pcap_reader." + tag + "." + std::to_string(getpid())))
                 .string()) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void write(const std::vector<std::uint8_t>& b) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

// A classic pcap written field by field, in either byte order.
class PcapBuilder {
 public:
  PcapBuilder(bool big_endian, std::uint32_t magic, std::uint16_t major, std::uint16_t minor,
              std::uint32_t snaplen, std::uint32_t linktype, std::size_t extra_record_bytes = 0)
      : big_(big_endian), extra_(extra_record_bytes) {
    u32(magic);
    u16(major);
    u16(minor);
    u32(0);
    u32(0);
    u32(snaplen);
    u32(linktype);
  }
  // caplen/len as written in the record header; `data` as many bytes as follow.
  PcapBuilder& record(std::uint32_t sec, std::uint32_t frac, std::uint32_t caplen,
                      std::uint32_t len, const std::vector<std::uint8_t>& data) {
    u32(sec);
    u32(frac);
    u32(caplen);
    u32(len);
    bytes_.insert(bytes_.end(), extra_, 0xEE);
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return *this;
  }
  PcapBuilder& record(std::uint32_t sec, std::uint32_t frac, const std::vector<std::uint8_t>& d) {
    const auto n = static_cast<std::uint32_t>(d.size());
    return record(sec, frac, n, n, d);
  }
  [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  void u16(std::uint16_t v) {
    if (big_) v = __builtin_bswap16(v);
    bytes_.push_back(static_cast<std::uint8_t>(v & 0xff));
    bytes_.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    if (big_) v = __builtin_bswap32(v);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  bool big_;
  std::size_t extra_;
  std::vector<std::uint8_t> bytes_;
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed = 1) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

// A minimal Ethernet + IPv4 + TCP frame of `n` bytes (n >= 54), so the whole pipeline has work.
std::vector<std::uint8_t> frame(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> f = pattern(n, seed);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  return f;
}

constexpr std::uint32_t kUsec = 0xa1b2c3d4, kNsec = 0xa1b23c4d, kKuz = 0xa1b2cd34;
constexpr std::uint32_t kEn10mb = 1;

// Crafted files: name -> bytes. Each is compared reader against reader.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> crafted() {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
  const auto add = [&](std::string name, const PcapBuilder& b) {
    out.emplace_back(std::move(name), b.bytes());
  };
  for (bool big : {false, true}) {
    const std::string bo = big ? "be_" : "le_";
    for (std::uint32_t magic : {kUsec, kNsec}) {
      const std::string m = magic == kUsec ? "usec_" : "nsec_";
      PcapBuilder b(big, magic, 2, 4, 65535, kEn10mb);
      b.record(1700000000, 123456, frame(60, 1))
          .record(0x7fffffff, 999999, frame(54, 2))
          .record(0x80000000, 0x80000000, frame(70, 3))  // high bits: signed or not, as libpcap
          .record(0xffffffff, 0xffffffff, frame(54, 4))
          .record(5, 2000000000, frame(54, 5))   // fraction past a second
          .record(7, 0, 0, 0, {})                // empty record
          .record(8, 1, 54, 1514, frame(54, 6))  // cut by the snap length
          .record(9, 1, 60, 54, frame(60, 7));   // caplen > len: kept as is
      add(bo + m + "times_and_lengths", b);
    }
    // Kuznetzov's patched format: 24-byte record headers; libpcap adds 14 to an Ethernet snaplen.
    PcapBuilder k(big, kKuz, 2, 4, 100, kEn10mb, 8);
    k.record(1, 2, frame(60, 1))
        .record(3, 4, 114, 114, frame(114, 2))
        .record(5, 6, 115, 115, frame(115, 3));
    add(bo + "kuznetzov", k);
    // Versions: before 2.3 caplen and len are swapped; 2.3 maybe; DG/UX 543.0 swapped.
    for (auto [major, minor] :
         std::vector<std::pair<std::uint16_t, std::uint16_t>>{{2, 0}, {2, 2}, {2, 3}, {543, 0}}) {
      PcapBuilder v(big, kUsec, major, minor, 65535, kEn10mb);
      v.record(1, 1, 1514, 60, frame(60, 1))  // len-first order
          .record(2, 2, 54, 60, frame(54, 2))
          .record(3, 3, 60, 60, frame(60, 3))
          .record(4, 4, 61, 60, frame(61, 4));  // 2.3: one over, so swapped
      add(bo + "version_" + std::to_string(major) + "_" + std::to_string(minor), v);
    }
    for (auto [major, minor] : std::vector<std::pair<std::uint16_t, std::uint16_t>>{
             {1, 0}, {2, 5}, {3, 0}, {543, 1}, {0, 0}}) {
      PcapBuilder v(big, kUsec, major, minor, 65535, kEn10mb);
      v.record(1, 1, frame(60, 1));
      add(bo + "bad_version_" + std::to_string(major) + "_" + std::to_string(minor), v);
    }
    // Snap lengths: 0 and above INT_MAX mean the maximum; a record above the
    // snap length is cut to it (the rest read and dropped); above the
    // maximum it is corrupt, named by the snaplen when that is exceeded too.
    for (std::uint32_t snap : {0u, 0x80000001u, 100u, 1000000u}) {
      PcapBuilder s(big, kUsec, 2, 4, snap, kEn10mb);
      s.record(1, 1, frame(60, 1))
          .record(2, 2, frame(150, 2))
          .record(3, 3, frame(5000, 3))
          .record(4, 4, frame(262144, 4))
          .record(5, 5, 262145, 262145, frame(262145, 5))
          .record(6, 6, frame(60, 6));
      add(bo + "snaplen_" + std::to_string(snap), s);
    }
    // Cut inside the kept part, and inside the dropped part, of a record above the snap length.
    for (std::size_t have : {50u, 100u, 150u}) {
      PcapBuilder c(big, kUsec, 2, 4, 100, kEn10mb);
      c.record(1, 1, frame(60, 1)).record(2, 2, 200, 200, frame(have, 2));
      add(bo + "cut_over_snaplen_" + std::to_string(have), c);
    }
    // Link types: FCS bits above the type are masked; LINKTYPE_RAW (101) is DLT_RAW.
    PcapBuilder fcs(big, kUsec, 2, 4, 65535, kEn10mb | 0x14000000);
    fcs.record(1, 1, frame(64, 1));
    add(bo + "linktype_fcs_bits", fcs);
    PcapBuilder raw(big, kUsec, 2, 4, 65535, 101);
    std::vector<std::uint8_t> ip = pattern(40, 3);
    ip[0] = 0x45;
    raw.record(1, 1, ip);
    add(bo + "linktype_raw_101", raw);
    PcapBuilder unk(big, kUsec, 2, 4, 65535, 147);
    unk.record(1, 1, pattern(20));
    add(bo + "linktype_unsupported", unk);
    // Pseudo-headers libpcap converts when the file's byte order is not ours:
    // the CAN ID behind a Linux cooked header (SLL, SLL2), NFLOG TLV types and lengths.
    for (std::uint32_t lt : {113u, 276u}) {
      PcapBuilder sll(big, kUsec, 2, 4, 65535, lt);
      const std::size_t proto_at = lt == 113 ? 14 : 0, hl = lt == 113 ? 16 : 20;
      for (std::uint16_t proto : std::vector<std::uint16_t>{0x000C, 0x000D, 0x000E, 0x0800}) {
        for (std::size_t n : {hl + 8, hl + 4, hl + 3, hl, hl - 1}) {
          std::vector<std::uint8_t> d = pattern(n, static_cast<std::uint8_t>(proto));
          if (n >= proto_at + 2) {
            d[proto_at] = static_cast<std::uint8_t>(proto >> 8);
            d[proto_at + 1] = static_cast<std::uint8_t>(proto & 0xff);
          }
          sll.record(1, 1, d);
          sll.record(2, 2, static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(hl + 2), d);
        }
      }
      add(bo + "pseudo_sll_" + std::to_string(lt), sll);
    }
    PcapBuilder nf(big, kUsec, 2, 4, 262144, 239);
    // TLV type and length are in the writer's byte order, the file's.
    const auto put16 = [big](std::vector<std::uint8_t>& d, std::uint16_t v) {
      const auto hi = static_cast<std::uint8_t>(v >> 8), lo = static_cast<std::uint8_t>(v & 0xff);
      d.push_back(big ? hi : lo);
      d.push_back(big ? lo : hi);
    };
    const auto tlv = [&](std::vector<std::uint8_t>& d, std::uint16_t len, std::uint16_t type,
                         std::size_t body) {
      put16(d, len);
      put16(d, type);
      const std::vector<std::uint8_t> b = pattern(body, static_cast<std::uint8_t>(type));
      d.insert(d.end(), b.begin(), b.end());
    };
    for (std::uint16_t first : std::vector<std::uint16_t>{8, 5, 3, 0, 0xFFFF, 0xFFFD}) {
      std::vector<std::uint8_t> d = {2, 0, 0, 1};
      tlv(d, first, 1, first == 0xFFFF || first == 0xFFFD ? 70000 : 4);
      tlv(d, 8, 9, 4);
      nf.record(1, 1, d);
    }
    std::vector<std::uint8_t> v1 = {2, 1, 0, 1};  // version 1: left alone
    tlv(v1, 8, 9, 4);
    nf.record(2, 2, v1);
    add(bo + "pseudo_nflog", nf);
    // Truncations at every byte of a small file: the header, a record header, record data.
    PcapBuilder t(big, kUsec, 2, 4, 65535, kEn10mb);
    t.record(1, 1, frame(60, 1)).record(2, 2, frame(54, 2));
    for (std::size_t cut = 0; cut < t.bytes().size(); ++cut)
      out.emplace_back(
          bo + "cut_" + std::to_string(cut),
          std::vector<std::uint8_t>(t.bytes().begin(), t.bytes().begin() + static_cast<long>(cut)));
  }
  return out;
}

// read(2) mode with an initial buffer of `bytes`; mapped mode with windows of `bytes`.
PcapReader::Options reading(std::size_t bytes) { return {.buffer = bytes, .map = false}; }
PcapReader::Options mapping(std::size_t bytes) { return {.map = true, .window = bytes}; }

// The built-in reader alone on the file at `path`.
Reading read_builtin(const std::string& path, PcapReader::Options opts) {
  Reading r;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::uint8_t magic[4];
  REQUIRE(::read(fd, magic, 4) == 4);
  PcapReader reader(fd, true, std::span<const std::uint8_t>(magic), opts);
  CHECK(reader.mapped() == opts.map);
  std::string why;
  if (!reader.start(why)) {
    r.error = why;
    return r;
  }
  r.opened = true;
  r.linktypes = {reader.linktype()};
  drain(reader, r);
  PacketView v;
  CHECK(reader.next(v) == r.end);  // once stopped, it stays stopped
  return r;
}

// Writes `bytes` into `fd` in pieces of random size (1..max_piece), then closes it.
void dribble(int fd, std::vector<std::uint8_t> bytes, std::size_t max_piece, unsigned seed) {
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t n = std::min(bytes.size() - at, 1 + rng() % max_piece);
    const ssize_t w = ::write(fd, bytes.data() + at, n);
    if (w <= 0) break;
    at += static_cast<std::size_t>(w);
    if (rng() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  ::close(fd);
}

using tcplife::test::shell;

// open_file("-") with standard input a pipe fed in dribbles.
Reading read_stdin_pipe(const std::string& path, PcapReaderKind kind, std::size_t max_piece) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const int saved = ::dup(STDIN_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
  ::close(fds[0]);
  std::thread writer(dribble, fds[1], slurp(path), max_piece, 7u);
  Reading r = read_with("-", kind);
  // Unread input stays in the pipe: drain it so the writer can finish.
  std::uint8_t sink[4096];
  while (::read(STDIN_FILENO, sink, sizeof sink) > 0) {
  }
  writer.join();
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return r;
}

}  // namespace

TEST_CASE("pcap reader: every test capture reads the same as through libpcap", "[pcap_reader]") {
  const auto files = every_capture();
  REQUIRE(files.size() >= 60);
  std::size_t classic = 0;
  for (const std::string& f : files) {
    require_same_readers(f);
    classic += is_classic_pcap(slurp(f)) ? 1u : 0u;
  }
  CHECK(classic >= 50);
}

TEST_CASE("pcap reader: crafted headers and records read the same as through libpcap",
          "[pcap_reader]") {
  const TempFile tmp("crafted");
  const auto files = crafted();
  REQUIRE(files.size() > 100);
  for (const auto& [name, bytes] : files) {
    INFO(name);
    tmp.write(bytes);
    require_same_readers(tmp.path);
    // open_file reads files (and maps them with --reader mmap): one-page windows as well.
    const Reading lib = read_with(tmp.path, PcapReaderKind::Libpcap);
    if (!lib.opened || bytes.size() < 4) continue;
    for (const PcapReader::Options& opts : {reading(PcapReader::kDefaultBuffer), mapping(4096)}) {
      INFO("mapped " << opts.map);
      Reading own = read_builtin(tmp.path, opts);
      own.format = lib.format;
      require_same(own, lib);
    }
  }
}

TEST_CASE("pcap reader: small buffers (refills, growth, split headers) change nothing",
          "[pcap_reader]") {
  std::vector<std::string> paths;
  for (const std::string& f : every_capture())
    if (is_classic_pcap(slurp(f))) paths.push_back(f);
  std::size_t grown = 0;
  for (const std::string& f : paths) {
    INFO(f);
    const Reading lib = read_with(f, PcapReaderKind::Libpcap);
    if (!lib.opened) continue;
    for (std::size_t buffer : {64u, 100u, 1000u, 4096u}) {
      INFO("buffer " << buffer);
      Reading own = read_builtin(f, reading(buffer));
      own.format = lib.format;
      require_same(own, lib);
      for (const Packet& p : own.packets) grown += p.bytes.size() + 16 > buffer ? 1u : 0u;
    }
    // Mapped: one- and two-page windows, remapped at nearly every record.
    for (std::size_t window : {4096u, 8192u}) {
      INFO("window " << window);
      Reading own = read_builtin(f, mapping(window));
      own.format = lib.format;
      require_same(own, lib);
    }
  }
  CHECK(grown > 0);
}

TEST_CASE("pcap reader: a record larger than the buffer grows it", "[pcap_reader]") {
  const TempFile tmp("big");
  PcapBuilder b(false, kUsec, 2, 4, 262144, kEn10mb);
  b.record(1, 1, frame(60, 1)).record(2, 2, frame(262144, 2)).record(3, 3, frame(100, 3));
  tmp.write(b.bytes());
  int fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  PcapReader r(fd, true, {}, reading(4096));
  std::string why;
  REQUIRE(r.start(why));
  PacketView v;
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 60);
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 262144);
  CHECK(std::equal(v.bytes.begin(), v.bytes.end(), frame(262144, 2).begin()));
  CHECK(r.buffer_size() >= 262144 + 16);
  CHECK(r.buffer_size() <= 2 * (262144 + 16));
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 100);
  CHECK(v.index == 2);
  CHECK(r.next(v) == ReadStatus::End);
  CHECK(r.position() == static_cast<std::int64_t>(b.bytes().size()));
}

TEST_CASE("pcap reader: a record larger than the window gets a window of its own",
          "[pcap_reader]") {
  const TempFile tmp("bigmap");
  PcapBuilder b(false, kUsec, 2, 4, 262144, kEn10mb);
  b.record(1, 1, frame(60, 1)).record(2, 2, frame(262144, 2)).record(3, 3, frame(100, 3));
  tmp.write(b.bytes());
  const int fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  PcapReader r(fd, true, {}, mapping(4096));
  REQUIRE(r.mapped());
  std::string why;
  REQUIRE(r.start(why));
  PacketView v;
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 60);
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 262144);
  CHECK(std::equal(v.bytes.begin(), v.bytes.end(), frame(262144, 2).begin()));
  REQUIRE(r.next(v) == ReadStatus::Packet);
  CHECK(v.bytes.size() == 100);
  CHECK(r.next(v) == ReadStatus::End);
  CHECK(r.position() == static_cast<std::int64_t>(b.bytes().size()));
}

TEST_CASE("pcap reader: a mapped file cut shorter while it is read is an error, not a crash",
          "[pcap_reader]") {
  // 200 records of 16 + 1000 bytes over ~50 pages, read in 16-page windows.
  constexpr std::size_t kWindow = 16 * 4096;
  PcapBuilder b(false, kUsec, 2, 4, 65535, kEn10mb);
  for (std::uint32_t i = 0; i < 200; ++i) b.record(i, 0, frame(1000, static_cast<std::uint8_t>(i)));
  const std::vector<std::uint8_t>& all = b.bytes();
  for (const std::size_t cut : {std::size_t{24 + 1016 * 30 + 500}, std::size_t{24 + 1016 * 30},
                                std::size_t{4096 * 3}, std::size_t{24 + 1016 * 120 + 7}}) {
    INFO("cut at " << cut);
    const TempFile tmp("shrink");
    tmp.write(all);
    const int fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    PcapReader r(fd, true, {}, mapping(kWindow));
    REQUIRE(r.mapped());
    std::string why;
    REQUIRE(r.start(why));
    PacketView v;
    REQUIRE(r.next(v) == ReadStatus::Packet);  // the first window is mapped now
    REQUIRE(::truncate(tmp.path.c_str(), static_cast<off_t>(cut)) == 0);
    // Records before the page the cut falls in are whole and exact. The rest
    // of that page reads as zeros (the kernel clears it; no signal comes), so a
    // record there may be bogus; none starts past that page.
    const std::size_t cut_page = cut / 4096 * 4096;
    std::size_t n = 1;
    ReadStatus st;
    for (;;) {
      const auto start = static_cast<std::size_t>(r.position());
      if ((st = r.next(v)) != ReadStatus::Packet) break;
      if (start + 1016 <= cut_page) {
        REQUIRE(start == 24 + n * 1016);
        REQUIRE(v.bytes.size() == 1000);
        CHECK(v.bytes[0] == static_cast<std::uint8_t>(n));
      } else {
        CHECK(start < cut_page + 4096);
      }
      ++n;
    }
    CHECK(r.next(v) == st);
    if (cut < kWindow) {
      CHECK(st == ReadStatus::Error);
      CHECK_THAT(r.error(), Catch::Matchers::StartsWith("the file shrank to " +
                                                        std::to_string(cut) +
                                                        " bytes while being read (at byte "));
    } else {
      // Cut past the mapped window: the next window sees the new size, and the
      // end reads as a file of that size would (here, a record cut short).
      const Reading copy = read_builtin(tmp.path, reading(PcapReader::kDefaultBuffer));
      CHECK(n == copy.packets.size());
      CHECK(st == copy.end);
      CHECK(r.error() == copy.error);
    }
  }
}

TEST_CASE("pcap reader: a record header split across refills", "[pcap_reader]") {
  const TempFile tmp("split");
  // 24-byte file header + records of 16 + 30 bytes: with a 64-byte buffer the
  // second record's header straddles the first refill, and so on.
  PcapBuilder b(true, kNsec, 2, 4, 65535, kEn10mb);
  for (std::uint32_t i = 0; i < 20; ++i)
    b.record(i, i * 1000 + 7, pattern(30 + i % 3, static_cast<std::uint8_t>(i)));
  tmp.write(b.bytes());
  const int fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  PcapReader r(fd, true, {}, reading(64));
  std::string why;
  REQUIRE(r.start(why));
  PacketView v;
  for (std::uint32_t i = 0; i < 20; ++i) {
    INFO(i);
    REQUIRE(r.next(v) == ReadStatus::Packet);
    CHECK(v.ts.ns == std::int64_t{i} * 1'000'000'000 + i * 1000 + 7);
    CHECK(v.bytes.size() == 30 + i % 3);
    CHECK(v.bytes[0] == static_cast<std::uint8_t>(i));
  }
  CHECK(r.next(v) == ReadStatus::End);
  CHECK(r.buffer_size() == 64);
}

TEST_CASE("pcap reader: truncated record header and data", "[pcap_reader]") {
  const TempFile tmp("trunc");
  PcapBuilder b(false, kUsec, 2, 4, 65535, kEn10mb);
  b.record(1, 1, frame(60, 1)).record(2, 2, frame(60, 2));
  const std::vector<std::uint8_t>& all = b.bytes();
  struct Case {
    std::size_t cut;
    ReadStatus end;
    const char* error;
  };
  for (const Case& c : {Case{24 + 76 + 7, ReadStatus::Truncated,
                             "truncated dump file; tried to read 16 header bytes, only got 7"},
                        Case{24 + 76 + 16 + 30, ReadStatus::Truncated,
                             "truncated dump file; tried to read 60 captured bytes, only got 30"},
                        Case{24 + 76 + 16, ReadStatus::Truncated,
                             "truncated dump file; tried to read 60 captured bytes, only got 0"},
                        Case{24 + 76, ReadStatus::End, ""}}) {
    INFO(c.cut);
    tmp.write(std::vector<std::uint8_t>(all.begin(), all.begin() + static_cast<long>(c.cut)));
    for (const PcapReader::Options& opts :
         {reading(64), reading(PcapReader::kDefaultBuffer), mapping(4096),
          mapping(PcapReader::kMapWindow)}) {
      INFO("mapped " << opts.map);
      const Reading r = read_builtin(tmp.path, opts);
      REQUIRE(r.packets.size() == 1);
      CHECK(r.end == c.end);
      CHECK(r.error == c.error);
      CHECK(r.position == static_cast<std::int64_t>(c.cut));
    }
    require_same_readers(tmp.path);
  }
}

TEST_CASE("pcap reader: stdin from a pipe reads the same as the file", "[pcap_reader]") {
  const fs::path dir = fs::path(TCPLIFE_SOURCE_DIR) / "testdata";
  for (const char* f : {"pcap/kernel_half_close.pcap", "pcap/crafted_handshake_nsec.pcap",
                        "hostile/frame_64k.pcap", "hostile/trunc_record_data.pcap",
                        "hostile/caplen_huge.pcap", "hostile/trunc_global_header.pcap"}) {
    const std::string path = (dir / f).string();
    INFO(path);
    Reading file = read_with(path, PcapReaderKind::Builtin);
    for (std::size_t piece : {1u, 7u, 5000u}) {
      INFO("pieces up to " << piece);
      Reading in = read_stdin_pipe(path, PcapReaderKind::Builtin, piece);
      // Standard input has no offset to report, and names itself <stdin>.
      CHECK(in.position == -1);
      in.position = file.position;
      if (!file.opened) {
        const auto at = file.open_message.find(':');
        CHECK(in.open_message == "<stdin>" + file.open_message.substr(at));
        in.open_message = file.open_message;
      }
      require_same(in, file);
    }
    const Reading lib = read_stdin_pipe(path, PcapReaderKind::Libpcap, 5000);
    CHECK(lib.packets == file.packets);
    CHECK(lib.end == file.end);
  }
}

TEST_CASE("cli: --reader libpcap, mmap and the built-in reader give the same report",
          "[pcap_reader][cli]") {
  const std::string bin = TCPLIFE_BINARY;
  const std::string dir = std::string(TCPLIFE_SOURCE_DIR) + "/testdata/pcap/";
  for (const char* f :
       {"kernel_half_close.pcap", "crafted_handshake_nsec.pcap", "kernel_port_reuse.pcap"}) {
    INFO(f);
    const std::string path = dir + f;
    std::string builtin, libpcap, mapped, piped;
    CHECK(shell(bin + " --json " + path, builtin) == 0);
    CHECK(shell(bin + " --reader libpcap --json " + path, libpcap) == 0);
    CHECK(shell(bin + " --reader mmap --json " + path, mapped) == 0);
    CHECK(shell("cat " + path + " | " + bin + " --reader builtin --json -", piped) == 0);
    CHECK(builtin == libpcap);
    CHECK(mapped == libpcap);
    CHECK(nlohmann::json::parse(builtin)["connections"] ==
          nlohmann::json::parse(piped)["connections"]);
  }
  // The BPF filter sees the same packets through either reader.
  const std::string filtered = dir + "kernel_port_reuse.pcap 'tcp[tcpflags] & tcp-syn != 0'";
  std::string builtin, libpcap;
  CHECK(shell(bin + " --json " + filtered, builtin) == 0);
  CHECK(shell(bin + " --reader libpcap --json " + filtered, libpcap) == 0);
  CHECK(builtin == libpcap);
  const auto doc = nlohmann::json::parse(builtin);
  CHECK(doc["packets"]["filtered_out"].get<int>() > 0);
  CHECK(doc["packets"]["read"].get<int>() > 0);
  std::string out;
  CHECK(shell(bin + " --reader stdio x.pcap 2>/dev/null", out) == 2);
}
