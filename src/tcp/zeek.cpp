// SPDX-License-Identifier: MIT
#include "tcp/zeek.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::tcp {
namespace {

using namespace decode::flag;
using Z = ZeekState;

// Zeek's history masks (TCPSessionAdapter): S and H share one bit.
constexpr std::uint32_t kHistSyn = 0x1, kHistFin = 0x2, kHistRst = 0x4, kHistFinRst = 0x8,
                        kHistData = 0x10, kHistAck = 0x20, kHistMulti = 0x40;
constexpr std::int64_t kWildJump = 1 << 20;  // SYN/RST seq jumps Zeek ignores (1 MiB)
// Zeek's timer defaults (init-bare.zeek), in ns.
constexpr std::int64_t kSec = core::kNsPerSec;
constexpr std::int64_t kAttemptDelay = 5 * kSec;      // tcp_attempt_delay
constexpr std::int64_t kCloseDelay = 5 * kSec;        // tcp_close_delay (and tcp_reset_delay)
constexpr std::int64_t kPartialCloseDelay = 3 * kSec; // tcp_partial_close_delay
constexpr std::int64_t kSessionTimer = 6 * kSec;      // tcp_session_timer
constexpr std::int64_t kLinger = 5 * kSec;            // tcp_connection_linger
constexpr std::int64_t kInactivity = 300 * kSec;      // tcp_inactivity_timeout
constexpr std::int64_t kEarlyInactivity = 60 * kSec;  // before the handshake completes

// TCP ports in Zeek's likely_server_ports after a default `zeek -r` (base
// scripts): the server ports its protocol analyzers register.
bool likely_server_port(std::uint16_t p) {
  static constexpr std::array<std::uint16_t, 48> kPorts = {
      21,   22,   25,   53,   79,   80,   81,   88,   110,  135,  139,  143,
      389,  443,  445,  502,  563,  585,  587,  614,  631,  636,  989,  990,
      992,  993,  995,  1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222,
      5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000};
  return std::find(kPorts.begin(), kPorts.end(), p) != kPorts.end();
}

struct Ctx {
  ZeekShadow& z;
  Side from;
  const decode::Segment& seg;
  ZeekEndpoint& e;
  ZeekEndpoint& p;
  [[nodiscard]] bool is_orig() const { return from == z.orig; }
};

void append(ZeekShadow& z, bool orig, char upper) {
  if (z.history.size() >= Connection::kMaxHistory) return;
  z.history.push_back(orig ? upper : static_cast<char>(upper - 'A' + 'a'));
}

// Appends the letter unless this direction has it already; returns true if it had.
bool check_history(ZeekShadow& z, bool orig, std::uint32_t mask, char letter) {
  const std::uint32_t bit = orig ? mask : mask << 16;
  if (z.hist_seen & bit) return true;
  z.hist_seen |= bit;
  append(z, orig, letter);
  return false;
}

// Zeek's ScaledHistoryEntry: the letter at the 1st, 10th, 100th, ... time.
// `thr` is the exponent of the next threshold; past 10^9, Zeek's 32-bit
// threshold stops at 2^32 - 1 (exponent 10).
void scaled(ZeekShadow& z, bool orig, std::uint32_t& cnt, std::uint8_t& thr, char letter) {
  static constexpr std::array<std::uint32_t, 11> kThreshold = {
      1,      10,      100,      1000,      10000,     100000,
      1000000, 10000000, 100000000, 1000000000, 0xffffffffu};
  ++cnt;
  if (cnt == kThreshold[thr]) {
    append(z, orig, letter);
    if (thr < 10) ++thr;
  }
}

void flip_roles(ZeekShadow& z) {
  z.orig = flow::other(z.orig);
  z.is_partial = false;
  append(z, true, '^');
}

void set_state(ZeekEndpoint& e, Z s) {
  if (e.state != s) {
    e.prev_state = e.state;
    e.state = s;
  }
}

std::int64_t unwrap(ZeekEndpoint& e, std::uint32_t v) {
  if (!e.anchored) {
    e.space.reset(v);
    e.anchored = true;
  }
  return e.space.advance(v);
}

void init_endpoint(ZeekEndpoint& e, bool syn, std::int64_t base, std::int64_t end) {
  auto fresh = [&] {
    e.start = e.ack = base;
    e.last = end;
  };
  switch (e.state) {
    case Z::Inactive:
      if (syn) {
        fresh();
      } else {
        e.start = e.ack = base - 1;  // a fake ISN: the first data byte is relative 1
        e.last = base;
      }
      break;
    case Z::SynSent:
    case Z::SynAckSent:
      if (syn && base != e.start) fresh();
      break;
    case Z::Established:
    case Z::Partial:
      if (syn) fresh();
      break;
    case Z::Reset:
      if (syn && e.prev_state == Z::Inactive) fresh();
      break;
    case Z::Closed:
      break;
  }
}

// Zeek's update_history; returns after a possible "^h" flip (mechanism 3).
void update_history(Ctx& x, std::int64_t rel_seq) {
  const std::uint16_t f = x.seg.flags;
  const int n = ((f & kSyn) != 0) + ((f & kFin) != 0) + ((f & kRst) != 0);
  const std::uint32_t len = x.seg.payload_len;
  ZeekShadow& z = x.z;
  if (n > 1) {
    if ((f & kFin) && (f & kRst)) {
      check_history(z, x.is_orig(), kHistFinRst, 'I');
    } else {
      check_history(z, x.is_orig(), kHistMulti, 'Q');
    }
    return;
  }
  if (n == 1) {
    if (f & kSyn) {
      const char ch = (f & kAck) ? 'H' : 'S';
      if (check_history(z, x.is_orig(), kHistSyn, ch) && rel_seq != x.e.hist_last_syn)
        append(z, x.is_orig(), ch);
      x.e.hist_last_syn = rel_seq;
    } else if (f & kFin) {
      ZeekRare::Endpoint& r = z.rare_ep(x.from);
      if (check_history(z, x.is_orig(), kHistFin, 'F') && rel_seq + len != r.hist_last_fin)
        append(z, x.is_orig(), 'F');
      r.hist_last_fin = rel_seq + len;
    } else {
      ZeekRare::Endpoint& r = z.rare_ep(x.from);
      if (check_history(z, x.is_orig(), kHistRst, 'R') && rel_seq != r.hist_last_rst)
        append(z, x.is_orig(), 'R');
      r.hist_last_rst = rel_seq;
    }
    return;
  }
  const bool data = len > 0;
  if (!data && !(f & kAck)) return;
  // A SYN-ACK seen first, then productive traffic: Zeek decides the SYN-ACK's
  // sender was the responder all along and rewrites the history as "^h".
  if (z.history == "H") {
    z.orig = flow::other(z.orig);
    z.is_partial = false;
    z.history.assign("^h");
  }
  if (data) {
    check_history(z, x.is_orig(), kHistData, 'D');
  } else {
    check_history(z, x.is_orig(), kHistAck, 'A');
  }
}

// A FIN closes the endpoint, then a RST (in the same packet or not) resets it.
bool close_on_fin_or_rst(ZeekEndpoint& e, std::uint16_t f) {
  bool do_close = false;
  if (f & kFin) {
    set_state(e, Z::Closed);
    do_close = true;
  }
  if (f & kRst) {
    set_state(e, Z::Reset);
    do_close = true;
  }
  return do_close;
}

bool inactive_state(Ctx& x, std::int64_t base, std::int64_t start_before) {
  const std::uint16_t f = x.seg.flags;
  bool do_close = false;
  ZeekEndpoint& e = x.e;
  ZeekEndpoint& p = x.p;
  if (f & kSyn) {
    if (x.is_orig()) {
      set_state(e, (f & kAck) ? Z::SynAckSent : Z::SynSent);
      if (!x.z.attempt_armed_once) {
        x.z.attempt_armed_once = true;
        x.z.attempt_at = x.seg.ts.ns + kAttemptDelay;
      }
    } else {
      if (!(f & kAck) && p.state == Z::SynAckSent && base == start_before) {
        flip_roles(x.z);
        set_state(p, Z::Established);
      }
      if (p.state == Z::SynSent) set_state(p, Z::Established);
      set_state(e, Z::Established);
    }
  }
  do_close = close_on_fin_or_rst(e, f) || do_close;
  if (e.state == Z::Inactive) {
    const ZeekEndpoint& orig = x.z.ep[flow::idx(x.z.orig)];
    if (!x.is_orig() && x.seg.payload_len == 0 && orig.state == Z::SynSent) {
      // an ACK of the SYN before any SYN-ACK: stay inactive
    } else if ((f & kAck) && p.state == Z::Established) {
      set_state(e, Z::Established);
    } else {
      set_state(e, Z::Partial);
    }
  }
  return do_close;
}

bool state_machine(Ctx& x, std::int64_t base, std::int64_t start_before) {
  const std::uint16_t f = x.seg.flags;
  ZeekEndpoint& e = x.e;
  ZeekEndpoint& p = x.p;
  bool do_close = false;
  switch (e.state) {
    case Z::Inactive:
      return inactive_state(x, base, start_before);
    case Z::SynSent:
    case Z::SynAckSent:
      return close_on_fin_or_rst(e, f);
    case Z::Established:
    case Z::Partial:
      if ((f & kSyn) && e.state == Z::Partial && p.state == Z::Inactive && !(f & kAck))
        set_state(e, Z::SynSent);
      if ((f & kFin) && !(f & kRst)) {
        set_state(e, Z::Closed);
        do_close = true;
        if (p.state == Z::Reset && p.prev_state == Z::Closed) set_state(p, Z::Closed);
      }
      if (f & kRst) {
        set_state(e, Z::Reset);
        do_close = true;
      }
      return do_close;
    case Z::Closed:
      if ((f & kRst) && p.state != Z::Closed) {
        set_state(e, Z::Reset);
        if (e.did_close)
          x.z.rare.need().delete_at = x.seg.ts.ns + kCloseDelay;  // Zeek's ResetTimer
        return !e.did_close;
      }
      return false;
    case Z::Reset:
      return false;
  }
  return false;
}

bool clean(const ZeekEndpoint& x) {
  return x.state == Z::Established || (x.state == Z::Closed && x.prev_state == Z::Established);
}

// The reassembler's AckReceived: holes the ACK covers are content gaps.
void ack_received(Ctx& x, std::int64_t rel_ack) {
  ZeekEndpoint& p = x.p;  // the acknowledged data is the peer's
  const Side peer = flow::other(x.from);
  std::int64_t up = rel_ack;
  const ZeekRare::Endpoint* pr = std::as_const(x.z).find_rare(peer);
  if (pr != nullptr && pr->fin_cnt > 0 && up >= pr->fin_seq) up = pr->fin_seq - 1;
  if (up <= p.trim) return;
  if (up > p.reassem && !(up <= 2 && x.z.is_partial)) {
    // Walk [reassem, up): whatever p's data did not cover is a gap.
    std::int64_t pos = p.reassem;
    while (pos < up) {
      std::int64_t hole_end = up;
      if (p.data.started() && pos >= p.data.low() && pos < p.data.high() &&
          p.data.all_seen(pos, pos + 1)) {
        // inside received data: skip to where it stops
        std::int64_t lo = pos + 1, hi = std::min(up, p.data.high());
        while (lo < hi) {  // largest end with all_seen(pos, end)
          const std::int64_t mid = lo + (hi - lo + 1) / 2;
          if (p.data.all_seen(pos, mid)) lo = mid; else hi = mid - 1;
        }
        pos = lo;
        continue;
      }
      // in a hole: find where received data resumes
      if (p.data.started() && pos < p.data.high()) {
        std::int64_t lo = pos + 1, hi = std::min(up, p.data.high());
        // first position q > pos with all_seen(q, q+1), or hi
        std::int64_t q = hi;
        for (std::int64_t cand = lo; cand < hi;) {
          if (p.data.all_seen(cand, cand + 1)) {
            q = cand;
            break;
          }
          // jump by doubling to keep this bounded on long holes
          std::int64_t step = 1;
          while (cand + step < hi && !p.data.all_seen(cand + step, cand + step + 1)) step *= 2;
          if (cand + step >= hi) {
            cand = hi;
          } else {
            // refine between cand and cand+step
            std::int64_t a = cand, b = cand + step;
            while (b - a > 1) {
              const std::int64_t m = a + (b - a) / 2;
              bool any = false;
              for (std::int64_t t = a + 1; t <= m && !any; ++t) any = p.data.all_seen(t, t + 1);
              if (any) b = m; else a = m;
            }
            q = b;
            break;
          }
        }
        hole_end = q;
      }
      const std::int64_t gap = hole_end - pos;
      if (gap > 0 && clean(p) && clean(x.e)) {
        ZeekRare::Endpoint& r = x.z.rare_ep(peer);
        scaled(x.z, peer == x.z.orig, r.cnt_g, r.thr_g, 'G');
        r.missed += static_cast<std::uint64_t>(gap);
      }
      pos = hole_end;
    }
    p.reassem = up;
  }
  p.trim = up;
}


// ConnectionClosed: marks the side closed and arms the timer that will end
// Zeek's connection (TCPSessionAdapter::ConnectionClosed).
void connection_closed(ZeekShadow& z, ZeekEndpoint& e, const ZeekEndpoint& p) {
  e.did_close = true;
  const bool complete = e.state == Z::Reset || p.did_close || p.state == Z::Inactive;
  ZeekRare& r = z.rare.need();
  if (complete) {
    r.delete_at = z.last_time.ns + kCloseDelay;
  } else if (e.prev_state == Z::Inactive) {
    r.partial_close_at = z.last_time.ns + kPartialCloseDelay;
  } else if (r.expire_at == 0) {
    r.expire_at = z.last_time.ns + kSessionTimer;
  }
}

// Would one of Zeek's timers have removed this connection before `now`?
// Nothing of this connection happens between its packets, so the state a
// timer sees is the state after the last packet.
bool timers_expired(ZeekShadow& z, std::int64_t now) {
  const ZeekEndpoint& o = z.ep[flow::idx(z.orig)];
  const ZeekEndpoint& r = z.ep[flow::idx(flow::other(z.orig))];
  const auto handshaking = [](Z st) {
    return st == Z::Inactive || st == Z::SynSent || st == Z::SynAckSent;
  };
  for (;;) {
    const std::int64_t idle = handshaking(o.state) && handshaking(r.state) ? kEarlyInactivity
                                                                           : kInactivity;
    std::int64_t t = z.last_packet.ns + idle;
    int which = 0;
    ZeekRare* rare = z.rare.get();  // which > 1 below: rare is set
    const std::int64_t armed[] = {z.attempt_at, rare != nullptr ? rare->delete_at : 0,
                                  rare != nullptr ? rare->partial_close_at : 0,
                                  rare != nullptr ? rare->expire_at : 0};
    for (int i = 0; i < 4; ++i) {
      if (armed[i] != 0 && armed[i] < t) {
        t = armed[i];
        which = i + 1;
      }
    }
    if (t > now) return false;
    switch (which) {
      case 0:  // inactivity
        return true;
      case 1:  // attempt: still no answer to the SYN
        z.attempt_at = 0;
        if ((o.state == Z::SynSent || o.state == Z::SynAckSent) && r.state == Z::Inactive)
          return true;
        break;
      case 2:  // close or reset delay
        return true;
      case 3: {  // partial close: removed unless both sides have closed meanwhile
        rare->partial_close_at = 0;
        const bool both_closed = (o.state == Z::Reset || o.did_close) &&
                                 (r.state == Z::Reset || r.did_close);
        if (!both_closed) return true;
        break;
      }
      default: {  // expire: no activity for the linger time after a close
        rare->expire_at = 0;
        const bool some_closed = o.did_close || r.did_close;
        const bool terminated = (o.did_close && r.did_close) || o.state == Z::Reset ||
                                r.state == Z::Reset || o.state == Z::Inactive ||
                                r.state == Z::Inactive;
        if (z.last_time.ns + kLinger < t && some_closed && terminated) return true;
        if (o.state == Z::Inactive && r.state == Z::Inactive) return true;
        rare->expire_at = t + kSessionTimer;
        break;
      }
    }
  }
}

// `n`: the row's own counts, or nullptr for the whole connection's view
// (counted by the connection itself; see Connection::zk_counts).
void process_shadow(ZeekShadow& z, ZeekRowCounts* n, Side from, const decode::Segment& seg) {
  const std::uint16_t f = seg.flags;
  if (!z.created) {
    z.created = true;
    z.orig = from;
    z.last_time = seg.ts;
    if (n != nullptr) n->start_time = seg.ts;
    // Zeek flips at creation when the first packet is not a pure SYN and comes
    // from a likely server port (a SYN-ACK only if the other port is not one).
    const bool pure_syn = (f & kSyn) && !(f & kAck);
    if (!pure_syn && likely_server_port(seg.sport)) {
      const bool flip = likely_server_port(seg.dport) ? (!(f & kSyn) && seg.sport < seg.dport) : true;
      if (flip) flip_roles(z);
    }
  }
  ZeekEndpoint& e = z.ep[flow::idx(from)];
  ZeekEndpoint& p = z.ep[flow::idx(flow::other(from))];
  Ctx x{z, from, seg, e, p};

  if (seg.checksum == decode::Checksum::Bad) {
    ZeekRare::Endpoint& r = z.rare_ep(from);
    scaled(z, x.is_orig(), r.cnt_c, r.thr_c, 'C');
    ++r.bad_pkts;
    r.bad_ip_bytes += seg.ip_total_len;
    return;
  }
  if (!e.seen) {
    e.seen = true;
    e.first_was_syn = (f & kSyn) != 0;
    const ZeekEndpoint& o = z.ep[flow::idx(z.orig)];
    const ZeekEndpoint& r = z.ep[flow::idx(flow::other(z.orig))];
    z.is_partial = (o.seen && !(o.first_was_syn && !(f & kAck && from == z.orig))) ||
                   (r.seen && !r.first_was_syn);
    if (from == z.orig) z.is_partial = !((f & kSyn) && !(f & kAck)) || (r.seen && !r.first_was_syn);
  }

  const std::uint32_t len = seg.payload_len;
  const bool syn = f & kSyn, fin = f & kFin, rst = f & kRst, ack = f & kAck;
  const std::int64_t seg_len =
      static_cast<std::int64_t>(rst ? 0 : len) + (syn ? 1 : 0) + (fin ? 1 : 0);
  const std::int64_t base = unwrap(e, seg.seq);
  const std::int64_t end = base + seg_len;
  const std::int64_t start_before = e.start;
  init_endpoint(e, syn, base, end);
  const std::int64_t rel_seq = base - e.start;
  const bool underflow = rel_seq < 0;

  update_history(x, rel_seq);
  // update_window: a zero window, unless RST, the peer closed or we reset
  if (seg.window == 0 && !rst && p.state != Z::Closed && e.state != Z::Reset) {
    ZeekRare::Endpoint& r = z.rare_ep(from);
    scaled(z, x.is_orig(), r.cnt_w, r.thr_w, 'W');
  }
  if (!(z.ep[0].did_close && z.ep[1].did_close)) z.last_time = seg.ts;
  if (fin) {
    ZeekRare::Endpoint& r = z.rare_ep(from);
    ++r.fin_cnt;
    r.fin_seq = rel_seq + seg_len;
  }
  if (rst) ++z.rare_ep(from).rst_cnt;
  std::int64_t rel_ack = 0;
  if (ack) {
    if (p.state == Z::Inactive) {
      rel_ack = 1;
      const std::int64_t a = unwrap(p, seg.ack);
      p.start = p.last = p.ack = a - 1;
    } else {
      const std::int64_t a = unwrap(p, seg.ack);
      rel_ack = a - p.start;
      if (rel_ack < 0) {
        rel_ack = 0;
      } else if (!rst && a > p.ack) {
        p.ack = a;
      }
    }
  }
  // update_last_seq, with the endpoint's state before this packet
  const std::int64_t d = end - e.last;
  if ((syn || rst) && (d > kWildJump || d < -kWildJump)) {
  } else if (fin && e.last == e.start + 1) {
    e.last = end;
  } else if (e.state == Z::Reset) {
  } else if (d > 0) {
    e.last = end;
  } else if (len > 0) {
    scaled(z, x.is_orig(), e.cnt_t, e.thr_t, 'T');
  }
  const bool do_close = state_machine(x, base, start_before);
  if (ack) ack_received(x, rel_ack);
  if (len > 0 && !rst && !underflow && seg.payload.size() >= len) {
    const std::int64_t data_rel = rel_seq + (syn ? 1 : 0);
    e.data.add(data_rel, data_rel + len);
    if (e.reassem == data_rel || (e.data.all_seen(e.reassem, data_rel))) {
      // contiguous delivery moves the reassembly point
      std::int64_t hi = std::max(e.reassem, data_rel + static_cast<std::int64_t>(len));
      if (e.data.all_seen(e.reassem, hi)) e.reassem = hi;
    }
  }
  if (do_close && !e.did_close) connection_closed(z, e, p);
  if (n != nullptr) {
    ++n->pkts[flow::idx(from)];
    n->ip_bytes[flow::idx(from)] += seg.ip_total_len;
  }
  z.last_packet = seg.ts;
}

}  // namespace

