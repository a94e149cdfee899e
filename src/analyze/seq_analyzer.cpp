// SPDX-License-Identifier: MIT
// Per-segment sequence and acknowledgment analysis.
//
// 1. wireshark_rules() is Wireshark's tcp_analyze_sequence_number()
//    (epan/dissectors/packet-tcp.c, 3.6-4.0 era, the tshark this project
//    compares with): the same tests in the same order, the same jumps, the
//    same state (0 means "unset" as there), so its verdict can be compared
//    frame by frame with tshark's.
// 2. correct() departs from it where the packets carry better evidence
//    (IP ID and TSval order, the vantage point, the peer's zero window,
//    RTT-based time limits); each departure is named (Deviation) and
//    documented in docs/analysis.md.
// 3. check_validity() adds the checks Wireshark does not make: data beyond
//    the receiver's window, impossible ACKs and SACK blocks, shrinking windows.
// 4. RTT samples: one data segment timed at a time (Karn's rule), and TSval
//    echoes (RFC 7323).
// It reads the lifecycle engine's endpoints (still in their state before the
// segment) and writes only Connection::analysis and anomalies.
#include "tcplife/analyze/seq_analyzer.hpp"

#include <algorithm>
#include <array>

#include "tcplife/analyze/evidence.hpp"
#include "tcplife/analyze/summary.hpp"

