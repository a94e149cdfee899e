// SPDX-License-Identifier: MIT
// The per-connection state machine. Each endpoint's RFC 9293 state is derived
// from facts the packets establish (SYN sent, SYN acknowledged, FIN sent and
// acknowledged, which FIN came first, a believed RST), so odd orders of
// packets cannot leave the machine in an impossible state; a transition is
// whatever changed between before and after a packet.
#include <algorithm>

#include "tcp/zeek.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace tcplife::tcp {
namespace {

using namespace decode::flag;
using decode::Segment;

TcpState derive_state(const Connection& c, Side s) {
  const Endpoint& e = c.at(s);
  const Endpoint& p = c.at(flow::other(s));
  if (c.reset_believed) return TcpState::Closed;
  if (!e.synced) return p.synced && p.sent_bare_syn ? TcpState::Listen : TcpState::Closed;
  if (!p.synced) return TcpState::SynSent;
  if (!e.syn_acked) return TcpState::SynReceived;
  if (!e.fin_seen && !p.fin_seen) return TcpState::Established;
  if (e.fin_seen && e.fin_active) {
    if (!p.fin_seen) return e.fin_acked ? TcpState::FinWait2 : TcpState::FinWait1;
    return e.fin_acked ? TcpState::TimeWait : TcpState::Closing;
  }
  if (e.fin_seen) return e.fin_acked ? TcpState::Closed : TcpState::LastAck;
  return TcpState::CloseWait;
}

void record_event(Connection& c, EventKind kind, Side from, const Segment& seg, bool state_changed) {
  if (!c.keep_events) return;
  const Endpoint& e = c.at(from);
  const Endpoint& p = c.at(flow::other(from));
  // Relative numbers as Wireshark shows them: the SYN is 0, the first data byte 1.
  const std::int64_t rel_seq = e.synced ? e.seq.rel(seg.seq) + 1 : 0;
  const std::int64_t rel_ack = seg.has(kAck) && p.synced ? p.seq.rel(seg.ack) + 1 : 0;
  std::vector<Event>& events = c.cold_part().events;
  if (kind == EventKind::Data && !state_changed && !events.empty()) {
    Event& last = events.back();
    if (last.kind == EventKind::Data && last.from == from) {
      ++last.count;
      last.len += seg.payload_len;
      return;
    }
  }
  if (events.size() >= Connection::kMaxEvents) {
    ++c.cold->events_dropped;
    return;
  }
  Event ev;
  ev.ts = seg.ts;
  ev.frame = seg.index + 1;
  ev.rel_seq = rel_seq;
  ev.rel_ack = rel_ack;
  ev.len = seg.payload_len;
  ev.flags = seg.flags;
  ev.kind = kind;
  ev.from = from;
  ev.state_lo = c.ep[0].state;
  ev.state_hi = c.ep[1].state;
  events.push_back(ev);
}

void set_options(Endpoint& e, const Segment& seg) {
  const decode::TcpOptions& o = seg.options;
  e.opts.seen = true;
  e.opts.mss_present = o.has_mss;
  e.opts.mss = o.mss;
  e.opts.wscale_present = o.has_wscale;
  e.opts.wscale = o.wscale;
  e.opts.sack_permitted = o.sack_permitted;
  e.opts.timestamps = o.has_timestamps;
  e.opts.tfo = o.has_tfo;
  e.opts.tfo_cookie_len = o.tfo_cookie_len;
}

bool window_scaling(const Connection& c) {
  return c.ep[0].opts.wscale_present && c.ep[1].opts.wscale_present;
}

void handle_syn(Connection& c, Side from, const Segment& seg) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  const bool with_ack = seg.has(kAck);
  if (!e.syn_seen) {
    e.syn_seen = true;
    e.synced = true;
    e.isn_known = true;
    e.seq.reset(seg.seq + 1);
    set_options(e, seg);
    if (!with_ack) {
      e.sent_bare_syn = true;
      if (p.sent_bare_syn) {
        c.hs.simultaneous = true;
        add_anomaly(c, AnomalyKind::SimultaneousOpen, from, seg);
      }
    } else {
      e.sent_synack = true;
    }
  } else if (seg.seq == e.isn()) {
    // Same ISN again: a retransmission (or the SYN-ACK of a simultaneous open).
    if (with_ack && !e.sent_synack) {
      e.sent_synack = true;
    } else if (with_ack) {
      add_anomaly(c, AnomalyKind::SynackRetransmit, from, seg,
                  c.count_of(AnomalyKind::SynackRetransmit) + 1);
    } else {
      add_anomaly(c, AnomalyKind::SynRetransmit, from, seg,
                  c.count_of(AnomalyKind::SynRetransmit) + 1);
    }
  }
  if (!with_ack && from == c.client && !c.hs.syn_seen) {
    c.hs.syn_seen = true;
    c.hs.syn_ts = seg.ts;
    c.hs.syn_frame = seg.index + 1;
  }
  if (with_ack && !c.hs.synack_seen) {
    c.hs.synack_seen = true;
    c.hs.synack_ts = seg.ts;
    c.hs.synack_frame = seg.index + 1;
    if (p.isn_known && p.syn_seen) {
      const std::uint32_t expect = p.isn() + 1;
      const std::uint32_t with_data = expect + c.hs.syn_data_bytes;
      if (seg.ack == with_data && c.hs.syn_data_bytes > 0) {
        c.hs.syn_data_acked = true;
      } else if (seg.ack != expect) {
        c.hs.synack_valid = false;
        add_anomaly(c, AnomalyKind::BadSynackAck, from, seg, seq_diff(seg.ack, p.isn()),
                    1 + c.hs.syn_data_bytes);
      }
    }
  }
  if (seg.payload_len > 0 && !seg.has(kRst)) {
    if (!with_ack && from == c.client && c.hs.syn_data_bytes == 0)
      c.hs.syn_data_bytes = seg.payload_len;
    add_anomaly(c, AnomalyKind::SynWithData, from, seg, seg.payload_len);
  }
}

