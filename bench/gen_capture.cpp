// SPDX-License-Identifier: MIT
// gen_capture: writes a large, deterministic pcap (Ethernet, microsecond
// timestamps, correct IPv4/TCP checksums) of simulated TCP traffic for the
// benchmark of issue 8. Memory is bounded by the connections open at once: the
// file is streamed through one fixed buffer.
//
// Modes:
//   mix       many concurrent connections, each a small discrete-event TCP
//             simulation (handshake with options, request/response exchanges
//             with heavy-tailed sizes, MSS-sized segments paced by a bottleneck,
//             slow start, an ACK every 1-2 segments or after 40 ms, window
//             scaling, a little loss - gaps or retransmissions - and
//             reordering, closes, resets, refusals, half-closes); IPv4 and IPv6.
//   synflood  one SYN from each of N spoofed sources (+ the server's SYN-ACK).
//   open      N connections that complete a handshake and one exchange and
//             stay open to the end of the capture.
//
// Same seed and options, same bytes (on one libm; the samplers use log/exp/pow).
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

static_assert(std::endian::native == std::endian::little, "checksum code assumes little-endian");

constexpr const char* kVersion = "gen_capture 2";

// ---------------------------------------------------------------- random ---

class Rng {
 public:
  Rng() { reseed(1); }
  explicit Rng(std::uint64_t seed) { reseed(seed); }
  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& v : s_) v = splitmix(x);
  }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t next() {  // xoshiro256**
    const std::uint64_t r = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return r;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(next() >> 32); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(double p) { return uniform() < p; }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  double pareto(double xm, double alpha) { return xm / std::pow(1.0 - uniform(), 1.0 / alpha); }

 private:
  std::array<std::uint64_t, 4> s_{};
};

std::uint64_t mix64(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a * 0x9E3779B97F4A7C15ULL + b;
  return Rng::splitmix(x);
}

// --------------------------------------------------------- pcap writing ---

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xFFFF);
}
void put32le(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// RFC 1071 sum of native-order 16-bit words (byte-order independent).
std::uint64_t csum_add(const std::uint8_t* p, std::size_t n, std::uint64_t acc) {
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    acc += (w & 0xFFFFFFFFu) + (w >> 32);
    p += 8;
    n -= 8;
  }
  while (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) acc += p[0];  // little-endian: the pad byte is the high half
  return acc;
}
std::uint16_t csum_fold(std::uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xFFFF);
}

class PcapWriter {
 public:
  PcapWriter(std::FILE* f, std::int64_t epoch_s) : f_(f), epoch_s_(epoch_s), buf_(kBuf) {
    std::uint8_t h[24];
    put32le(h, 0xa1b2c3d4);
    h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0;  // version 2.4
    put32le(h + 8, 0);                       // thiszone
    put32le(h + 12, 0);                      // sigfigs
    put32le(h + 16, 262144);                 // snaplen
    put32le(h + 20, 1);                      // LINKTYPE_ETHERNET
    std::memcpy(buf_.data(), h, 24);
    used_ = 24;
    bytes_ = 24;
  }
  // Space for one frame of at most `max_len` bytes; commit() with its length.
  std::uint8_t* frame(std::size_t max_len) {
    if (used_ + 16 + max_len > buf_.size()) flush();
    return buf_.data() + used_ + 16;
  }
  void commit(std::int64_t t_ns, std::uint32_t len) {
    std::uint8_t* r = buf_.data() + used_;
    const std::int64_t us = t_ns / 1000;
    put32le(r, static_cast<std::uint32_t>(epoch_s_ + us / 1000000));
    put32le(r + 4, static_cast<std::uint32_t>(us % 1000000));
    put32le(r + 8, len);
    put32le(r + 12, len);
    used_ += 16 + len;
    bytes_ += 16 + len;
    ++packets_;
  }
  bool flush() {
    if (used_ > 0 && std::fwrite(buf_.data(), 1, used_, f_) != used_) ok_ = false;
    used_ = 0;
    return ok_;
  }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
  [[nodiscard]] std::uint64_t packets() const { return packets_; }
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  static constexpr std::size_t kBuf = 4u << 20;
  std::FILE* f_;
  std::int64_t epoch_s_;
  std::vector<std::uint8_t> buf_;
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t packets_ = 0;
  bool ok_ = true;
};

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

using Addr = std::array<std::uint8_t, 16>;  // IPv4 in the first 4 bytes

struct FrameSpec {
  bool v6 = false;
  const Addr* src = nullptr;
  const Addr* dst = nullptr;
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t win = 0;
  const std::uint8_t* opts = nullptr;
  std::size_t opt_len = 0;  // multiple of 4
  const std::uint8_t* payload = nullptr;
  std::size_t payload_len = 0;
  std::uint16_t ip_id = 0;
  std::uint8_t ttl = 64;
  std::uint32_t flow_label = 0;
  bool to_server = true;  // picks the MAC pair
};

constexpr std::size_t kMaxFrame = 14 + 40 + 60 + 1500;

std::size_t build_frame(std::uint8_t* out, const FrameSpec& f) {
  static constexpr std::uint8_t kRouter[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  static constexpr std::uint8_t kServerMac[6] = {0x02, 0x00, 0x5e, 0x20, 0x00, 0x02};
  std::memcpy(out, f.to_server ? kServerMac : kRouter, 6);
  std::memcpy(out + 6, f.to_server ? kRouter : kServerMac, 6);
  put16(out + 12, f.v6 ? 0x86DD : 0x0800);
  std::uint8_t* ip = out + 14;
  const std::size_t tcp_len = 20 + f.opt_len + f.payload_len;
  std::uint8_t* tcp;
  std::uint64_t acc = 0;
  if (!f.v6) {
    tcp = ip + 20;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, static_cast<std::uint32_t>(20 + tcp_len));
    put16(ip + 4, f.ip_id);
    put16(ip + 6, 0x4000);  // DF
    ip[8] = f.ttl;
    ip[9] = 6;
    put16(ip + 10, 0);
    std::memcpy(ip + 12, f.src->data(), 4);
    std::memcpy(ip + 16, f.dst->data(), 4);
    const std::uint16_t ipsum = csum_fold(csum_add(ip, 20, 0));
    std::memcpy(ip + 10, &ipsum, 2);
    std::uint8_t pseudo[12];
    std::memcpy(pseudo, f.src->data(), 4);
    std::memcpy(pseudo + 4, f.dst->data(), 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, static_cast<std::uint32_t>(tcp_len));
    acc = csum_add(pseudo, 12, 0);
  } else {
    tcp = ip + 40;
    put32(ip, 0x60000000u | (f.flow_label & 0xFFFFF));
    put16(ip + 4, static_cast<std::uint32_t>(tcp_len));
    ip[6] = 6;
    ip[7] = f.ttl;
    std::memcpy(ip + 8, f.src->data(), 16);
    std::memcpy(ip + 24, f.dst->data(), 16);
    std::uint8_t pseudo[40];
    std::memcpy(pseudo, f.src->data(), 16);
    std::memcpy(pseudo + 16, f.dst->data(), 16);
    put32(pseudo + 32, static_cast<std::uint32_t>(tcp_len));
    put32(pseudo + 36, 6);
    acc = csum_add(pseudo, 40, 0);
  }
  put16(tcp, f.sport);
  put16(tcp + 2, f.dport);
  put32(tcp + 4, f.seq);
  put32(tcp + 8, f.ack);
  tcp[12] = static_cast<std::uint8_t>(((20 + f.opt_len) / 4) << 4);
  tcp[13] = f.flags;
  put16(tcp + 14, f.win);
  put16(tcp + 16, 0);
  put16(tcp + 18, 0);
  if (f.opt_len > 0) std::memcpy(tcp + 20, f.opts, f.opt_len);
  if (f.payload_len > 0) std::memcpy(tcp + 20 + f.opt_len, f.payload, f.payload_len);
  const std::uint16_t tsum = csum_fold(csum_add(tcp, tcp_len, acc));
  std::memcpy(tcp + 16, &tsum, 2);
  return static_cast<std::size_t>(tcp - out) + tcp_len;
}