namespace tcplife::analyze {
namespace {

using namespace decode::flag;
using tcp::Connection;
using tcp::Endpoint;
using tcp::SegAnalysisEndpoint;
using tcp::seq_diff;
using tcp::seq_ge;
using tcp::seq_gt;
using tcp::seq_le;
using tcp::seq_lt;
using tcp::Side;
namespace sf = tcp::seg_flag;
namespace ev = evidence;
using K = SegClass;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kFastRetransNs = 20 * kMs;  // Wireshark: fast retransmission within 20 ms
constexpr std::int64_t kOooDefaultNs = 3 * kMs;    // Wireshark: out-of-order limit without iRTT

// SegAnalysisEndpoint::last_classes: what the rules need to know about a
// side's latest segment.
constexpr std::uint8_t kLastKeepAlive = 0x01;  // Wireshark classed it a keep-alive
constexpr std::uint8_t kLastZwp = 0x02;        // ... a zero-window probe
constexpr std::uint8_t kLastCopy = 0x04;       // tcplife's verdict: a network duplicate
constexpr std::uint8_t kLastProbe = 0x08;      // tcplife's verdict: a zero-window probe
constexpr std::uint8_t kLastSyn = 0x10;        // a SYN: its window is never scaled

constexpr std::uint32_t kFamily = bit(K::Retransmission) | bit(K::FastRetransmission) |
                                  bit(K::SpuriousRetransmission) | bit(K::OutOfOrder);

std::uint32_t us32(core::Timestamp t) noexcept {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(t.ns / 1000));
}

// The facts of one segment the rules use.
struct Seg {
  std::uint32_t seq = 0, ack = 0, len = 0, frame = 0, now_us = 0;
  std::uint16_t win = 0;
  // The engine's endpoints of the sender and of the receiver, still as they
  // were before this segment (the analyzer sees every segment just before
  // the engine does): their latest segment's raw window and time (0: none yet).
  const Endpoint* own = nullptr;
  const Endpoint* peer = nullptr;
  [[nodiscard]] std::uint16_t own_last_win() const noexcept { return own->last_window; }
  [[nodiscard]] std::uint16_t peer_last_win() const noexcept { return peer->last_window; }
  [[nodiscard]] std::int64_t own_last_ns() const noexcept { return own->last_ts.ns; }
  [[nodiscard]] std::int64_t peer_last_ns() const noexcept { return peer->last_ts.ns; }
  std::int64_t now = 0;
  bool syn = false, fin = false, rst = false, ackf = false;
  bool sfr = false;          // SYN, FIN or RST
  std::uint32_t sf_len = 0;  // 1 for SYN or FIN: the sequence number they take
  int own_shift = -1;        // ws_shift of the sender and of the receiver, fixed while
  int peer_shift = -1;       // the segment is analysed (options change only after it)
};

int ws_shift(const Connection& c, Side s) noexcept;

Seg facts(const Connection& c, Side from, const decode::Segment& s) noexcept {
  Seg g;
  g.own_shift = ws_shift(c, from);
  g.peer_shift = ws_shift(c, flow::other(from));
  g.seq = s.seq;
  g.ack = s.ack;
  g.len = s.payload_len;
  g.frame = static_cast<std::uint32_t>(std::min<std::uint64_t>(s.index + 1, 0xffffffffu));
  g.now = s.ts.ns;
  g.now_us = us32(s.ts);
  g.win = s.window;
  g.own = &c.at(from);
  g.peer = &c.at(flow::other(from));
  g.syn = s.has(kSyn);
  g.fin = s.has(kFin);
  g.rst = s.has(kRst);
  g.ackf = s.has(kAck);
  g.sfr = g.syn || g.fin || g.rst;
  g.sf_len = g.syn || g.fin ? 1u : 0u;
  return g;
}

// Wireshark's win_scale of side `s`: -1 unknown, else the shift in force
// (0 when either SYN went without the option: RFC 7323 §2.2).
int ws_shift(const Connection& c, Side s) noexcept {
  const tcp::EndpointOptions& e = c.at(s).opts;
  const tcp::EndpointOptions& p = c.at(flow::other(s)).opts;
  if (e.seen) {
    if (!e.wscale_present || (p.seen && !p.wscale_present)) return 0;
    return std::min<int>(e.wscale, 14);
  }
  return p.seen && !p.wscale_present ? 0 : -1;
}

// Window `win` of `x`'s latest segment as the peer applies it (never scaled in a SYN).
std::uint32_t scaled_window(const SegAnalysisEndpoint& x, std::uint16_t win, int shift) noexcept {
  const unsigned sh =
      (x.last_classes & kLastSyn) != 0 || shift < 0 ? 0u : static_cast<unsigned>(shift);
  return std::uint32_t{win} << sh;
}

// Relative numbers as Wireshark shows them: SYN = 0, first data byte = 1.
std::int64_t rel(const Endpoint& owner, std::uint32_t v) noexcept {
  return owner.synced ? owner.seq.rel(v) + 1 : 1;
}

struct WsResult {
  std::uint32_t bits = 0;
  std::uint32_t dupnum = 0;
  std::uint32_t dupframe = 0;
  std::uint32_t unseen_limit = 0;  // peer's maxseqtobeacked before an ACKed-unseen
  bool family = false;             // the retransmission tests ran
  bool seq_not_advanced = false;
  bool fast_shape = false;   // >= 2 dup ACKs from the peer asking for this seq
  bool ooo_shape = false;    // does not end exactly at nextseq
  std::int64_t t_fast = -1;  // now - peer's latest segment (-1: none / backwards)
  std::int64_t t_ooo = -1;   // now - when nextseq last advanced
};

std::int64_t since(std::int64_t now, std::int64_t then) noexcept {
  return then == 0 || now < then ? -1 : now - then;
}

std::int64_t ooo_limit_ns(const SegAnalysisEndpoint& f) noexcept {
  return (f.flags & sf::kIrtt) != 0 && f.irtt_us > 0 ? std::int64_t{f.irtt_us} * 1000
                                                     : kOooDefaultNs;
}

WsResult wireshark_rules(SegAnalysisEndpoint& F, SegAnalysisEndpoint& R, const Seg& s) {
  WsResult w;
  const auto set = [&w](K k) { w.bits |= bit(k); };
  bool jump = false;
  // Zero-window probe: 1 byte at the next sequence number into a zero window.
  if (s.len == 1 && s.seq == F.nextseq && s.peer_last_win() == 0) {
    set(K::ZeroWindowProbe);
    jump = true;
  }
  if (!jump) {
    if (s.win == 0 && !s.sfr) set(K::ZeroWindow);
    if (F.nextseq != 0 && seq_gt(s.seq, F.nextseq) && !s.rst) set(K::LostSegment);
    if ((s.len == 0 || s.len == 1) && s.seq == F.nextseq - 1 && !s.sfr) set(K::KeepAlive);
    if (s.len == 0 && s.win != 0 && s.win != s.own_last_win() && s.seq == F.nextseq &&
        s.ack == F.lastack && !s.sfr)
      set(K::WindowUpdate);
    const int shift = s.peer_shift;
    if (s.len > 0 && shift != -1 && !s.sfr &&
        s.seq + s.len == R.lastack + scaled_window(R, s.peer_last_win(), shift))
      set(K::WindowFull);
    const bool same = s.len == 0 && s.win == s.own_last_win() && s.seq == F.nextseq &&
                      s.ack == F.lastack && !s.sfr;
    if (same && s.win != 0 && (R.last_classes & kLastKeepAlive) != 0) {
      set(K::KeepAliveAck);
      jump = true;
    } else if (same && s.win == 0 && (R.last_classes & kLastZwp) != 0) {
      set(K::ZeroWindowProbeAck);
      jump = true;
    } else if (same && s.win != 0) {
      F.dupacks = F.dupacks == -1 ? std::int16_t{1}
                                  : static_cast<std::int16_t>(std::min<int>(F.dupacks + 1, 0x7fff));
      set(K::DupAck);
      w.dupnum = static_cast<std::uint32_t>(F.dupacks);
      w.dupframe = F.lastnondupack;
    }
  }
  // finished_fwd
  if (s.ack != F.lastack) {
    F.lastnondupack = s.frame;
    F.dupacks = 0;
  }
  // ACKed unseen segment. As TShark 4.0 behaves (checked frame by frame):
  // the mark moves to the peer's nextseq so one hole is reported once, and a
  // run of ACKs while the peer sends nothing is reported once (the peer's
  // dup-ACK counter is parked at -1 until its ack changes).
  if (R.maxseqtobeacked != 0 && seq_gt(s.ack, R.maxseqtobeacked) && s.ackf) {
    w.unseen_limit = R.maxseqtobeacked;
    if (R.maxseqtobeacked > R.nextseq) {  // a plain comparison in Wireshark too
      set(K::AckUnseen);
    } else {
      if (R.dupacks == 0) set(K::AckUnseen);
      R.dupacks = -1;
    }
    R.maxseqtobeacked = R.nextseq;
  }
  // Retransmission, fast retransmission, spurious, out-of-order: a segment
  // with data (or SYN/FIN) that does not advance the sequence number.
  if ((s.len > 0 || s.syn || s.fin) && (w.bits & bit(K::KeepAlive)) == 0) {
    w.family = true;
    bool sna = F.nextseq != 0 && seq_lt(s.seq, F.nextseq);
    if (s.len > 1 && F.nextseq - 1 == s.seq) sna = false;  // after a 1-byte probe
    w.seq_not_advanced = sna;
    if (s.len > 0 && R.lastack != 0 && seq_le(s.seq + s.len, R.lastack)) {
      set(K::SpuriousRetransmission);
    } else {
      w.t_fast = since(s.now, s.peer_last_ns());
      w.t_ooo = since(s.now, F.nextseq_ts());
      w.fast_shape = R.dupacks >= 2 && R.lastack == s.seq;
      w.ooo_shape = F.nextseq != s.seq + s.len + s.sf_len;
      if (sna && w.fast_shape && w.t_fast >= 0 && w.t_fast < kFastRetransNs) {
        set(K::FastRetransmission);
      } else if (sna && w.t_ooo >= 0 && w.t_ooo < ooo_limit_ns(F) && w.ooo_shape) {
        set(K::OutOfOrder);
      } else if (sna) {
        set(K::Retransmission);
      }
    }
  }
  return w;
}

// ---------------------------------------------------------------------------
// tcplife's corrections

bool ipid_reliable(const SegAnalysisEndpoint& f) noexcept {
  return f.ipid_up >= 4 && f.ipid_other * 16 <= f.ipid_up;
}

// Was this segment sent after (+1) or before (-1) the segment that carried
// the highest sequence number so far? 0 if the packets cannot tell. A TSval
// decides when it differs (a resend always carries a newer one); else the
// IPv4 ID of a sender that numbers its packets upwards. Some stacks resend
// with the original's ID, so an older ID counts only if the segment comes
// within `before_limit_ns` of the highest one (reordering, not a timer).
int sent_order(const SegAnalysisEndpoint& F, const decode::Segment& seg, std::int64_t since_ns,
               std::int64_t before_limit_ns) noexcept {
  if ((F.flags & sf::kNextTs) != 0 && seg.options.has_timestamps &&
      seg.options.ts_val != F.nextseq_tsval)
    return seq_gt(seg.options.ts_val, F.nextseq_tsval) ? 1 : -1;
  if (seg.ip_version == 4 && ipid_reliable(F) && seg.ip_id != F.nextseq_ipid) {
    const auto d =
        static_cast<std::int16_t>(static_cast<std::uint16_t>(seg.ip_id - F.nextseq_ipid));
    if (d > 0) return 1;
    return since_ns >= 0 && since_ns < before_limit_ns ? -1 : 0;
  }
  return 0;
}

// Smallest round trip measured from the capture point through the peer of
// `x` (x's segments to the peer's answer), in ns; -1 if none.
std::int64_t path_rtt_ns(const SegAnalysisEndpoint& x) noexcept {
  std::int64_t best = -1;
  for (const tcp::RttStats* s : {&x.rtt, &x.ts_rtt}) {
    if (s->samples == 0) continue;
    const std::int64_t v = std::int64_t{s->min_us} * 1000;
    best = best < 0 ? v : std::min(best, v);
  }
  return best;
}

// The full round trip as the capture point sees it: the iRTT, else the sum
// of the two measured halves; -1 if unknown.
std::int64_t loop_rtt_ns(const SegAnalysisEndpoint& F, const SegAnalysisEndpoint& R) noexcept {
  if ((F.flags & sf::kIrtt) != 0 && F.irtt_us > 0) return std::int64_t{F.irtt_us} * 1000;
  const std::int64_t a = path_rtt_ns(F), b = path_rtt_ns(R);
  return a >= 0 && b >= 0 ? a + b : -1;
}

// The highest segment again, identical (same IPv4 ID, same TSval) and much
// sooner than any retransmission can come (a sender resends after at least
// a round trip: a timeout, duplicate ACKs or a tail-loss probe): a copy made
// by the network or by the capture.
bool network_copy(const SegAnalysisEndpoint& F, const SegAnalysisEndpoint& R,
                  const decode::Segment& seg, const Seg& s) noexcept {
  if (s.len == 0 || F.nextseq == 0 || F.nextseq_ts() == 0) return false;
  if (s.seq != F.nextseq_begin || s.seq + s.len + s.sf_len != F.nextseq) return false;
  if (seg.ip_version == 4 && seg.ip_id != F.nextseq_ipid) return false;
  const bool had_ts = (F.flags & sf::kNextTs) != 0;
  if (had_ts != seg.options.has_timestamps) return false;
  if (had_ts && seg.options.ts_val != F.nextseq_tsval) return false;
  // Nothing else from this sender in between (a resend burst after a
  // timeout also resends the latest segment, right after the older ones).
  if (s.own_last_ns() != F.nextseq_ts() && (F.last_classes & kLastCopy) == 0) return false;
  const std::int64_t loop = loop_rtt_ns(F, R);
  const std::int64_t limit = loop > 0 ? loop / 2 : kMs;
  const std::int64_t gap = s.now - F.nextseq_ts();
  return gap >= 0 && gap < limit;
}

struct Final {
  std::uint32_t bits = 0;
  Deviation dev = Deviation::None;
};

Final correct(const Connection& c, Side from, const SegAnalysisEndpoint& F,
              const SegAnalysisEndpoint& R, const decode::Segment& seg, const Seg& s,
              const WsResult& w) {
  Final f{w.bits, Deviation::None};
  const auto has = [&f](K k) { return (f.bits & bit(k)) != 0; };
  const auto swap = [&f](std::uint32_t off, K on, Deviation why) {
    f.bits = (f.bits & ~off) | bit(on);
    f.dev = why;
  };
  const bool peer_spoke = c.at(flow::other(from)).packets > 0;
  // A zero-window probe needs a zero window: Wireshark also fires when the
  // peer has sent nothing at all (its window is still the initial 0).
  if (has(K::ZeroWindowProbe) && !peer_spoke) {
    f.bits &= ~bit(K::ZeroWindowProbe);
    f.dev = Deviation::NoWindowSeen;
  }
  // Linux probes a zero window with seq = SND.UNA - 1 and no data, the shape
  // of a keep-alive; the peer's zero window tells them apart.
  if (has(K::KeepAlive) && s.peer_last_win() == 0 && peer_spoke &&
      (R.last_classes & kLastSyn) == 0) {
    swap(bit(K::KeepAlive), K::ZeroWindowProbe, Deviation::ProbeIntoZeroWindow);
  }
  // ... and the answer to such a probe.
  if ((R.last_classes & kLastProbe) != 0 && (R.last_classes & kLastZwp) == 0 &&
      s.own_last_ns() <= s.peer_last_ns() && s.len == 0 && !s.sfr && s.seq == F.nextseq &&
      (s.ack == F.lastack || s.ack == F.lastack + 1) &&
      (f.bits & (bit(K::ZeroWindowProbeAck) | bit(K::KeepAliveAck))) == 0) {
    f.bits = (f.bits & ~bit(K::DupAck)) | bit(K::ZeroWindowProbeAck);
    f.dev = Deviation::ProbeAck;
  }
  if (!w.family || !w.seq_not_advanced || (f.bits & kFamily) == 0) return f;
  // Wireshark lets a RST's sequence number advance the sender's data (a RST
  // takes none, and a forged or ignored one says nothing about the data).
  if (F.data_nextseq != 0 && !seq_lt(s.seq, F.data_nextseq)) {
    f.bits &= ~kFamily;
    f.dev = Deviation::RstSequence;
    return f;
  }
  if (s.len == 0) return f;

  if (network_copy(F, R, seg, s)) {
    swap(kFamily, K::NetworkDuplicate, Deviation::NetworkDuplicate);
    return f;
  }
  // Sent before the highest segment (older IP ID or TSval): not a resend,
  // whatever Wireshark's timing says. An original delayed in the network, or
  // (all its bytes seen) a copy or an original overtaken by its own resend.
  const std::int64_t loop = loop_rtt_ns(F, R);
  const int order = sent_order(F, seg, w.t_ooo >= 0 ? w.t_ooo : since(s.now, F.nextseq_ts()),
                               loop > 0 ? loop / 2 : kOooDefaultNs);
  if (!has(K::OutOfOrder) && order < 0) {
    swap(kFamily, K::OutOfOrder, Deviation::SentBeforeHighest);
    return f;
  }
  if (has(K::SpuriousRetransmission)) return f;
  if (has(K::OutOfOrder) && order > 0) {
    swap(kFamily, K::Retransmission, Deviation::SentAfterHighest);
    return f;
  }
  if (has(K::OutOfOrder) && order == 0) {
    const VantageInfo v = vantage(c);
    const bool at_sender = (v.where == Vantage::ClientSide && from == c.client) ||
                           (v.where == Vantage::ServerSide && from == c.server());
    if (at_sender) {
      swap(kFamily, K::Retransmission, Deviation::SenderSideCapture);
      return f;
    }
  }
  // Time limits. Without an iRTT, Wireshark's 3 ms out-of-order limit is a
  // guess; the round trip measured through both peers is the real bound.
  if ((F.flags & sf::kIrtt) == 0 && order == 0) {
    const std::int64_t limit = loop;
    if (limit >= 0) {
      const bool ooo = w.t_ooo >= 0 && w.t_ooo < limit && w.ooo_shape;
      if (has(K::OutOfOrder) && !ooo)
        swap(kFamily, K::Retransmission, Deviation::OooThreshold);
      else if (has(K::Retransmission) && ooo)
        swap(kFamily, K::OutOfOrder, Deviation::OooThreshold);
    }
  }
  // A fast retransmission reaches the capture point one round trip through
  // the sender after the duplicate ACKs: widen Wireshark's 20 ms by it.
  if ((has(K::Retransmission) || has(K::OutOfOrder)) && w.fast_shape && order >= 0) {
    const std::int64_t to_sender = path_rtt_ns(R);
    if (to_sender > 0 && w.t_fast >= kFastRetransNs && w.t_fast < kFastRetransNs + to_sender)
      swap(kFamily, K::FastRetransmission, Deviation::FastRetransmitWindow);
  }
  return f;
}

// ---------------------------------------------------------------------------
// reporting

ev::Seen seen_before(const Endpoint& fe, const Seg& s) noexcept {
  if (!fe.synced || s.len == 0) return ev::Seen::None;
  const std::int64_t b = fe.seq.rel(s.syn ? s.seq + 1 : s.seq);
  const std::int64_t e = b + s.len;
  if (!fe.data.started()) return ev::Seen::None;
  if (fe.data.all_seen(b, e)) return ev::Seen::All;
  if (!fe.data.all_seen(b, b + 1) && !fe.data.all_seen(e - 1, e)) return ev::Seen::None;
  return ev::Seen::Part;
}

void report(Connection& c, Side from, const decode::Segment& seg, const Seg& s,
            const SegAnalysisEndpoint& F, const SegAnalysisEndpoint& R, const WsResult& w,
            const Final& f) {
  constexpr std::uint32_t kReported = (std::uint32_t{1} << (kWiresharkClasses + 1)) - 1;
  if ((f.bits & kReported) == 0) return;  // the common case: nothing to report
  const Endpoint& fe = c.at(from);
  const ev::Seen seen = seen_before(fe, s);  // the engine has not seen this segment yet
  const Endpoint& re = c.at(flow::other(from));
  const std::int64_t rseq = rel(fe, s.seq);
  const std::int64_t rack = rel(re, s.ack);
  const auto dev = static_cast<std::uint8_t>(f.dev);
  const std::int64_t gap_us = F.nextseq_ts() != 0 ? (s.now - F.nextseq_ts()) / 1000 : 0;
  const int peer_shift = s.peer_shift;
  const int own_shift = s.own_shift;
  const std::uint32_t own_win = s.syn || own_shift < 0 ? s.win : std::uint32_t{s.win} << own_shift;
  for (std::size_t i = 0; i < kWiresharkClasses + 1; ++i) {
    const auto k = static_cast<K>(i);
    if ((f.bits & bit(k)) == 0) continue;
    std::int64_t a = 0, b = 0, d = 0;
    switch (k) {
      case K::Retransmission:
      case K::OutOfOrder:
      case K::SpuriousRetransmission:
      case K::FastRetransmission:
      case K::NetworkDuplicate: {
        // SYN and FIN retransmissions are the lifecycle engine's
        // (syn_retransmit, synack_retransmit, fin_retransmit).
        if (s.len == 0) continue;
        a = rseq;
        std::uint16_t dups = 0;
        if (k == K::FastRetransmission)
          dups = static_cast<std::uint16_t>(std::max<int>(R.dupacks, 0));
        if (k == K::NetworkDuplicate)  // what was compared: 1 IPv4 ID, 2 TSval
          dups = static_cast<std::uint16_t>((seg.ip_version == 4 ? 1 : 0) |
                                            (seg.options.has_timestamps ? 2 : 0));
        b = ev::pack_seg(s.len, seen, dev, dups);
        if (k == K::FastRetransmission)
          d = R.lastnondupack;
        else if (k == K::SpuriousRetransmission)
          d = rel(fe, R.lastack);
        else if (k == K::NetworkDuplicate)
          d = ev::pack_ref(F.nextseq_frame, gap_us);
        else
          d = ev::pack_ref(F.nextseq_frame, gap_us);
        break;
      }
      case K::LostSegment:
        a = rseq;
        b = rel(fe, F.nextseq);
        d = F.nextseq_frame;
        break;
      case K::AckUnseen:
        a = rack;
        b = rel(re, w.unseen_limit);
        break;
      case K::DupAck:
        a = w.dupnum;
        b = w.dupframe;
        d = rack;
        break;
      case K::ZeroWindow:
        a = rack;
        break;
      case K::ZeroWindowProbe:
      case K::KeepAlive:
        a = rseq;
        b = s.len;
        d = scaled_window(R, s.peer_last_win(), peer_shift);
        break;
      case K::ZeroWindowProbeAck:
      case K::KeepAliveAck:
        a = rack;
        b = own_win;
        break;
      case K::WindowUpdate: {
        a = own_win;
        b = own_shift < 0 || (F.last_classes & kLastSyn) != 0
                ? s.own_last_win()
                : std::uint32_t{s.own_last_win()} << own_shift;
        d = rack;
        break;
      }
      case K::WindowFull:
        a = rseq + s.len;
        b = scaled_window(R, s.peer_last_win(), peer_shift);
        d = rel(fe, R.lastack);
        break;
      default:
        break;
    }
    tcp::add_anomaly(c, seg_class_kind(k), from, seg, a, b, d);
  }
}

// ---------------------------------------------------------------------------
// checks Wireshark does not make

void check_validity(Connection& c, Side from, const decode::Segment& seg, const Seg& s,
                    SegAnalysisEndpoint& F, const SegAnalysisEndpoint& R, Final& f) {
  const Endpoint& fe = c.at(from);
  const Endpoint& re = c.at(flow::other(from));
  const int own_shift = s.own_shift;
  const int peer_shift = s.peer_shift;
  if (s.syn || s.rst) return;  // the handshake and RST checks belong to the engine

  // Data beyond every window the receiver advertised (probes excepted: they
  // are meant to poke past a closed window).
  if (s.len > 0 && (R.flags & sf::kEdge) != 0 && peer_shift >= 0 &&
      (f.bits & (bit(K::ZeroWindowProbe) | bit(K::KeepAlive))) == 0) {
    const std::uint32_t end = s.seq + s.len;
    if (seq_gt(end, R.right_edge)) {
      f.bits |= bit(K::SeqOutOfWindow);
      tcp::add_anomaly(c, tcp::AnomalyKind::SeqOutOfWindow, from, seg, rel(fe, end),
                       rel(fe, R.right_edge), seq_diff(end, R.right_edge));
    }
  }
  const std::uint32_t peer_next = R.data_nextseq != 0 ? R.data_nextseq : R.nextseq;
  if (!s.ackf || !re.synced || peer_next == 0) return;
  const std::int64_t rack = rel(re, s.ack);
  // ACK range (RFC 5961 §5.2): SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
  // Above: beyond all the peer's data captured AND beyond the right edge
  // this side itself advertised (so the peer cannot have sent it).
  if (seq_gt(s.ack, peer_next)) {
    const bool beyond = (F.flags & sf::kEdge) != 0 ? seq_gt(s.ack, F.right_edge)
                                                   : seq_diff(s.ack, peer_next) > (1 << 30);
    if (beyond) {
      f.bits |= bit(K::AckOutOfRange);
      const std::uint32_t limit = (F.flags & sf::kEdge) != 0 ? F.right_edge : peer_next;
      tcp::add_anomaly(c, tcp::AnomalyKind::AckOutOfRange, from, seg, rack, rel(re, limit), 1);
    }
  } else if ((F.flags & sf::kEdge) != 0 && F.max_window < (1u << 30)) {
    // SND.UNA >= SND.NXT - MAX.SND.WND, so SND.UNA - MAX.SND.WND is at least
    // the peer's highest sequence number minus two windows.
    const std::uint32_t low = peer_next - 2 * F.max_window;
    if (seq_lt(s.ack, low)) {
      f.bits |= bit(K::AckOutOfRange);
      tcp::add_anomaly(c, tcp::AnomalyKind::AckOutOfRange, from, seg, rack, rel(re, low), -1);
    }
  }
  // SACK blocks (RFC 2018, D-SACK RFC 2883 allowed below the ACK).
  for (std::size_t i = 0; i < seg.options.sack_count; ++i) {
    const decode::SackBlock& sb = seg.options.sack[i];
    ev::SackReason why{};
    std::int64_t limit = 0;
    if (!seq_gt(sb.right, sb.left)) {
      why = ev::SackReason::Malformed;
    } else if ((F.flags & sf::kEdge) != 0 && seq_gt(sb.right, F.right_edge) &&
               seq_gt(sb.right, peer_next)) {
      why = ev::SackReason::BeyondWindow;
      limit = rel(re, F.right_edge);
    } else if ((F.flags & sf::kEdge) != 0 && seq_lt(sb.right, s.ack - F.max_window)) {
      why = ev::SackReason::FarBehind;
      limit = rel(re, s.ack - F.max_window);
    } else {
      continue;
    }
    f.bits |= bit(K::SackOutOfWindow);
    tcp::add_anomaly(c, tcp::AnomalyKind::SackOutOfWindow, from, seg, rel(re, sb.left),
                     rel(re, sb.right), ev::pack_sack(why, limit));
    break;
  }
  // The right edge of this side's window must not move left (RFC 9293
  // §3.8.6); a scaled window is rounded down, so allow less than one unit.
  if (own_shift >= 0) {
    const std::uint32_t wnd = std::uint32_t{s.win} << own_shift;
    const std::uint32_t edge = s.ack + wnd;
    // Only an ACK at least as new as every earlier one (ACKs can be
    // reordered on the way to the capture point).
    const bool newest = !fe.ack_seen || !re.synced || re.seq.rel(s.ack) >= fe.max_ack_rel;
    if ((F.flags & sf::kEdge) != 0 && seq_lt(edge, F.right_edge) && newest) {
      const std::int32_t shrink = seq_diff(F.right_edge, edge);
      if (shrink >= (1 << own_shift)) {
        f.bits |= bit(K::WindowShrink);
        tcp::add_anomaly(c, tcp::AnomalyKind::WindowShrink, from, seg, rel(re, F.right_edge),
                         rel(re, edge), shrink);
      }
    }
  }
}

// The window this side advertises (only known once scaling is known).
void note_window(SegAnalysisEndpoint& F, const Seg& s) noexcept {
  if (!s.ackf || s.rst) return;
  const int shift = s.own_shift;
  if (shift < 0 && !s.syn) return;
  const std::uint32_t wnd = s.syn ? s.win : std::uint32_t{s.win} << shift;
  const std::uint32_t edge = s.ack + wnd;
  if ((F.flags & sf::kEdge) == 0 || seq_gt(edge, F.right_edge)) F.right_edge = edge;
  F.max_window = (F.flags & sf::kEdge) == 0 ? wnd : std::max(F.max_window, wnd);
  F.flags |= sf::kEdge;
}

// ---------------------------------------------------------------------------
// RTT

void rtt_samples(const decode::Segment& seg, const Seg& s, SegAnalysisEndpoint& F,
                 SegAnalysisEndpoint& R, bool new_data) {
  // Karn: data sent again poisons the timing of anything it overlaps.
  if ((F.flags & sf::kTimed) != 0 && s.len > 0 && !new_data && seq_lt(s.seq, F.timed_end))
    F.flags &= static_cast<std::uint8_t>(~sf::kTimed);
  if (s.ackf && (R.flags & sf::kTimed) != 0 && seq_ge(s.ack, R.timed_end)) {
    add_sample(R.rtt, s.now_us - R.timed_us);
    R.flags &= static_cast<std::uint8_t>(~sf::kTimed);
  }
  if (new_data && s.len > 0 && !s.rst && (F.flags & sf::kTimed) == 0) {
    F.timed_end = s.seq + s.len + (s.syn ? 1u : 0u);
    F.timed_us = s.now_us;
    F.flags |= sf::kTimed;
  }
  if (!seg.options.has_timestamps) return;
  const std::uint32_t val = seg.options.ts_val, ecr = seg.options.ts_ecr;
  if ((R.flags & sf::kTsPending) != 0 && s.ackf) {
    if (ecr == R.ts_val) {
      add_sample(R.ts_rtt, s.now_us - R.ts_us);
      R.flags &= static_cast<std::uint8_t>(~sf::kTsPending);
    } else if (seq_gt(ecr, R.ts_val)) {
      R.flags &= static_cast<std::uint8_t>(~sf::kTsPending);  // its first echo was not captured
    }
  }
  // Time only TSvals the peer must answer at once: on data, SYN or FIN (it
  // must ACK them), or on an ACK of new data while more of the peer's data is
  // in flight (ACK clocking). A pure ACK's TSval is echoed whenever the peer
  // next has something to send, which can be seconds later.
  const bool answered =
      s.len > 0 || s.syn || s.fin ||
      (s.ackf && R.nextseq != 0 && seq_gt(s.ack, F.lastack) && seq_lt(s.ack, R.nextseq));
  if (answered && (F.flags & sf::kTsPending) == 0 &&
      ((F.flags & sf::kTsSeen) == 0 || seq_gt(val, F.ts_val))) {
    F.ts_val = val;
    F.ts_us = s.now_us;
    F.flags |= sf::kTsPending | sf::kTsSeen;
  }
}

void handshake_times(Connection& c, SegAnalysisEndpoint& F, const Seg& s) noexcept {
  const bool irtt = (F.flags & sf::kIrtt) != 0;
  if (s.syn && !s.ackf) {
    F.hs_us = s.now_us;
    F.flags |= sf::kHsSeen | sf::kHsSyn;
  } else if (s.syn && !irtt && (F.flags & sf::kHsSyn) == 0) {
    F.hs_us = s.now_us;
    F.flags |= sf::kHsSeen;
  }
  // Wireshark's iRTT: latest pure SYN to the first segment with ACK and no SYN.
  if (s.ackf && !s.syn && !irtt) {
    const SegAnalysisEndpoint* syn = nullptr;
    for (const SegAnalysisEndpoint& x : c.analysis) {
      if ((x.flags & sf::kHsSyn) == 0) continue;
      if (syn == nullptr || static_cast<std::int32_t>(x.hs_us - syn->hs_us) > 0) syn = &x;
    }
    if (syn != nullptr) {
      const std::uint32_t v = s.now_us - syn->hs_us;
      for (SegAnalysisEndpoint& x : c.analysis) {
        x.irtt_us = v;
        x.flags |= sf::kIrtt;
      }
    }
  }
}

// Does this side number its IPv4 packets in sending order? (Linux, Windows
// and macOS count up per packet; some stacks use 0 or random IDs, and SYNs
// often carry 0.) Counts the steps between successive highest segments.
void note_ipid(SegAnalysisEndpoint& F, const decode::Segment& seg) noexcept {
  if (seg.ip_version != 4 || F.nextseq == 0 || seg.ip_id == 0 || F.nextseq_ipid == 0) return;
  const auto d = static_cast<std::uint16_t>(seg.ip_id - F.nextseq_ipid);
  std::uint8_t& n = d > 0 && d < 1024 ? F.ipid_up : F.ipid_other;
  if (n == 255) {
    F.ipid_up = static_cast<std::uint8_t>(F.ipid_up / 2);
    F.ipid_other = static_cast<std::uint8_t>(F.ipid_other / 2);
  }
  ++n;
}

}  // namespace