// RFC 9293 3.10.7.x / RFC 5961: is a RST from `from` acceptable to the peer?
void handle_rst(Connection& c, Side from, const Segment& seg) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  ConnectionEnd& x = c.ending.need();
  RstInfo& r = x.rst;
  ++x.ep[flow::idx(from)].rst_count;
  e.rst_sent = true;
  const bool any_fin = c.ep[0].fin_seen || c.ep[1].fin_seen;
  bool believed = false;
  bool exact = false;
  std::int64_t rel_seq = 0, rel_nxt = 0, wnd = 0;
  if (p.sent_bare_syn && !e.syn_seen && !c.hs.synack_seen) {
    // Answer to a SYN (RFC 9293 SYN-SENT): acceptable if it acknowledges the SYN.
    believed = seg.has(kAck) && seq_gt(seg.ack, p.isn()) &&
               seq_le(seg.ack, p.isn() + 1 + c.hs.syn_data_bytes);
    exact = believed;
    if (believed) r.refused = true;
  } else {
    // The receiver's RCV.NXT is the last ack it sent; if it sent none, the
    // sender's own next sequence number is the best we know.
    std::uint32_t rcv_nxt = seg.seq;
    if (p.ack_seen) {
      rcv_nxt = p.last_ack;
    } else if (e.synced && e.data.started()) {
      rcv_nxt = e.seq.base() + static_cast<std::uint32_t>(e.data.high());
    }
    const std::uint32_t rcv_wnd = p.ack_seen ? p.last_window_scaled : 65535u;
    exact = seg.seq == rcv_nxt;
    const bool in_window =
        exact || (seq_ge(seg.seq, rcv_nxt) && seq_lt(seg.seq, rcv_nxt + std::max(rcv_wnd, 1u)));
    believed = in_window;
    rel_seq = e.synced ? e.seq.rel(seg.seq) : 0;
    rel_nxt = e.synced ? e.seq.rel(rcv_nxt) : 0;
    wnd = rcv_wnd;
    if (!in_window) {
      add_anomaly(c, AnomalyKind::RstOutOfWindow, from, seg, rel_seq, rel_nxt, wnd);
    } else if (!exact) {
      add_anomaly(c, AnomalyKind::RstInWindow, from, seg, rel_seq, rel_nxt, wnd);
    }
  }
  if (any_fin) add_anomaly(c, AnomalyKind::RstAfterFin, from, seg);
  if (believed && (!r.seen || r.undone)) {
    r.seen = true;
    r.undone = false;
    c.reset_believed = true;
    r.by = from;
    r.ts = seg.ts;
    r.frame = seg.index + 1;
    r.exact = exact;
    r.in_window = believed;
    r.sender_state = e.state;
    r.receiver_state = p.state;
    if (r.refused) add_anomaly(c, AnomalyKind::Refused, from, seg);
  }
  ++r.count;
}