// TCP options as Linux lays them out.
struct OptBuilder {
  std::array<std::uint8_t, 40> b{};
  std::size_t n = 0;
  void nop() { b[n++] = 1; }
  void mss(std::uint16_t v) {
    b[n++] = 2, b[n++] = 4;
    put16(&b[n], v);
    n += 2;
  }
  void sack_perm() { b[n++] = 4, b[n++] = 2; }
  void ts(std::uint32_t val, std::uint32_t ecr) {
    b[n++] = 8, b[n++] = 10;
    put32(&b[n], val);
    put32(&b[n + 4], ecr);
    n += 8;
  }
  void wscale(std::uint8_t s) { b[n++] = 3, b[n++] = 3, b[n++] = s; }
  void syn(std::uint16_t mss_v, bool sack, bool ts_on, std::uint32_t tsval, std::uint32_t tsecr,
           bool ws, std::uint8_t shift) {
    mss(mss_v);
    if (sack && ts_on) {
      sack_perm();
      ts(tsval, tsecr);
    } else if (sack) {
      nop(), nop(), sack_perm();
    } else if (ts_on) {
      nop(), nop(), ts(tsval, tsecr);
    }
    if (ws) nop(), wscale(shift);
  }
};

// Random payload bytes, so retransmissions of a sequence range carry the same bytes.
std::vector<std::uint8_t> make_pattern(std::uint64_t seed) {
  std::vector<std::uint8_t> p((1u << 16) + 2048);
  Rng r(mix64(seed, 0x5eed));
  for (std::size_t i = 0; i < p.size(); i += 8) {
    const std::uint64_t v = r.next();
    std::memcpy(&p[i], &v, 8);
  }
  return p;
}

// ------------------------------------------------------------- options ---

struct Options {
  std::string mode = "mix";
  std::string out = "capture.pcap";
  std::uint64_t bytes = 1000000000ULL;  // 1 GB
  std::uint64_t seed = 1;
  std::uint32_t concurrency = 2000;
  std::uint64_t count = 1000000;  // synflood sources / open connections
  double rate = 100000;           // synflood SYNs/s, open connections/s
  double synack = 1.0;            // synflood: share of SYNs the server answers
  double v6 = 0.25;
  double loss_scale = 1.0;
  double warmup_s = 1.0;
  std::int64_t epoch_s = 1700000000;
  bool quiet = false;
};

bool parse_size(const char* s, std::uint64_t& out) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || v < 0) return false;
  double mult = 1;
  const std::string_view suf(end);
  if (suf.empty())
    mult = 1;
  else if (suf == "k" || suf == "K")
    mult = 1e3;
  else if (suf == "M")
    mult = 1e6;
  else if (suf == "G")
    mult = 1e9;
  else if (suf == "Ki")
    mult = 1024.0;
  else if (suf == "Mi")
    mult = 1024.0 * 1024;
  else if (suf == "Gi")
    mult = 1024.0 * 1024 * 1024;
  else
    return false;
  out = static_cast<std::uint64_t>(v * mult);
  return true;
}

void usage() {
  std::fprintf(
      stderr,
      "usage: gen_capture [options] -o FILE.pcap   (FILE '-' = stdout)\n"
      "  --mode mix|synflood|open|behind  traffic (default mix); behind: --count\n"
      "                  connections that open, exchange and close, all after\n"
      "                  one that opens first and stays open to the end\n"
      "  --bytes N       mix: stop once the file reaches N bytes (default 1G = 1e9;\n"
      "                  suffixes k M G decimal, Ki Mi Gi binary)\n"
      "  --seed S        (default 1)\n"
      "  --concurrency N mix: connections in progress at once (default 2000)\n"
      "  --v6 F          share of IPv6 connections (default 0.25)\n"
      "  --loss-scale F  mix: multiply loss and reordering rates (default 1; 0 = none)\n"
      "  --warmup S      mix: seconds simulated before the capture starts (default 1)\n"
      "  --count N       synflood: spoofed sources; open, behind: connections (default 1M)\n"
      "  --rate R        synflood: SYNs/s; open, behind: new connections/s (default 100000)\n"
      "  --synack F      synflood: share of SYNs answered by a SYN-ACK (default 1)\n"
      "  --quiet         no summary on stderr\n"
      "  --version\n");
}

// --------------------------------------------------------- mix: the sim ---

enum class Plan : std::uint8_t {
  CloseClient,     // four-way, client's FIN first
  CloseServer,     // four-way, server's FIN first (with its last response)
  ThreeWay,        // client FIN, server FIN+ACK, client ACK
  HalfClose,       // client FIN right after its last request; server answers, then FIN
  ResetClient,     // client aborts (RST+ACK) after the last response
  ResetClientMid,  // client aborts in the middle of a large response
  ResetServer,     // server aborts after an idle gap
  Refused,         // RST+ACK answers the SYN
  Unanswered,      // SYN, retransmitted, never answered
  kCount
};
constexpr std::array<const char*, static_cast<std::size_t>(Plan::kCount)> kPlanNames = {
    "close_client",     "close_server", "three_way", "half_close", "reset_client",
    "reset_client_mid", "reset_server", "refused",   "unanswered"};

struct Range {
  std::uint32_t b = 0, e = 0;
};

struct Pkt {
  std::uint32_t seq = 0;  // relative to the sender's ISN (SYN = 0)
  std::uint32_t ack = 0;  // relative to the receiver's ISN
  std::array<Range, 3> sack{};
  std::uint32_t tsval = 0, tsecr = 0;
  std::uint16_t len = 0;
  std::uint16_t win = 0;  // raw window field
  std::uint8_t flags = 0;
  std::uint8_t nsack = 0;
  std::uint8_t from = 0;  // 0 client, 1 server
  bool write = true;      // seen by the capture (false: lost before the capture point)
  bool deliver = true;    // reaches the receiver (false: lost)
  bool retx = false;
};

enum class EvKind : std::uint8_t { Start, Observe, Deliver, Timer };
enum class Tm : std::uint8_t { SynRetx, Request, Respond, Close, Abort, DelAck, Rto };

struct Event {
  std::int64_t t = 0;
  std::uint64_t order = 0;
  std::uint32_t slot = 0;
  std::uint32_t token = 0;
  EvKind kind = EvKind::Timer;
  Tm tm = Tm::DelAck;
  std::uint8_t side = 0;
  Pkt pkt;
};
struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.t != b.t ? a.t > b.t : a.order > b.order;
  }
};

struct Endpoint {
  // sending, relative to our ISN (SYN = 0, first data byte = 1)
  std::uint32_t isn = 0;
  std::uint32_t snd_una = 0, snd_nxt = 0, app_end = 1;
  bool fin_queued = false, fin_sent = false;
  std::uint32_t cwnd = 10, ssthresh = 1u << 30, cwnd_acc = 0;
  std::uint8_t dupacks = 0;
  bool in_recovery = false;
  std::uint32_t recover = 0;
  bool loss_out = false, loss_retx = false, reorder_out = false;
  std::uint32_t lost_seq = 0, reorder_seq = 0, loss_token = 0;
  std::uint16_t lost_len = 0;
  std::int64_t next_tx = INT64_MIN;
  std::uint32_t peer_wnd = 65535;
  // receiving, relative to the peer's ISN
  std::uint32_t rcv_nxt = 0;
  bool syn_rcvd = false, fin_known = false, fin_rcvd = false;
  std::uint32_t peer_fin_seq = 0;
  std::array<Range, 4> ooo{};
  std::uint8_t nooo = 0;
  std::uint16_t segs_unacked = 0;
  std::uint32_t delack_token = 0;
  bool delack_armed = false;
  std::uint64_t tx_count = 0;
  std::uint32_t ts_recent = 0, ts_offset = 0;
  // stack
  std::uint16_t mss_offer = 1460;
  std::uint8_t ws = 7;
  bool ws_offer = true, sack_offer = true, ts_offer = true;
  std::uint32_t rwnd = 65535;
  std::uint16_t syn_win = 64240;
  std::uint16_t ip_id = 0;
  std::uint8_t ttl = 64;
  std::uint32_t flow = 0;
  std::uint8_t ack_every = 2;
  bool established = false, dead = false;
  std::uint32_t syn_token = 0;
  std::uint8_t syn_tries = 0;
};