void SeqAnalyzer::on_segment(Connection& c, Side from, const decode::Segment& seg) {
  SegAnalysisEndpoint& F = c.analysis[flow::idx(from)];
  SegAnalysisEndpoint& R = c.analysis[flow::idx(flow::other(from))];
  const Seg s = facts(c, from, seg);
  handshake_times(c, F, s);

  const WsResult w = wireshark_rules(F, R, s);
  Final f = correct(c, from, F, R, seg, s, w);
  report(c, from, seg, s, F, R, w, f);
  if ((f.bits &
       (bit(K::Retransmission) | bit(K::FastRetransmission) | bit(K::SpuriousRetransmission))) != 0)
    F.resent_bytes = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::uint64_t{F.resent_bytes} + s.len, 0xffffffffu));
  check_validity(c, from, seg, s, F, R, f);

  // State updates, as Wireshark makes them (a probe does not advance nextseq).
  const std::uint32_t nextseq = s.seq + s.len + s.sf_len;
  const bool ws_probe = (w.bits & bit(K::ZeroWindowProbe)) != 0;
  const bool advances = F.nextseq == 0 || seq_gt(nextseq, F.nextseq);
  const bool new_data =
      !ws_probe && !s.rst && (F.data_nextseq == 0 || seq_gt(nextseq, F.data_nextseq));
  rtt_samples(seg, s, F, R, new_data);
  if (advances && !ws_probe) {
    if (s.len > 0 || s.sf_len > 0) {
      note_ipid(F, seg);
      F.nextseq_begin = s.seq;
      F.nextseq_ipid = seg.ip_id;
      if (seg.options.has_timestamps) {
        F.nextseq_tsval = seg.options.ts_val;
        F.flags |= sf::kNextTs;
      } else {
        F.flags &= static_cast<std::uint8_t>(~sf::kNextTs);
      }
    }
    F.nextseq = nextseq;
    F.nextseq_frame = s.frame;
    F.set_nextseq_ts(s.now);
  }
  if (!s.rst && (s.len > 0 || s.sf_len > 0) &&
      (F.data_nextseq == 0 || seq_gt(nextseq, F.data_nextseq)))
    F.data_nextseq = nextseq;
  if ((s.seq == F.maxseqtobeacked || F.maxseqtobeacked == 0) && !ws_probe)
    F.maxseqtobeacked = F.nextseq;
  if ((f.bits & bit(K::AckOutOfRange)) == 0) note_window(F, s);
  F.lastack = s.ack;
  F.last_classes = static_cast<std::uint8_t>(
      ((w.bits & bit(K::KeepAlive)) != 0 ? kLastKeepAlive : 0u) |
      ((w.bits & bit(K::ZeroWindowProbe)) != 0 ? kLastZwp : 0u) |
      ((f.bits & bit(K::ZeroWindowProbe)) != 0 ? kLastProbe : 0u) |
      ((f.bits & bit(K::NetworkDuplicate)) != 0 ? kLastCopy : 0u) | (s.syn ? kLastSyn : 0u));

  if (verdicts_ != nullptr) {
    SegmentVerdict v;
    v.classes = f.bits;
    v.wireshark = w.bits;
    v.dupack_num = (w.bits & bit(K::DupAck)) != 0 ? w.dupnum : 0;
    v.deviation = f.dev;
    verdicts_->on_verdict(c, from, seg, v);
  }
}