void handle_ack(Connection& c, Side from, const Segment& seg, EventKind& ev) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  if (!p.synced && !seg.has(kRst)) {
    // The peer has not been seen, but this ACK proves it is synchronised:
    // place its sequence space at the acknowledged number.
    p.synced = true;
    p.seq.reset(seg.ack);
  }
  e.ack_seen = true;
  e.last_ack = seg.ack;
  if (p.synced) e.max_ack_rel = std::max(e.max_ack_rel, p.seq.rel(seg.ack));
  if (!p.syn_acked && (!p.isn_known || seq_gt(seg.ack, p.isn()))) p.syn_acked = true;
  if (!seg.has(kSyn) && from == c.client && c.hs.synack_seen && !c.hs.ack_seen) {
    c.hs.ack_seen = true;
    c.hs.ack_ts = seg.ts;
    c.hs.ack_frame = seg.index + 1;
    if (p.isn_known && seg.ack != p.isn() + 1) {
      c.hs.ack_valid = false;
      add_anomaly(c, AnomalyKind::BadHandshakeAck, from, seg, seq_diff(seg.ack, p.isn()), 1);
    }
    if (ev == EventKind::Ack) ev = EventKind::HandshakeAck;
  }
  if (p.fin_seen && !p.fin_acked && seq_gt(seg.ack, c.end_of(flow::other(from)).fin_seq)) {
    p.fin_acked = true;
    Teardown& td = c.ending.need().td;
    if (!seg.has(kFin) && td.first_fin_by == flow::other(from) && !e.fin_seen)
      td.separate_ack = true;
    if (ev == EventKind::Ack) ev = EventKind::FinAck;
  }
}

void handle_fin(Connection& c, Side from, const Segment& seg, std::uint32_t fin_seq) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  ConnectionEnd& x = c.ending.need();
  ConnectionEnd::Side& xe = x.ep[flow::idx(from)];
  const ConnectionEnd::Side& xp = x.ep[flow::idx(flow::other(from))];
  Teardown& td = x.td;
  ++xe.fin_count;
  if (!e.fin_seen) {
    e.fin_seen = true;
    xe.fin_seq = fin_seq;
    const bool acks_peer_fin = p.fin_seen && seg.has(kAck) && seq_gt(seg.ack, xp.fin_seq);
    e.fin_active = !p.fin_seen || !acks_peer_fin;
    if (!td.fin_seen) {
      td.fin_seen = true;
      td.first_fin_by = from;
      td.first_fin_ts = seg.ts;
      td.first_fin_frame = seg.index + 1;
    } else if (!acks_peer_fin) {
      td.fins_crossed = true;
    } else if (!td.separate_ack) {
      td.fin_carried_ack = true;
    }
  } else if (fin_seq == xe.fin_seq) {
    ++td.fin_retransmits;
    add_anomaly(c, AnomalyKind::FinRetransmit, from, seg, e.seq.rel(fin_seq));
  } else {
    add_anomaly(c, AnomalyKind::FinSeqChanged, from, seg, e.seq.rel(xe.fin_seq),
                e.seq.rel(fin_seq));
  }
}