struct Conn {
  bool live = false;
  std::uint32_t pending = 0;
  Rng rng;
  Plan plan = Plan::CloseClient;
  bool v6 = false;
  std::array<Addr, 2> ip{};
  std::array<std::uint16_t, 2> port{};
  std::uint64_t tuple = 0;
  std::array<std::int64_t, 2> rtt{};  // capture point <-> endpoint round trip, ns
  std::int64_t ps_per_byte = 8000;    // bottleneck serialisation, picoseconds per byte
  std::array<Endpoint, 2> ep{};
  bool ws_on = false, ts_on = false, sack_on = false;
  std::array<std::uint16_t, 2> mss{};  // payload per full segment, by sender
  double loss_p = 0, reorder_p = 0;
  std::uint16_t exchanges = 1, k = 0;
  std::uint32_t req_end = 0, resp_end = 0, abort_at = 0;
  bool await_req = false, await_resp = false;
  std::array<std::uint32_t, 2> salt{};
};

struct MixStats {
  std::uint64_t conns = 0, ipv6 = 0, stalled = 0, lost = 0, lost_unseen = 0, reordered = 0,
                retx = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(Plan::kCount)> plans{};
  std::int64_t first_t = -1, last_t = 0;
};

class MixSim {
 public:
  MixSim(const Options& o, PcapWriter& w)
      : o_(o),
        w_(w),
        rng_(mix64(o.seed, 1)),
        pattern_(make_pattern(o.seed)),
        slots_(o.concurrency) {
    const std::int64_t warm = static_cast<std::int64_t>(o.warmup_s * 1e9);
    for (std::uint32_t i = 0; i < o.concurrency; ++i) {
      Event e;
      e.kind = EvKind::Start;
      e.slot = i;
      e.t = -warm + static_cast<std::int64_t>(
                        rng_.below(static_cast<std::uint64_t>(std::max<std::int64_t>(warm, 1))));
      push(e);
    }
  }

  void run() {
    while (!heap_.empty() && w_.bytes() < o_.bytes && w_.ok()) {
      Event ev = heap_.top();
      heap_.pop();
      Conn& c = slots_[ev.slot];
      --c.pending;
      switch (ev.kind) {
        case EvKind::Start:
          start(ev.slot, ev.t);
          break;
        case EvKind::Observe:
          observe(ev);
          break;
        case EvKind::Deliver:
          deliver(ev);
          break;
        case EvKind::Timer:
          timer(ev);
          break;
      }
      maybe_release(ev.slot, ev.t);
    }
  }

  const MixStats& stats() const { return st_; }

 private:
  void push(Event& e) {
    e.order = order_++;
    ++slots_[e.slot].pending;
    heap_.push(e);
  }
  void set_timer(std::uint32_t si, std::uint8_t side, Tm tm, std::int64_t at,
                 std::uint32_t token = 0) {
    Event e;
    e.kind = EvKind::Timer;
    e.slot = si;
    e.side = side;
    e.tm = tm;
    e.t = at;
    e.token = token;
    push(e);
  }
  static std::int64_t ms(double v) { return static_cast<std::int64_t>(v * 1e6); }

  // ---- a new connection on slot si
  void start(std::uint32_t si, std::int64_t now) {
    Conn& c = slots_[si];
    const std::uint32_t pending = c.pending;
    c = Conn{};
    c.pending = pending;
    c.live = true;
    c.rng.reseed(mix64(o_.seed, 1000 + conn_serial_++));
    Rng& r = c.rng;
    ++st_.conns;
    const double u = r.uniform();
    static constexpr std::array<double, static_cast<std::size_t>(Plan::kCount)> kWeights = {
        0.51, 0.14, 0.14, 0.05, 0.07, 0.03, 0.03, 0.02, 0.01};  // sums to 1
    double accw = 0;
    c.plan = Plan::Unanswered;
    for (std::size_t i = 0; i < kWeights.size(); ++i) {
      accw += kWeights[i];
      if (u < accw) {
        c.plan = static_cast<Plan>(i);
        break;
      }
    }
    ++st_.plans[static_cast<std::size_t>(c.plan)];
    c.v6 = r.chance(o_.v6);
    if (c.v6) ++st_.ipv6;
    pick_addresses(c);
    // Capture point near the servers: the client is across a WAN.
    c.rtt[0] = std::clamp<std::int64_t>(ms(r.lognormal(20.0, 0.8)), ms(0.5), ms(400));
    c.rtt[1] = static_cast<std::int64_t>(20000 + r.below(280000));
    static constexpr std::array<std::int64_t, 4> kPsPerByte = {8000, 40000, 160000, 800000};
    const double lr = r.uniform();
    c.ps_per_byte = kPsPerByte[lr < 0.3 ? 0 : lr < 0.6 ? 1 : lr < 0.85 ? 2 : 3];
    const double lp = r.uniform();
    c.loss_p = (lp < 0.70 ? 0.0 : lp < 0.95 ? 0.005 : 0.03) * o_.loss_scale;
    c.reorder_p = (lp < 0.70 ? 0.0 : 0.003) * o_.loss_scale;
    c.exchanges = static_cast<std::uint16_t>(
        1 + std::min<std::uint64_t>(static_cast<std::uint64_t>(r.exponential(0.8)), 50));
    for (std::size_t s = 0; s < 2; ++s) {
      Endpoint& e = c.ep[s];
      e.isn = r.u32();
      e.ts_offset = r.u32();
      e.ip_id = static_cast<std::uint16_t>(r.below(65536));
      e.flow = static_cast<std::uint32_t>(r.below(1u << 20));
      e.ack_every = r.chance(0.8) ? 2 : 1;
      c.salt[s] = r.u32();
    }
    Endpoint& cl = c.ep[0];
    Endpoint& sv = c.ep[1];
    cl.ttl =
        static_cast<std::uint8_t>(r.chance(0.7) ? 64 - 8 - r.below(12) : 128 - 8 - r.below(12));
    sv.ttl = 64;
    const std::uint16_t base_mss = c.v6 ? 1440 : 1460;
    cl.mss_offer = r.chance(0.1) ? static_cast<std::uint16_t>(base_mss - 60) : base_mss;
    sv.mss_offer = base_mss;
    const bool old_client = r.chance(0.04);
    cl.ws_offer = !old_client;
    cl.sack_offer = !old_client || r.chance(0.5);
    cl.ts_offer = !old_client && r.chance(0.9);  // Windows clients often omit timestamps
    cl.ws = static_cast<std::uint8_t>(r.chance(0.7) ? 7 : 8);
    sv.ws = static_cast<std::uint8_t>(r.chance(0.8) ? 7 : 9);
    sv.ts_offer = r.chance(0.95);
    sv.sack_offer = true;
    sv.ws_offer = r.chance(0.97);
    cl.rwnd = cl.ws_offer ? (r.chance(0.5) ? 131072u : 3u << 20) : 65535u;
    sv.rwnd = sv.ws_offer ? (r.chance(0.5) ? 65536u * 4 : 3u << 20) : 65535u;
    cl.syn_win = cl.ws_offer ? 64240 : 65535;
    sv.syn_win = sv.ws_offer ? 65160 : 65535;
    if (c.plan == Plan::Refused) sv.isn = 0;
    send_syn(si, now);
  }