void zeek_process(Connection& c, Side from, const decode::Segment& seg) {
  ZeekRow* split = c.cold ? c.cold->zk_row.get() : nullptr;
  ZeekShadow& row = split != nullptr ? split->z : c.zk;
  if (row.created && c.zk_rows().size() < Connection::kMaxZeekRows &&
      timers_expired(row, seg.ts.ns)) {
    ConnectionCold& cold = c.cold_part();
    if (split != nullptr) {
      cold.zk_rows.push_back(std::move(*split));  // finished: moved, not copied
      *split = ZeekRow{};
    } else {
      cold.zk_rows.push_back(ZeekRow{c.zk, c.zk_counts()});
      cold.zk_row = std::make_unique<ZeekRow>();
      split = cold.zk_row.get();
    }
  }
  process_shadow(c.zk, nullptr, from, seg);
  if (split != nullptr) process_shadow(split->z, &split->n, from, seg);
}

Side zeek_originator(const Connection& c) { return c.zk.orig; }

std::string zeek_history(const Connection& c) { return std::string(c.zk.history.view()); }

std::uint64_t zeek_size(const ZeekShadow& z, Side s) {
  const ZeekEndpoint& e = z.ep[flow::idx(s)];
  const ZeekEndpoint& p = z.ep[flow::idx(flow::other(s))];
  const bool no_data_acked = e.ack == e.start || e.ack == e.start + 1;
  if (e.prev_state == Z::SynSent && e.state == Z::Reset && p.state == Z::Inactive && !no_data_acked)
    return 0;
  std::int64_t size = std::max(e.last, e.ack) - e.start;
  if (size != 0) --size;
  const ZeekRare::Endpoint* er = z.find_rare(s);
  if (er != nullptr && er->fin_cnt > 0 && size != 0) --size;
  return size > 0 ? static_cast<std::uint64_t>(size) : 0;
}