void handle_data(Connection& c, Side from, const Segment& seg, std::uint32_t data_seq) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  const std::int64_t begin = e.seq.rel(data_seq);
  const std::int64_t end = begin + seg.payload_len;
  const std::int64_t old_high = e.data.started() ? e.data.high() : begin;
  const std::int64_t again = e.data.add(begin, end);
  e.retransmitted_bytes += static_cast<std::uint64_t>(again);
  if (e.fin_seen) {
    const std::uint32_t fin_seq = c.end_of(from).fin_seq;
    if (end > e.seq.rel(fin_seq))
      add_anomaly(c, AnomalyKind::DataAfterFin, from, seg, begin, e.seq.rel(fin_seq));
  }
  if (c.reset_believed) {
    add_anomaly(c, AnomalyKind::DataAfterRst, from, seg, begin, end);
  }
  if (p.fin_seen && !e.fin_seen && end > old_high) {
    e.half_close_data = true;
    ConnectionEnd& x = c.ending.need();
    x.ep[flow::idx(from)].bytes_after_peer_fin +=
        static_cast<std::uint64_t>(end - std::max(begin, old_high));
    x.td.last_half_close_data_ts = seg.ts;
  }
}

// half_open: at least this many unanswered packets over at least this long.
constexpr std::uint32_t kHalfOpenPackets = 3;
constexpr std::int64_t kHalfOpenNs = core::kNsPerSec;

}  // namespace

void add_anomaly(Connection& c, AnomalyKind k, Side from, const decode::Segment& seg,
                 std::int64_t a, std::int64_t b, std::int64_t d) {
  if (!c.anomaly_log) c.anomaly_log = std::make_unique<AnomalyLog>();
  AnomalyLog& log = *c.anomaly_log;
  std::uint32_t listed = 0;
  bool counted = false;
  for (AnomalyCount& ac : log.counts) {
    if (ac.kind == k && ac.from == from) {
      ++ac.count;
      counted = true;
    }
  }
  if (!counted) log.counts.push_back({k, from, 1});
  for (const Anomaly& an : log.listed)
    if (an.kind == k) ++listed;
  if (listed < Connection::kMaxListedAnomalies)
    log.listed.push_back({seg.ts, seg.index + 1, a, b, d, k, from});
}