  void pick_addresses(Conn& c) {
    Rng& r = c.rng;
    for (;;) {
      const double srv = r.uniform();
      const std::uint32_t j = static_cast<std::uint32_t>(64.0 * srv * srv * srv);
      Addr cl{}, sv{};
      if (!c.v6) {
        cl[0] = 10;
        cl[1] = static_cast<std::uint8_t>(r.below(256));
        cl[2] = static_cast<std::uint8_t>(r.below(256));
        cl[3] = static_cast<std::uint8_t>(1 + r.below(254));
        if (j < 32)
          sv = {192, 0, 2, static_cast<std::uint8_t>(1 + j)};
        else
          sv = {198, 51, 100, static_cast<std::uint8_t>(j - 31)};
      } else {
        cl = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc0};
        for (std::size_t i = 6; i < 16; ++i) cl[i] = static_cast<std::uint8_t>(r.below(256));
        sv = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e};
        sv[15] = static_cast<std::uint8_t>(1 + j);
      }
      static constexpr std::array<std::uint16_t, 8> kPorts = {443, 443, 443, 443, 80, 80, 22, 8080};
      const double pu = r.uniform();
      std::uint16_t sport;
      if (pu < 0.85)
        sport = kPorts[r.below(kPorts.size())];
      else if (pu < 0.9)
        sport = 5432;
      else if (pu < 0.94)
        sport = 3306;
      else if (pu < 0.96)
        sport = 25;
      else
        sport = static_cast<std::uint16_t>(10000 + r.below(20000));
      const std::uint16_t cport = static_cast<std::uint16_t>(32768 + r.below(28232));
      std::uint64_t h = 0;
      for (std::size_t i = 0; i < 16; ++i) h = mix64(h, cl[i] ^ (std::uint64_t{sv[i]} << 8));
      h = mix64(h, (std::uint64_t{cport} << 16) | sport);
      if (!live_tuples_.insert(h).second) continue;
      c.ip = {cl, sv};
      c.port = {cport, sport};
      c.tuple = h;
      return;
    }
  }

  void maybe_release(std::uint32_t si, std::int64_t now) {
    Conn& c = slots_[si];
    if (!c.live || c.pending > 0) return;
    if (!side_done(c, 0) || !side_done(c, 1)) ++st_.stalled;  // a simulator bug
    c.live = false;
    live_tuples_.erase(c.tuple);
    Event e;
    e.kind = EvKind::Start;
    e.slot = si;
    e.t = now + static_cast<std::int64_t>(c.rng.exponential(2e6));
    push(e);
  }
  static bool side_done(const Conn& c, std::size_t s) {
    const Endpoint& e = c.ep[s];
    return e.dead || (e.fin_sent && e.snd_una == e.snd_nxt && e.fin_rcvd);
  }

  // ---- sending
  std::uint32_t tsval(const Endpoint& e, std::int64_t now) const {
    return e.ts_offset + static_cast<std::uint32_t>((now + 1000000000000LL) / 1000000);
  }

  void send(std::uint32_t si, std::uint8_t side, std::int64_t now, std::uint8_t flags,
            std::uint32_t seq, std::uint16_t len, bool may_lose, bool retx = false,
            bool lost_after_capture = false) {
    Conn& c = slots_[si];
    Endpoint& e = c.ep[side];
    Event ev;
    ev.kind = EvKind::Observe;
    ev.slot = si;
    ev.side = side;
    Pkt& p = ev.pkt;
    p.from = side;
    p.seq = seq;
    p.len = len;
    p.flags = flags;
    p.retx = retx;
    p.deliver = !lost_after_capture;
    p.ack = (flags & kAck) ? e.rcv_nxt : 0;
    if (flags & kSyn)
      p.win = e.syn_win;
    else
      p.win = static_cast<std::uint16_t>(
          std::min<std::uint32_t>(65535, c.ws_on ? e.rwnd >> e.ws : e.rwnd));
    p.tsval = tsval(e, now);
    p.tsecr = e.ts_recent;
    if (c.sack_on && e.nooo > 0 && !(flags & kSyn)) {
      p.nsack = static_cast<std::uint8_t>(std::min<std::size_t>(e.nooo, 3));
      for (std::size_t i = 0; i < p.nsack; ++i) p.sack[i] = e.ooo[i];
    }
    const std::int64_t wire = len + 66;
    const std::int64_t tx = std::max(now, e.next_tx);
    e.next_tx = tx + wire * c.ps_per_byte / 1000;
    ev.t = tx;
    if (may_lose && len > 0 && !retx && !e.loss_out && !e.reorder_out && !(flags & kFin)) {
      if (c.rng.chance(c.loss_p)) {
        e.loss_out = true;
        e.loss_retx = false;
        e.lost_seq = seq;
        e.lost_len = len;
        p.deliver = false;
        p.write = c.rng.chance(0.5);  // lost after the capture point: seen, then retransmitted
        ++st_.lost;
        if (!p.write) ++st_.lost_unseen;
        const std::int64_t rto = std::max<std::int64_t>(ms(200), 2 * (c.rtt[0] + c.rtt[1]));
        set_timer(si, side, Tm::Rto, tx + rto, ++e.loss_token);
      } else if (c.rng.chance(c.reorder_p)) {
        e.reorder_out = true;
        e.reorder_seq = seq;
        ev.t += static_cast<std::int64_t>(2 + c.rng.below(3)) * wire * c.ps_per_byte / 1000 + 30000;
        ++st_.reordered;
      }
    }
    if (retx) ++st_.retx;
    if (flags & kAck) {
      e.segs_unacked = 0;
      e.delack_armed = false;
      ++e.delack_token;
    }
    ++e.tx_count;
    if (p.write || p.deliver) push(ev);
  }

  void send_syn(std::uint32_t si, std::int64_t now) {
    Conn& c = slots_[si];
    Endpoint& cl = c.ep[0];
    // A SYN occasionally dies after the capture point: seen, retransmitted after 1 s.
    const bool lost =
        c.plan != Plan::Unanswered && cl.syn_tries == 0 && c.rng.chance(0.01 * o_.loss_scale);
    send(si, 0, now, kSyn, 0, 0, false, cl.syn_tries > 0, lost);
    cl.snd_nxt = 1;
    const std::int64_t backoff = ms(1000) << cl.syn_tries;
    set_timer(si, 0, Tm::SynRetx, now + backoff, ++cl.syn_token);
  }

  void pure_ack(std::uint32_t si, std::uint8_t side, std::int64_t now) {
    Endpoint& e = slots_[si].ep[side];
    send(si, side, now, kAck, e.snd_nxt, 0, false);
  }

  void try_send(std::uint32_t si, std::uint8_t side, std::int64_t now) {
    Conn& c = slots_[si];
    Endpoint& e = c.ep[side];
    if (e.dead || !e.established) return;
    const std::uint32_t mss = c.mss[side];
    const std::uint32_t wnd = std::min(e.cwnd * mss, std::max(e.peer_wnd, mss));
    while (e.snd_nxt < e.app_end) {
      const auto len = static_cast<std::uint16_t>(std::min(mss, e.app_end - e.snd_nxt));
      if (e.snd_nxt != e.snd_una && e.snd_nxt + len - e.snd_una > wnd) break;
      std::uint8_t fl = kAck;
      const bool last = e.snd_nxt + len == e.app_end;
      if (last) fl |= kPsh;
      if (last && e.fin_queued) fl |= kFin;
      send(si, side, now, fl, e.snd_nxt, len, true);
      e.snd_nxt += len;
      if (fl & kFin) {
        e.fin_sent = true;
        e.snd_nxt += 1;
      }
    }
    if (e.fin_queued && !e.fin_sent && e.snd_nxt == e.app_end) {
      send(si, side, now, kFin | kAck, e.snd_nxt, 0, false);
      e.fin_sent = true;
      e.snd_nxt += 1;
    }
  }

  void abort(std::uint32_t si, std::uint8_t side, std::int64_t now) {
    Endpoint& e = slots_[si].ep[side];
    if (e.dead) return;
    send(si, side, now, kRst | kAck, e.snd_nxt, 0, false);
    e.dead = true;
  }

  // ---- events
  void observe(const Event& ev) {
    Conn& c = slots_[ev.slot];
    const Pkt& p = ev.pkt;
    if (p.write && ev.t >= 0) write(c, p, ev.t);
    if (p.deliver) {
      Event d = ev;
      d.kind = EvKind::Deliver;
      d.t = ev.t + c.rtt[1 - p.from];
      push(d);
    }
  }

  void write(Conn& c, const Pkt& p, std::int64_t t) {
    Endpoint& e = c.ep[p.from];
    const Endpoint& peer = c.ep[1 - p.from];
    OptBuilder ob;
    if (p.flags & kSyn) {
      const bool synack = (p.flags & kAck) != 0;
      const bool sack = synack ? c.sack_on : e.sack_offer;
      const bool ts = synack ? c.ts_on : e.ts_offer;
      const bool ws = synack ? c.ws_on : e.ws_offer;
      ob.syn(e.mss_offer, sack, ts, p.tsval, synack ? p.tsecr : 0, ws, e.ws);
    } else if (!(p.flags & kRst) || (p.flags & kAck)) {
      if (c.ts_on) ob.nop(), ob.nop(), ob.ts(p.tsval, p.tsecr);
      if (p.nsack > 0) {
        ob.nop(), ob.nop();
        ob.b[ob.n++] = 5;
        ob.b[ob.n++] = static_cast<std::uint8_t>(2 + 8 * p.nsack);
        for (std::size_t i = 0; i < p.nsack; ++i) {
          put32(&ob.b[ob.n], peer.isn + p.sack[i].b);
          put32(&ob.b[ob.n + 4], peer.isn + p.sack[i].e);
          ob.n += 8;
        }
      }
    }
    FrameSpec f;
    f.v6 = c.v6;
    f.src = &c.ip[p.from];
    f.dst = &c.ip[1 - p.from];
    f.sport = c.port[p.from];
    f.dport = c.port[1 - p.from];
    f.seq = e.isn + p.seq;
    f.ack = (p.flags & kAck) ? peer.isn + p.ack : 0;
    f.flags = p.flags;
    f.win = p.win;
    f.opts = ob.b.data();
    f.opt_len = ob.n;
    f.payload_len = p.len;
    f.payload = pattern_.data() + ((c.salt[p.from] + p.seq) & 0xFFFF);
    f.ip_id = e.ip_id++;  // counts the frames written
    f.ttl = e.ttl;
    f.flow_label = e.flow;
    f.to_server = p.from == 0;
    std::uint8_t* out = w_.frame(kMaxFrame);
    const std::size_t n = build_frame(out, f);
    w_.commit(t, static_cast<std::uint32_t>(n));
    if (st_.first_t < 0) st_.first_t = t;
    st_.last_t = t;
  }

  void timer(const Event& ev) {
    const std::uint32_t si = ev.slot;
    Conn& c = slots_[si];
    Endpoint& e = c.ep[ev.side];
    const std::int64_t now = ev.t;
    if (e.dead) return;
    switch (ev.tm) {
      case Tm::SynRetx:
        if (ev.token != e.syn_token || e.established) return;
        if (e.syn_tries >= 2) {  // give up
          c.ep[0].dead = c.ep[1].dead = true;
          return;
        }
        ++e.syn_tries;
        send_syn(si, now);
        return;
      case Tm::Request: {
        const std::uint32_t size = request_size(c);
        e.app_end += size;
        c.req_end = e.app_end;
        c.await_req = true;
        if (c.plan == Plan::HalfClose && c.k + 1 == c.exchanges) e.fin_queued = true;
        try_send(si, 0, now);
        return;
      }
      case Tm::Respond: {
        const std::uint32_t size = response_size(c);
        const std::uint32_t start = e.app_end;
        e.app_end += size;
        c.resp_end = e.app_end;
        c.await_resp = true;
        const bool last = c.k + 1 == c.exchanges;
        if (last && (c.plan == Plan::CloseServer || c.plan == Plan::HalfClose)) e.fin_queued = true;
        if (last && c.plan == Plan::ResetClientMid && size > 30u * c.mss[1])
          c.abort_at = start + static_cast<std::uint32_t>(size * (0.1 + 0.6 * c.rng.uniform()));
        try_send(si, 1, now);
        return;
      }
      case Tm::Close:
        if (!e.fin_queued) {
          e.fin_queued = true;
          try_send(si, ev.side, now);
        }
        return;
      case Tm::Abort:
        abort(si, ev.side, now);
        return;
      case Tm::DelAck:
        if (ev.token == e.delack_token && e.delack_armed && e.segs_unacked > 0)
          pure_ack(si, ev.side, now);
        return;
      case Tm::Rto:
        if (ev.token != e.loss_token || !e.loss_out || e.loss_retx) return;
        e.loss_retx = true;
        e.ssthresh = std::max<std::uint32_t>(e.cwnd / 2, 2);
        e.cwnd = 1;
        send(si, ev.side, now, kAck, e.lost_seq, e.lost_len, false, true);
        return;
    }
  }

  std::uint32_t request_size(Conn& c) {
    Rng& r = c.rng;
    double v = r.chance(0.93) ? r.lognormal(350, 0.7) : r.pareto(4000, 1.3);
    return static_cast<std::uint32_t>(std::clamp(v, 40.0, max_message()));
  }
  std::uint32_t response_size(Conn& c) {
    Rng& r = c.rng;
    double v = r.chance(0.88) ? r.lognormal(1800, 1.4) : r.pareto(15000, 1.15);
    return static_cast<std::uint32_t>(std::clamp(v, 60.0, max_message()));
  }
  double max_message() const { return std::clamp(static_cast<double>(o_.bytes) / 40.0, 1e6, 64e6); }

  void process_ack(Conn& c, Endpoint& e, std::uint8_t me, const Pkt& p) {
    const std::uint32_t mss = std::max<std::uint32_t>(c.mss[me], 1);
    if (p.ack > e.snd_una && p.ack <= e.snd_nxt) {
      const std::uint32_t acked = p.ack - e.snd_una;
      e.snd_una = p.ack;
      e.dupacks = 0;
      if (!e.established && e.snd_una >= 1) e.established = true;
      if (e.in_recovery) {
        if (e.snd_una >= e.recover) {
          e.in_recovery = false;
          e.cwnd = std::max<std::uint32_t>(e.ssthresh, 2);
        }
      } else {
        const std::uint32_t segs = (acked + mss - 1) / mss;
        if (e.cwnd < e.ssthresh) {
          e.cwnd += segs;
        } else {
          e.cwnd_acc += segs;
          if (e.cwnd_acc >= e.cwnd) e.cwnd_acc -= e.cwnd, ++e.cwnd;
        }
        e.cwnd = std::min<std::uint32_t>(e.cwnd, 300);
      }
      if (e.loss_out && e.snd_una > e.lost_seq) e.loss_out = false;
      if (e.reorder_out && e.snd_una > e.reorder_seq) e.reorder_out = false;
    } else if (p.ack == e.snd_una && p.len == 0 && !(p.flags & (kFin | kSyn)) &&
               e.snd_nxt > e.snd_una) {
      if (++e.dupacks == 3 && e.loss_out && !e.loss_retx) {
        e.loss_retx = true;
        e.ssthresh = std::max<std::uint32_t>(e.cwnd / 2, 2);
        e.cwnd = e.ssthresh;
        e.in_recovery = true;
        e.recover = e.snd_nxt;
        fast_retx_ = true;
      }
    }
    e.peer_wnd = c.ws_on ? std::uint32_t{p.win} << c.ep[p.from].ws : p.win;
  }

  static void add_ooo(Endpoint& e, std::uint32_t b, std::uint32_t end) {
    for (std::size_t i = 0; i < e.nooo; ++i) {
      Range& r = e.ooo[i];
      if (b <= r.e && end >= r.b) {
        r.b = std::min(r.b, b);
        r.e = std::max(r.e, end);
        return;
      }
    }
    if (e.nooo < e.ooo.size()) {
      // most recent block first, as RFC 2018 asks
      for (std::size_t i = e.nooo; i > 0; --i) e.ooo[i] = e.ooo[i - 1];
      e.ooo[0] = {b, end};
      ++e.nooo;
    }
  }
  static void merge_ooo(Endpoint& e) {
    bool again = true;
    while (again) {
      again = false;
      for (std::size_t i = 0; i < e.nooo; ++i) {
        if (e.ooo[i].b <= e.rcv_nxt) {
          e.rcv_nxt = std::max(e.rcv_nxt, e.ooo[i].e);
          for (std::size_t j = i + 1; j < e.nooo; ++j) e.ooo[j - 1] = e.ooo[j];
          --e.nooo;
          again = true;
          break;
        }
      }
    }
  }

  void deliver(const Event& ev) {
    const std::uint32_t si = ev.slot;
    Conn& c = slots_[si];
    const Pkt& p = ev.pkt;
    const auto me = static_cast<std::uint8_t>(1 - p.from);
    Endpoint& e = c.ep[me];
    const std::int64_t now = ev.t;
    if (e.dead) {
      // A closed socket answers anything but a RST with a RST (RFC 9293 3.10.7.1).
      if (!(p.flags & kRst)) {
        const bool ack = (p.flags & kAck) != 0;
        send(si, me, now, ack ? kRst : kRst | kAck, ack ? p.ack : 0, 0, false);
      }
      return;
    }
    e.ts_recent = p.tsval;
    if (p.flags & kRst) {
      e.dead = true;
      return;
    }
    if (p.flags & kSyn) {
      if (p.flags & kAck)
        on_synack(si, now, p);
      else
        on_syn(si, now, p);
      return;
    }
    fast_retx_ = false;
    if (p.flags & kAck) process_ack(c, e, me, p);
    if (fast_retx_) send(si, me, now, kAck, e.lost_seq, e.lost_len, false, true);

    bool ack_now = false, advanced = false;
    const std::uint32_t seg_end = p.seq + p.len + ((p.flags & kFin) ? 1u : 0u);
    if (p.flags & kFin) {
      e.fin_known = true;
      e.peer_fin_seq = p.seq + p.len;
    }
    if (seg_end > p.seq) {
      if (seg_end <= e.rcv_nxt) {
        ack_now = true;  // a duplicate: ACK at once
      } else if (p.seq > e.rcv_nxt) {
        add_ooo(e, p.seq, seg_end);  // a hole: duplicate ACK with SACK
        ack_now = true;
      } else {
        const bool had_ooo = e.nooo > 0;
        e.rcv_nxt = seg_end;
        merge_ooo(e);
        advanced = true;
        if (had_ooo) ack_now = true;
      }
    }
    const std::uint64_t tx_before = e.tx_count;
    if (advanced) {
      const bool fin_now = e.fin_known && !e.fin_rcvd && e.rcv_nxt > e.peer_fin_seq;
      if (fin_now) {
        e.fin_rcvd = true;
        ack_now = true;
      }
      if (p.len > 0 && ++e.segs_unacked >= e.ack_every) ack_now = true;
      app_on_data(si, me, now);
      if (fin_now) app_on_fin(si, me, now);
    }
    if (e.dead) return;
    try_send(si, me, now);
    if (e.tx_count == tx_before) {
      if (ack_now) {
        pure_ack(si, me, now);
      } else if (e.segs_unacked > 0 && !e.delack_armed) {
        e.delack_armed = true;
        set_timer(si, me, Tm::DelAck, now + ms(40), e.delack_token);
      }
    }
  }

  void on_syn(std::uint32_t si, std::int64_t now, const Pkt& p) {
    Conn& c = slots_[si];
    Endpoint& sv = c.ep[1];
    Endpoint& cl = c.ep[0];
    if (c.plan == Plan::Unanswered) return;
    if (c.plan == Plan::Refused) {
      sv.rcv_nxt = p.seq + 1;
      send(si, 1, now, kRst | kAck, 0, 0, false);
      sv.dead = true;
      return;
    }
    if (sv.established) return;
    if (!sv.syn_rcvd) {
      sv.syn_rcvd = true;
      sv.rcv_nxt = 1;
      c.ws_on = cl.ws_offer && sv.ws_offer;
      c.sack_on = cl.sack_offer && sv.sack_offer;
      c.ts_on = cl.ts_offer && sv.ts_offer;
      const std::uint16_t mss = std::min(cl.mss_offer, sv.mss_offer);
      const std::uint16_t opt = c.ts_on ? 12 : 0;
      c.mss[0] = c.mss[1] = static_cast<std::uint16_t>(mss - opt);
      sv.peer_wnd = p.win;
    }
    send(si, 1, now, kSyn | kAck, 0, 0, false, sv.snd_nxt > 0);
    sv.snd_nxt = 1;
  }

  void on_synack(std::uint32_t si, std::int64_t now, const Pkt& p) {
    Conn& c = slots_[si];
    Endpoint& cl = c.ep[0];
    if (cl.established) {
      pure_ack(si, 0, now);
      return;
    }
    cl.rcv_nxt = 1;
    cl.snd_una = 1;
    cl.established = true;
    ++cl.syn_token;
    cl.peer_wnd = p.win;
    pure_ack(si, 0, now);
    set_timer(si, 0, Tm::Request, now + static_cast<std::int64_t>(c.rng.below(300000)));
  }

  std::int64_t idle_gap(Rng& r) {
    if (r.chance(0.04)) return ms(1000 + r.exponential(6000));  // keep-alive idle
    return ms(r.exponential(40));
  }

  void app_on_data(std::uint32_t si, std::uint8_t me, std::int64_t now) {
    Conn& c = slots_[si];
    Endpoint& e = c.ep[me];
    Rng& r = c.rng;
    if (me == 1) {
      if (c.await_req && e.rcv_nxt >= c.req_end) {
        c.await_req = false;
        set_timer(si, 1, Tm::Respond,
                  now + ms(r.chance(0.9) ? r.exponential(2) : r.exponential(60)));
      }
      return;
    }
    if (c.abort_at != 0 && e.rcv_nxt >= c.abort_at) {
      c.abort_at = 0;
      abort(si, 0, now);
      return;
    }
    if (!c.await_resp || e.rcv_nxt < c.resp_end) return;
    c.await_resp = false;
    ++c.k;
    if (c.k < c.exchanges) {
      set_timer(si, 0, Tm::Request, now + idle_gap(r));
      return;
    }
    switch (c.plan) {
      case Plan::CloseClient:
      case Plan::ThreeWay:
      case Plan::ResetClientMid:
        set_timer(si, 0, Tm::Close, now + (r.chance(0.7) ? ms(r.exponential(3)) : idle_gap(r)));
        break;
      case Plan::ResetClient:
        set_timer(si, 0, Tm::Abort, now + ms(r.exponential(5)));
        break;
      case Plan::ResetServer:
        set_timer(si, 1, Tm::Abort, now + idle_gap(r) + ms(200));
        break;
      default:
        break;  // the server closes
    }
  }

  void app_on_fin(std::uint32_t si, std::uint8_t me, std::int64_t now) {
    Conn& c = slots_[si];
    Endpoint& e = c.ep[me];
    Rng& r = c.rng;
    if (e.fin_queued) return;
    if (me == 1) {
      if (c.plan == Plan::HalfClose) return;  // answers first, FIN after the response
      if (c.plan == Plan::ThreeWay) {
        e.fin_queued = true;  // FIN+ACK in one segment
        return;
      }
      set_timer(si, 1, Tm::Close, now + ms(0.05 + r.exponential(2)));
      return;
    }
    if (c.plan == Plan::CloseServer && r.chance(0.3)) {
      e.fin_queued = true;
      return;
    }
    set_timer(si, 0, Tm::Close, now + ms(0.05 + r.exponential(2)));
  }

  const Options& o_;
  PcapWriter& w_;
  Rng rng_;
  std::vector<std::uint8_t> pattern_;
  std::vector<Conn> slots_;
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  std::uint64_t order_ = 0;
  std::uint64_t conn_serial_ = 0;
  bool fast_retx_ = false;
  std::unordered_set<std::uint64_t> live_tuples_;
  MixStats st_;
};