void SeqAnalyzer::on_finish(Connection&) {}

std::string_view seg_class_name(SegClass k) noexcept {
  return tcp::anomaly_name(seg_class_kind(k));
}

tcp::AnomalyKind seg_class_kind(SegClass k) noexcept {
  using A = tcp::AnomalyKind;
  static constexpr std::array<A, kSegClasses> kKinds = {A::Retransmission,
                                                        A::FastRetransmission,
                                                        A::SpuriousRetransmission,
                                                        A::OutOfOrder,
                                                        A::LostSegment,
                                                        A::AckUnseen,
                                                        A::DupAck,
                                                        A::ZeroWindow,
                                                        A::ZeroWindowProbe,
                                                        A::ZeroWindowProbeAck,
                                                        A::WindowUpdate,
                                                        A::WindowFull,
                                                        A::KeepAlive,
                                                        A::KeepAliveAck,
                                                        A::NetworkDuplicate,
                                                        A::SeqOutOfWindow,
                                                        A::AckOutOfRange,
                                                        A::WindowShrink,
                                                        A::SackOutOfWindow};
  const auto i = static_cast<std::size_t>(k);
  return i < kKinds.size() ? kKinds[i] : A::Retransmission;
}

std::string_view deviation_name(Deviation d) noexcept {
  static constexpr std::array<std::string_view, static_cast<std::size_t>(Deviation::kCount)>
      kNames = {"none",
                "sent_after_highest",
                "sent_before_highest",
                "sender_side_capture",
                "network_duplicate",
                "probe_into_zero_window",
                "probe_ack",
                "no_window_seen",
                "ooo_threshold",
                "fast_retransmit_window",
                "rst_sequence"};
  const auto i = static_cast<std::size_t>(d);
  return i < kNames.size() ? kNames[i] : std::string_view("none");
}

}  // namespace tcplife::analyze