void update_connection(Connection& c, Side from, const Segment& seg) {
  Endpoint& e = c.at(from);
  Endpoint& p = c.at(flow::other(from));
  const std::uint16_t f = seg.flags;
  // Zeek's view first: a row its timers finish now is counted from the
  // connection's counters without this packet (Connection::zk_counts).
  zeek_process(c, from, seg);

  if (seg.ts > c.last_ts) c.last_ts = seg.ts;
  c.last_frame = seg.index + 1;
  ++e.packets;
  e.ip_bytes += seg.ip_total_len;
  e.wire_payload += seg.payload_len;
  e.last_ts = seg.ts;
  if (e.unanswered++ == 0) e.unanswered_since = seg.ts;
  p.unanswered = 0;

  const bool syn = (f & kSyn) != 0, ack = (f & kAck) != 0, fin = (f & kFin) != 0,
             rst = (f & kRst) != 0;
  if ((syn && fin) || (syn && rst) || (f & 0x3f) == 0 || (fin && !ack) ||
      (fin && (f & kPsh) && (f & kUrg))) {
    add_anomaly(c, AnomalyKind::InvalidFlags, from, seg, f);
  }

  // An in-window but inexact RST only provokes a challenge ACK (RFC 5961 3.2);
  // traffic from its receiver afterwards shows the connection lived on.
  if (c.reset_believed && !rst) {
    RstInfo& r = c.ending.need().rst;
    if (!r.exact && !r.refused && from != r.by) {
      r.undone = true;
      c.reset_believed = false;
      if (ack && seg.payload_len == 0 && !syn && !fin)
        add_anomaly(c, AnomalyKind::ChallengeAck, from, seg);
    }
  }

  EventKind ev = EventKind::Ack;
  bool notable = false;
  if (syn) {
    handle_syn(c, from, seg);
    ev = ack ? EventKind::SynAck : EventKind::Syn;
    notable = true;
  } else if (!e.synced && !rst) {
    // First packet of a side whose SYN we never saw: start its space here.
    e.synced = true;
    e.seq.reset(seg.seq);
  }

  const std::uint32_t data_seq = syn ? seg.seq + 1 : seg.seq;
  if (e.synced && !rst) e.seq.advance(data_seq + seg.payload_len);

  if (ack) handle_ack(c, from, seg, ev);
  if (seg.payload_len > 0 && !rst && e.synced) {
    handle_data(c, from, seg, data_seq);
    if (!syn && ev == EventKind::Ack) ev = EventKind::Data;
  }
  if (fin && e.synced) {
    handle_fin(c, from, seg, data_seq + seg.payload_len);
    ev = EventKind::Fin;
    notable = true;
  }
  if (rst) {
    handle_rst(c, from, seg);
    ev = EventKind::Rst;
    notable = true;
  }

  // Window as the peer will apply it (RFC 7323: never scaled in a SYN).
  e.last_window = seg.window;
  e.last_window_scaled =
      !syn && window_scaling(c)
          ? std::uint32_t{seg.window} << std::min<unsigned>(e.opts.wscale, 14u)
          : seg.window;

  // Derived states; a change is a timeline event and closes a duration.
  bool changed = false;
  for (std::size_t i = 0; i < 2; ++i) {
    const TcpState now = derive_state(c, static_cast<Side>(i));
    Endpoint& ep = c.ep[i];
    if (now != ep.state) {
      if (c.keep_events) {
        ConnectionCold& cold = c.cold_part();
        cold.state_ns[i][static_cast<std::size_t>(ep.state)] += seg.ts - cold.state_since[i];
        cold.state_since[i] = seg.ts;
      }
      ep.state = now;
      changed = true;
    }
  }
  if (notable || changed || ev == EventKind::Data) record_event(c, ev, from, seg, changed);

  const bool closed = c.ep[0].fin_seen && c.ep[1].fin_seen && c.ep[0].fin_acked &&
                      c.ep[1].fin_acked;
  const bool reset = c.reset_believed;
  if ((closed || reset) && !c.ended) {
    c.ended = true;
    c.end_reason =
        reset ? (c.rst().refused ? EndReason::Refused : EndReason::Reset) : EndReason::Closed;
  } else if (!closed && !reset && c.ended) {
    c.ended = false;  // a RST turned out to be ignored
  }
}

void finalize_connection(Connection& c, EndReason why, core::Timestamp /*now*/) {
  if (c.keep_events) {
    ConnectionCold& cold = c.cold_part();
    for (std::size_t i = 0; i < 2; ++i) {
      cold.state_ns[i][static_cast<std::size_t>(c.ep[i].state)] +=
          c.last_ts - cold.state_since[i];
      cold.state_since[i] = c.last_ts;
    }
  }
  c.end_reason = why;
  decode::Segment at_end;
  at_end.ts = c.last_ts;
  at_end.index = c.last_frame > 0 ? c.last_frame - 1 : 0;
  if (!c.ended) {
    const bool established = c.hs.synack_seen && c.hs.ack_seen;
    if (c.hs.syn_seen && !established && !c.reset_believed)
      add_anomaly(c, AnomalyKind::HandshakeIncomplete, c.client, at_end);
    add_anomaly(c, AnomalyKind::NoClose, c.client, at_end);
    // One side kept sending after the other's last packet and got no reply:
    // the other side vanished (crashed, unplugged, or a path failure).
    for (Side s : {Side::Lo, Side::Hi}) {
      const Endpoint& e = c.at(s);
      const Endpoint& p = c.at(flow::other(s));
      const bool synced = c.hs.ack_seen || (!c.hs.syn_seen && p.packets > 0);
      if (synced && p.packets > 0 && e.unanswered >= kHalfOpenPackets &&
          e.last_ts - e.unanswered_since >= kHalfOpenNs) {
        at_end.ts = e.last_ts;
        add_anomaly(c, AnomalyKind::HalfOpen, s, at_end, e.unanswered,
                    e.last_ts - e.unanswered_since, e.unanswered_since - p.last_ts);
      }
    }
  }
}