// ------------------------------------------------- scripted: flood, open ---

// Distinct addresses from an index: an odd multiplier is a bijection mod 2^k.
Addr v4_from_index(std::uint64_t i, std::uint64_t seed, bool spread) {
  // The low 24 bits are a bijection of i (i < 2^24), so addresses never repeat.
  const std::uint32_t low =
      (static_cast<std::uint32_t>(i) * 2654435761u + static_cast<std::uint32_t>(seed)) & 0xFFFFFF;
  static constexpr std::array<std::uint8_t, 16> kFirst = {23,  31,  45,  62,  77,  89,  101, 114,
                                                          131, 146, 163, 178, 185, 197, 203, 212};
  const std::uint8_t first = spread ? kFirst[(low * 2654435761u) >> 28] : 10;
  return {first, static_cast<std::uint8_t>(low >> 16), static_cast<std::uint8_t>(low >> 8),
          static_cast<std::uint8_t>(low)};
}

struct Step {
  std::int64_t t;
  std::uint64_t conn;
  std::uint32_t step;
  bool operator>(const Step& o) const {
    return t != o.t ? t > o.t : (conn != o.conn ? conn > o.conn : step > o.step);
  }
};

struct ScriptConn {
  bool v6 = false;
  Addr cl{}, sv{};
  std::uint16_t cport = 0, sport = 0;
  std::uint32_t cisn = 0, sisn = 0, tsc = 0, tss = 0;
  std::int64_t start = 0, rs = 0, rc = 0, think = 0;
  std::uint16_t req = 0, resp = 0, mss = 1448;
  bool answered = true;
};