std::uint64_t zeek_size(const Connection& c, Side s) { return zeek_size(c.zk, s); }

namespace {
// Zeek's RSTOS0 test: the whole history matches ^?S[^HAFGIQ]*R.*
bool rstos0_history(std::string_view h) {
  std::size_t i = 0;
  if (i < h.size() && h[i] == '^') ++i;
  if (i >= h.size() || h[i] != 'S') return false;
  for (++i; i < h.size(); ++i) {
    const char ch = h[i];
    if (ch == 'R') return true;
    if (ch == 'H' || ch == 'A' || ch == 'F' || ch == 'G' || ch == 'I' || ch == 'Q') return false;
  }
  return false;
}
}  // namespace

std::string_view zeek_conn_state(const Connection& c) { return zeek_conn_state(c.zk); }

std::string_view zeek_conn_state(const ZeekShadow& z) {
  const Side o = z.orig;
  const Z os = z.ep[flow::idx(o)].state;
  const Z rs = z.ep[flow::idx(flow::other(o))].state;
  const bool o_in = os == Z::Inactive || os == Z::Partial;
  const bool r_in = rs == Z::Inactive || rs == Z::Partial;
  if (rs == Z::Reset) {
    if (os == Z::SynSent || os == Z::SynAckSent ||
        (os == Z::Reset && zeek_size(z, o) == 0 && zeek_size(z, flow::other(o)) == 0))
      return "REJ";
    return o_in ? "RSTRH" : "RSTR";
  }
  if (os == Z::Reset) {
    if (r_in) return rstos0_history(z.history.view()) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (os == Z::Closed && rs == Z::Closed) return "SF";
  if (os == Z::Closed) return r_in ? "SH" : "S2";
  if (rs == Z::Closed) return o_in ? "SHR" : "S3";
  if (os == Z::SynSent && rs == Z::Inactive) return "S0";
  if (os == Z::Established && rs == Z::Established) return "S1";
  return "OTH";
}

ZeekHistory& ZeekHistory::operator=(const ZeekHistory& o) {
  if (this != &o) assign(o.view());
  return *this;
}

ZeekHistory::ZeekHistory(ZeekHistory&& o) noexcept : size_(o.size_) {
  buf_ = o.buf_;
  o.size_ = 0;  // the heap block, if any, is ours now
}

ZeekHistory& ZeekHistory::operator=(ZeekHistory&& o) noexcept {
  if (this != &o) {
    release();
    buf_ = o.buf_;
    size_ = o.size_;
    o.size_ = 0;
  }
  return *this;
}

char* ZeekHistory::heap() const noexcept {
  char* p = nullptr;
  std::memcpy(&p, buf_.data(), sizeof p);
  return p;
}

void ZeekHistory::release() noexcept {
  if (on_heap()) delete[] heap();
  size_ = 0;
}

void ZeekHistory::push_back(char ch) {
  if (size_ >= kCapacity) return;
  if (size_ < kInline) {
    buf_[size_++] = ch;
    return;
  }
  if (size_ == kInline) {  // the 16th letter: move to a block of kCapacity
    char* p = new char[kCapacity];
    std::memcpy(p, buf_.data(), kInline);
    std::memcpy(buf_.data(), &p, sizeof p);
  }
  heap()[size_++] = ch;
}

void ZeekHistory::assign(std::string_view s) {
  release();
  for (char ch : s) push_back(ch);
}

}  // namespace tcplife::tcp