CloseKind close_kind(const Connection& c) {
  if (c.reset_believed) return c.rst().refused ? CloseKind::Refused : CloseKind::Reset;
  const bool lo = c.ep[0].fin_seen, hi = c.ep[1].fin_seen;
  if (lo && hi) {
    if (c.td().fins_crossed) return CloseKind::Simultaneous;
    if (c.td().fin_carried_ack) return CloseKind::ThreeWay;
    return CloseKind::FourWay;
  }
  if (lo || hi) return CloseKind::HalfClose;
  return CloseKind::None;
}

std::uint32_t Connection::anomaly_total() const noexcept {
  std::uint32_t n = 0;
  for (const AnomalyCount& a : anomaly_counts()) n += a.count;
  return n;
}

std::uint32_t Connection::count_of(AnomalyKind k) const noexcept {
  std::uint32_t n = 0;
  for (const AnomalyCount& a : anomaly_counts())
    if (a.kind == k) n += a.count;
  return n;
}

const Teardown& Connection::td() const noexcept {
  static const Teardown kNone{};
  const ConnectionEnd* x = ending.get();
  return x != nullptr ? x->td : kNone;
}

const RstInfo& Connection::rst() const noexcept {
  static const RstInfo kNone{};
  const ConnectionEnd* x = ending.get();
  return x != nullptr ? x->rst : kNone;
}

const ConnectionEnd::Side& Connection::end_of(Side s) const noexcept {
  static const ConnectionEnd::Side kNone{};
  const ConnectionEnd* x = ending.get();
  return x != nullptr ? x->ep[flow::idx(s)] : kNone;
}

std::span<const Event> Connection::events() const noexcept {
  return cold ? std::span<const Event>(cold->events) : std::span<const Event>();
}

std::uint32_t Connection::events_dropped() const noexcept {
  return cold ? cold->events_dropped : 0;
}

std::int64_t Connection::state_ns(Side s, TcpState st) const noexcept {
  return cold ? cold->state_ns[flow::idx(s)][static_cast<std::size_t>(st)] : 0;
}

const decode::TunnelInfo& Connection::tunnel() const noexcept {
  static const decode::TunnelInfo kNone{};
  return cold ? cold->tunnel : kNone;
}

std::span<const ZeekRow> Connection::zk_rows() const noexcept {
  return cold ? std::span<const ZeekRow>(cold->zk_rows) : std::span<const ZeekRow>();
}

ZeekRowView Connection::zk_current() const noexcept {
  if (cold && cold->zk_row) return {cold->zk_row->z, cold->zk_row->n};
  return {zk, zk_counts()};
}

ZeekRowCounts Connection::zk_counts() const noexcept {
  ZeekRowCounts n;
  n.start_time = first_ts;
  for (std::size_t i = 0; i < 2; ++i) {
    const ZeekRare::Endpoint* bad = zk.find_rare(static_cast<Side>(i));
    n.pkts[i] = ep[i].packets - (bad != nullptr ? bad->bad_pkts : 0);
    n.ip_bytes[i] = ep[i].ip_bytes - (bad != nullptr ? bad->bad_ip_bytes : 0);
  }
  return n;
}

std::span<const Anomaly> Connection::anomalies() const noexcept {
  return anomaly_log ? std::span<const Anomaly>(anomaly_log->listed) : std::span<const Anomaly>();
}

std::span<const AnomalyCount> Connection::anomaly_counts() const noexcept {
  return anomaly_log ? std::span<const AnomalyCount>(anomaly_log->counts)
                     : std::span<const AnomalyCount>();
}

ConnectionCold& Connection::cold_part() {
  if (!cold) cold = std::make_unique<ConnectionCold>();
  return *cold;
}

}  // namespace tcplife::tcp