// Every packet of scripted connection i: timestamps as offsets from its start.
class Scripted {
 public:
  Scripted(const Options& o, PcapWriter& w) : o_(o), w_(w), pattern_(make_pattern(o.seed)) {}

  void run() {
    const bool flood = o_.mode == "synflood";
    const bool behind = o_.mode == "behind";
    const std::uint32_t steps = flood ? 2 : behind ? 10 : 7;
    std::priority_queue<Step, std::vector<Step>, std::greater<>> q;
    std::uint64_t next = 0;
    const double gap_ns = 1e9 / o_.rate;
    while ((next < o_.count || !q.empty()) && w_.ok()) {
      const std::int64_t next_start = static_cast<std::int64_t>(static_cast<double>(next) * gap_ns);
      if (next < o_.count && (q.empty() || next_start <= q.top().t)) {
        q.push({next_start, next, 0});
        ++next;
        continue;
      }
      const Step s = q.top();
      q.pop();
      const ScriptConn c = make(s.conn, flood);
      std::int64_t at_next = 0;
      const bool close = behind && s.conn != 0;  // connection 0 stays open to the end
      if (emit(c, s.step, flood, close, s.t, at_next) && s.step + 1 < steps)
        q.push({at_next, s.conn, s.step + 1});
    }
  }
  std::uint64_t conns() const { return o_.count; }

 private:
  ScriptConn make(std::uint64_t i, bool flood) const {
    ScriptConn c;
    Rng r(mix64(o_.seed, 0xF100D000000ULL + i));
    c.v6 = !flood && r.chance(o_.v6);
    if (c.v6) {
      c.cl = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc1};
      for (std::size_t b = 0; b < 8; ++b)
        c.cl[8 + b] = static_cast<std::uint8_t>(i >> (8 * (7 - b)));
      c.sv = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e};
      c.sv[15] = static_cast<std::uint8_t>(1 + i % 16);
    } else {
      c.cl = v4_from_index(i, o_.seed, flood);
      c.sv = flood ? Addr{192, 0, 2, 80} : Addr{192, 0, 2, static_cast<std::uint8_t>(1 + i % 16)};
    }
    c.cport = static_cast<std::uint16_t>(1024 + r.below(64512));
    c.sport = flood ? 80 : 443;
    c.cisn = r.u32();
    c.sisn = r.u32();
    c.tsc = r.u32();
    c.tss = r.u32();
    c.rs = static_cast<std::int64_t>(20000 + r.below(200000));
    c.rc = static_cast<std::int64_t>(r.lognormal(20e6, 0.6));
    c.think = static_cast<std::int64_t>(r.exponential(1e6));
    c.req = static_cast<std::uint16_t>(100 + r.below(400));
    c.resp = static_cast<std::uint16_t>(200 + r.below(1600));  // one or two segments
    c.mss = c.v6 ? 1428 : 1448;
    c.answered = r.chance(o_.synack);
    return c;
  }

  // Writes step `step` at time t; sets the time of the next step. False: no more steps.
  // `close`: after the exchange the client closes (FIN, FIN+ACK, ACK).
  bool emit(const ScriptConn& c, std::uint32_t step, bool flood, bool close, std::int64_t t,
            std::int64_t& next) {
    OptBuilder ob;
    FrameSpec f;
    f.v6 = c.v6;
    const std::uint32_t resp1 = std::min<std::uint32_t>(c.resp, c.mss);
    const std::uint32_t resp2 = c.resp - resp1;
    bool to_server = true;
    std::uint32_t seq = 0, ack = 0, len = 0, off = 0;
    std::uint8_t flags = kAck;
    std::uint16_t win = 502;  // x128: 64256, never below the SYN's window
    const std::uint32_t tsc = c.tsc + static_cast<std::uint32_t>(t / 1000000);
    const std::uint32_t tss = c.tss + static_cast<std::uint32_t>(t / 1000000);
    const std::uint32_t fin_step = resp2 > 0 ? 7 : 6;  // after the client's ACK
    if (close && step >= fin_step) {
      const std::uint32_t cfin = c.cisn + 1 + c.req, sfin = c.sisn + 1 + c.resp;
      const std::uint32_t k = step - fin_step;
      if (k > 2) return false;
      ob.nop(), ob.nop(), ob.ts(k == 1 ? tss : tsc, k == 1 ? tsc : tss);
      if (k == 0) write_frame(c, f, true, cfin, sfin, kFin | kAck, win, ob, 0, 0, t);
      if (k == 1) write_frame(c, f, false, sfin, cfin + 1, kFin | kAck, win, ob, 0, 0, t);
      if (k == 2) write_frame(c, f, true, cfin + 1, sfin + 1, kAck, win, ob, 0, 0, t);
      next = t + (k == 0 ? c.rs : c.rc);
      return k < 2;
    }
    switch (step) {
      case 0:  // SYN
        flags = kSyn;
        if (flood) {
          win = static_cast<std::uint16_t>(512 + (c.cisn & 1023));
        } else {
          win = 64240;
          ob.syn(1460, true, true, tsc, 0, true, 7);
        }
        seq = c.cisn;
        next = t + c.rs;
        if (flood && !c.answered) return false;
        break;
      case 1:  // SYN-ACK
        to_server = false;
        flags = kSyn | kAck;
        win = 65160;
        seq = c.sisn;
        ack = c.cisn + 1;
        ob.syn(1460, true, !flood, tss, flood ? 0 : tsc, true, 7);
        next = t + c.rc;
        break;
      case 2:  // handshake ACK
        seq = c.cisn + 1;
        ack = c.sisn + 1;
        ob.nop(), ob.nop(), ob.ts(tsc, tss);
        next = t + 20000;
        break;
      case 3:  // request
        flags = kAck | kPsh;
        seq = c.cisn + 1;
        ack = c.sisn + 1;
        len = c.req;
        ob.nop(), ob.nop(), ob.ts(tsc, tss);
        next = t + c.rs + c.think;
        break;
      case 4:  // response, first segment
        to_server = false;
        flags = resp2 == 0 ? kAck | kPsh : kAck;
        seq = c.sisn + 1;
        ack = c.cisn + 1 + c.req;
        len = resp1;
        off = 1;
        ob.nop(), ob.nop(), ob.ts(tss, tsc);
        next = t + (resp2 == 0 ? c.rc : 12000);
        break;
      case 5:  // response, second segment (or the client's ACK)
        if (resp2 > 0) {
          to_server = false;
          flags = kAck | kPsh;
          seq = c.sisn + 1 + resp1;
          ack = c.cisn + 1 + c.req;
          len = resp2;
          off = 1 + resp1;
          ob.nop(), ob.nop(), ob.ts(tss, tsc);
          next = t + c.rc;
          break;
        }
        [[fallthrough]];
      case 6:  // the client ACKs the response and the connection stays open
        seq = c.cisn + 1 + c.req;
        ack = c.sisn + 1 + c.resp;
        ob.nop(), ob.nop(), ob.ts(tsc, tss);
        next = t + c.think;
        if (step == 5) {
          write_frame(c, f, to_server, seq, ack, flags, win, ob, len, off, t);
          return close;
        }
        break;
      default:
        return false;
    }
    write_frame(c, f, to_server, seq, ack, flags, win, ob, len, off, t);
    return true;
  }

  void write_frame(const ScriptConn& c, FrameSpec& f, bool to_server, std::uint32_t seq,
                   std::uint32_t ack, std::uint8_t flags, std::uint16_t win, const OptBuilder& ob,
                   std::uint32_t len, std::uint32_t off, std::int64_t t) {
    if (!to_server && !(flags & kSyn)) win = 510;  // x128 >= the SYN-ACK's 65160
    f.src = to_server ? &c.cl : &c.sv;
    f.dst = to_server ? &c.sv : &c.cl;
    f.sport = to_server ? c.cport : c.sport;
    f.dport = to_server ? c.sport : c.cport;
    f.seq = seq;
    f.ack = (flags & kAck) ? ack : 0;
    f.flags = flags;
    f.win = win;
    f.opts = ob.b.data();
    f.opt_len = ob.n;
    f.payload = pattern_.data() + ((seq + off) & 0xFFFF);
    f.payload_len = len;
    f.ip_id = static_cast<std::uint16_t>(seq ^ (seq >> 16));
    f.ttl = to_server ? 52 : 64;
    f.to_server = to_server;
    std::uint8_t* out = w_.frame(kMaxFrame);
    w_.commit(t, static_cast<std::uint32_t>(build_frame(out, f)));
  }

  const Options& o_;
  PcapWriter& w_;
  std::vector<std::uint8_t> pattern_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen_capture: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    auto num = [&](double& d) {
      const char* v = val();
      char* end = nullptr;
      d = std::strtod(v, &end);
      if (end == v || *end != '\0') {
        std::fprintf(stderr, "gen_capture: bad number '%s'\n", v);
        std::exit(2);
      }
    };
    auto size = [&](std::uint64_t& s) {
      const char* v = val();
      if (!parse_size(v, s)) {
        std::fprintf(stderr, "gen_capture: bad size '%s'\n", v);
        std::exit(2);
      }
    };
    std::uint64_t tmp = 0;
    if (a == "-o" || a == "--out")
      o.out = val();
    else if (a == "--mode")
      o.mode = val();
    else if (a == "--bytes")
      size(o.bytes);
    else if (a == "--seed")
      o.seed = std::strtoull(val(), nullptr, 10);
    else if (a == "--concurrency")
      size(tmp), o.concurrency = static_cast<std::uint32_t>(tmp);
    else if (a == "--count")
      size(o.count);
    else if (a == "--rate")
      num(o.rate);
    else if (a == "--synack")
      num(o.synack);
    else if (a == "--v6")
      num(o.v6);
    else if (a == "--loss-scale")
      num(o.loss_scale);
    else if (a == "--warmup")
      num(o.warmup_s);
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--version") {
      std::puts(kVersion);
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "gen_capture: unknown option '%s'\n", argv[i]);
      usage();
      return 2;
    }
  }
  if (o.mode != "mix" && o.mode != "synflood" && o.mode != "open" && o.mode != "behind") {
    std::fprintf(stderr, "gen_capture: unknown mode '%s'\n", o.mode.c_str());
    return 2;
  }
  if (o.mode != "mix" && o.count > (1u << 24)) {
    std::fprintf(stderr, "gen_capture: --count is at most 2^24 (distinct addresses)\n");
    return 2;
  }
  if (o.concurrency == 0 || o.rate <= 0) {
    std::fprintf(stderr, "gen_capture: --concurrency and --rate must be positive\n");
    return 2;
  }
  std::FILE* f = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "gen_capture: cannot write %s: %s\n", o.out.c_str(), std::strerror(errno));
    return 1;
  }
  PcapWriter w(f, o.epoch_s);
  if (o.mode == "mix") {
    MixSim sim(o, w);
    sim.run();
    const MixStats& s = sim.stats();
    if (!o.quiet) {
      const double dur = static_cast<double>(s.last_t - std::max<std::int64_t>(s.first_t, 0)) / 1e9;
      std::fprintf(stderr,
                   "gen_capture: %s mix seed=%" PRIu64 ": %" PRIu64 " packets, %" PRIu64
                   " bytes, %.1f s of traffic, %" PRIu64 " connections started (%" PRIu64
                   " IPv6), concurrency %u\n",
                   o.out.c_str(), o.seed, w.packets(), w.bytes(), dur, s.conns, s.ipv6,
                   o.concurrency);
      std::fprintf(stderr, "  plans:");
      for (std::size_t i = 0; i < s.plans.size(); ++i)
        std::fprintf(stderr, " %s=%" PRIu64, kPlanNames[i], s.plans[i]);
      std::fprintf(stderr,
                   "\n  data segments lost %" PRIu64 " (%" PRIu64
                   " before the capture point), reordered %" PRIu64 ", retransmitted %" PRIu64
                   "; stalled %" PRIu64 "\n",
                   s.lost, s.lost_unseen, s.reordered, s.retx, s.stalled);
    }
  } else {
    Scripted sc(o, w);
    sc.run();
    if (!o.quiet)
      std::fprintf(stderr,
                   "gen_capture: %s %s seed=%" PRIu64 ": %" PRIu64 " connections, %" PRIu64
                   " packets, %" PRIu64 " bytes\n",
                   o.out.c_str(), o.mode.c_str(), o.seed, sc.conns(), w.packets(), w.bytes());
  }
  const bool ok = w.flush() && std::fflush(f) == 0 && (f == stdout || std::fclose(f) == 0);
  if (!ok) {
    std::fprintf(stderr, "gen_capture: write error on %s\n", o.out.c_str());
    return 1;
  }
  return 0;
}
