// SPDX-License-Identifier: MIT
#include "tcplife/tcp/tracker.hpp"

#include <algorithm>

namespace tcplife::tcp {
namespace {

using namespace decode::flag;

// Service ports above 1023 that are servers far more often than clients.
bool likely_service_port(std::uint16_t p) {
  switch (p) {
    case 1080: case 1433: case 1521: case 1883: case 2049: case 2181: case 2379: case 3000:
    case 3128: case 3306: case 3389: case 4222: case 5000: case 5432: case 5672: case 5900:
    case 5984: case 6379: case 6443: case 6667: case 8000: case 8008: case 8080: case 8081:
    case 8443: case 8888: case 9000: case 9042: case 9090: case 9092: case 9200: case 9300:
    case 11211: case 27017:
      return true;
    default:
      return false;
  }
}

void assign_roles(Connection& c, Side from, const decode::Segment& seg) {
  if (seg.has(kSyn) && !seg.has(kAck)) {
    c.client = from;
    c.role_reason = RoleReason::Syn;
    return;
  }
  if (seg.has(kSyn) && seg.has(kAck)) {
    c.client = flow::other(from);
    c.role_reason = RoleReason::SynAck;
    return;
  }
  c.roles_guessed = true;
  const std::uint16_t src = seg.sport, dst = seg.dport;
  const bool src_wk = src < 1024 || likely_service_port(src);
  const bool dst_wk = dst < 1024 || likely_service_port(dst);
  Side server;
  if (src_wk != dst_wk) {
    server = src_wk ? from : flow::other(from);
    c.role_reason = RoleReason::WellKnownPort;
  } else if (src != dst) {
    server = src < dst ? from : flow::other(from);
    c.role_reason = RoleReason::LowerPort;
  } else {
    server = flow::other(from);
    c.role_reason = RoleReason::FirstPacket;
  }
  c.client = flow::other(server);
}

}  // namespace

EmbryoSegment EmbryoSegment::from_segment(const decode::Segment& s, Side from) noexcept {
  EmbryoSegment e;
  e.ts = s.ts;
  e.index = s.index;
  e.wire_len = s.wire_len;
  e.ip_total_len = s.ip_total_len;
  e.seq = s.seq;
  e.ack = s.ack;
  e.ip_id = s.ip_id;
  e.flags = s.flags;
  e.window = s.window;
  e.urgent = s.urgent;
  e.vlan_outer = s.vlan_outer;
  e.vlan_inner = s.vlan_inner;
  e.ttl = s.ttl;
  e.header_len = s.header_len;
  e.ip_version = s.ip_version;
  e.checksum = s.checksum;
  e.from = from;
  e.options = s.options;
  return e;
}

decode::Segment EmbryoSegment::expand(const flow::FlowKey& key) const noexcept {
  decode::Segment s;
  s.ts = ts;
  s.index = index;
  s.wire_len = wire_len;
  s.ip_version = ip_version;
  s.src = key.addr(from);
  s.dst = key.addr(flow::other(from));
  s.sport = key.port(from);
  s.dport = key.port(flow::other(from));
  s.ip_id = ip_id;
  s.ttl = ttl;
  s.ip_total_len = ip_total_len;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.window = window;
  s.urgent = urgent;
  s.header_len = header_len;
  s.options = options;
  s.checksum = checksum;
  s.vlan_outer = vlan_outer;
  s.vlan_inner = vlan_inner;
  return s;  // payload_len 0, no payload, no tunnel: absorbs() takes no others
}

Tracker::Tracker(const TrackerOptions& opts, ConnectionSink& sink, SegmentObserver* observer)
    : opts_(opts), sink_(sink), observer_(observer) {
  for (std::size_t l = 0; l < kLists; ++l) timeout_[l] = timeout_of(l);
}

std::int64_t Tracker::timeout_of(std::size_t list) const {
  switch (list) {
    case kHandshake: return opts_.idle_handshake_ns;
    case kEstablished: return opts_.idle_established_ns;
    case kClosing: return opts_.idle_closing_ns;
    default: return opts_.close_linger_ns;
  }
}

Tracker::List Tracker::list_for(const Connection& c) const {
  if (c.ended) return kEnded;
  if (c.ep[0].fin_seen || c.ep[1].fin_seen) return kClosing;  // Teardown::fin_seen
  const bool est = c.ep[0].state == TcpState::Established && c.ep[1].state == TcpState::Established;
  return est ? kEstablished : kHandshake;
}

void Tracker::lru_unlink(std::uint32_t id) {
  auto [h, list] = hook_and_list(id);
  if (list >= kLists) return;
  Lru& l = lru_[list];
  if (h.prev != kNil) hook(h.prev).next = h.next; else l.head = h.next;
  if (h.next != kNil) hook(h.next).prev = h.prev; else l.tail = h.prev;
  if (h.prev == kNil) idle_at_[list] = kRecheck;  // a new head
  h.prev = h.next = kNil;
  list = 0xff;
}

void Tracker::lru_push(std::uint32_t id, List which) {
  auto [h, list] = hook_and_list(id);
  Lru& l = lru_[which];
  list = which;
  h.prev = l.tail;
  h.next = kNil;
  if (l.tail != kNil) hook(l.tail).next = id; else l.head = id;
  if (l.tail == kNil) idle_at_[which] = kRecheck;
  l.tail = id;
}

void Tracker::init_connection(Connection& c, const flow::KeyedPacket& kp,
                              const decode::Segment& seg, std::uint64_t id,
                              std::uint32_t instance, NewInstanceReason why) {
  c.key = kp.key;
  c.keep_events = opts_.keep_events;
  c.id = id;
  c.instance = instance;
  c.new_reason = why;
  c.first_ts = c.last_ts = seg.ts;
  c.first_frame = seg.index + 1;
  if (c.keep_events) c.cold_part().state_since = {seg.ts, seg.ts};
  if (seg.tunnel.kind != decode::TunnelKind::None) c.cold_part().tunnel = seg.tunnel;
  c.vlan = seg.vlan_outer;
  assign_roles(c, kp.from, seg);
}

std::uint32_t Tracker::create(const flow::KeyedPacket& kp, const decode::Segment& seg,
                              std::uint32_t instance, NewInstanceReason why) {
  const std::uint32_t ix = conns_.acquire();
  open_ids_.add(next_id_);
  init_connection(conns_[ix], kp, seg, next_id_++, instance, why);
  table_.insert_or_assign(kp.key, ix, keys());
  ++live_;
  ++stats_.connections;
  stats_.peak_open = std::max<std::uint64_t>(stats_.peak_open, live_);
  return ix;
}

// A new connection whose first segment is a bare SYN: kept as that segment.
std::uint32_t Tracker::create_embryo(const flow::KeyedPacket& kp, const decode::Segment& seg) {
  const std::uint32_t slot = embryos_.acquire();
  Embryo& e = embryos_[slot];
  e.key = kp.key;
  open_ids_.add(next_id_);
  e.id = next_id_++;
  e.last_ts = seg.ts;
  e.segs[0] = EmbryoSegment::from_segment(seg, kp.from);
  e.count = 1;
  const std::uint32_t ix = slot | kEmbryo;
  table_.insert_or_assign(kp.key, ix, keys());
  ++live_;
  ++stats_.connections;
  stats_.peak_open = std::max<std::uint64_t>(stats_.peak_open, live_);
  return ix;
}

namespace {

// A SYN with nothing else in it: no payload, FIN or RST, not tunnelled.
bool plain_syn(const decode::Segment& seg) {
  return seg.has(kSyn) && !seg.has(kFin) && !seg.has(kRst) && seg.payload_len == 0 &&
         seg.payload.empty() && seg.tunnel.kind == decode::TunnelKind::None;
}

}  // namespace

// Whether `seg` can join the Embryo unprocessed: a retransmission of the
// client's SYN (same ISN), or a SYN-ACK from the other side (each with the
// same ISN as that side's first). Either keeps the connection in the
// handshake list, never starts a new instance, and ends nothing, so
// deferring it changes no decision the tracker makes before the replay.
bool Tracker::absorbs(const Embryo& e, Side from, const decode::Segment& seg) const {
  if (e.count >= Embryo::kMaxSegments || !plain_syn(seg)) return false;
  const bool client = from == e.segs[0].from;
  if (client == seg.has(kAck)) return false;  // bare SYNs from the client, SYN-ACKs to it
  for (std::size_t i = 0; i < e.count; ++i)
    if (e.segs[i].from == from && e.segs[i].seq != seg.seq) return false;
  return true;
}

void Tracker::apply(Connection& c, Side from, const decode::Segment& seg) {
  if (observer_ != nullptr) observer_->on_segment(c, from, seg);
  update_connection(c, from, seg);
}

std::uint32_t Tracker::promote(std::uint32_t ix) {
  const std::uint32_t slot = ix & ~kEmbryo;
  Embryo& e = embryos_[slot];
  const std::uint32_t cix = conns_.acquire();
  Connection& c = conns_[cix];
  for (std::size_t i = 0; i < e.count; ++i) {
    const decode::Segment seg = e.segs[i].expand(e.key);
    if (i == 0)
      init_connection(c, flow::KeyedPacket{e.key, e.segs[0].from}, seg, e.id, 1,
                      NewInstanceReason::First);
    apply(c, e.segs[i].from, seg);
  }
  // Take the Embryo's place in its expiry list and in the flow table.
  c.lru = e.lru;
  c.lru_list = e.lru_list;
  if (c.lru.prev != kNil)
    hook(c.lru.prev).next = cix;
  else
    lru_[c.lru_list].head = cix;
  if (c.lru.prev == kNil && c.lru_list < kLists) idle_at_[c.lru_list] = kRecheck;
  if (c.lru.next != kNil)
    hook(c.lru.next).prev = cix;
  else
    lru_[c.lru_list].tail = cix;
  table_.insert_or_assign(e.key, cix, keys());
  embryos_.release(slot);
  return cix;
}

LruHook& Tracker::hook(std::uint32_t ix) noexcept {
  return is_embryo(ix) ? embryos_[ix & ~kEmbryo].lru : conns_[ix].lru;
}

Tracker::HookAndList Tracker::hook_and_list(std::uint32_t ix) noexcept {
  if (is_embryo(ix)) {
    Embryo& e = embryos_[ix & ~kEmbryo];
    return {e.lru, e.lru_list};
  }
  Connection& c = conns_[ix];
  return {c.lru, c.lru_list};
}

const LruHook& Tracker::hook(std::uint32_t ix) const noexcept {
  return is_embryo(ix) ? embryos_[ix & ~kEmbryo].lru : conns_[ix].lru;
}

core::Timestamp Tracker::last_ts_of(std::uint32_t ix) const noexcept {
  return is_embryo(ix) ? embryos_[ix & ~kEmbryo].last_ts : conns_[ix].last_ts;
}

std::uint64_t Tracker::stamp_of(std::uint32_t ix) const noexcept {
  if (is_embryo(ix)) {
    const Embryo& e = embryos_[ix & ~kEmbryo];
    return e.segs[e.count - 1].index;
  }
  return conns_[ix].last_frame - 1;  // last_frame is 1-based
}

const flow::FlowKey& Tracker::key_of(std::uint32_t ix) const noexcept {
  return is_embryo(ix) ? embryos_[ix & ~kEmbryo].key : conns_[ix].key;
}

std::uint64_t Tracker::id_of(std::uint32_t ix) const noexcept {
  return is_embryo(ix) ? embryos_[ix & ~kEmbryo].id : conns_[ix].id;
}

EndReason Tracker::end_reason_of(std::uint32_t ix, EndReason if_open) const noexcept {
  if (is_embryo(ix)) return if_open;  // an embryo has neither closed nor reset
  const Connection& c = conns_[ix];
  return c.ended ? c.end_reason : if_open;
}

void Tracker::emit(std::uint32_t ix, EndReason why) {
  const std::uint32_t id = is_embryo(ix) ? promote(ix) : ix;
  Connection& c = conns_[id];
  open_ids_.take(c.id);
  finalize_connection(c, why, now_);
  if (observer_ != nullptr) observer_->on_finish(c);
  if (table_.find(c.key, keys()) == id) table_.erase(c.key, keys());
  lru_unlink(id);
  ++stats_.emitted;
  sink_.take_connection(std::move(c));
  conns_.release(id);
  --live_;
}

// Zeek (IsReuse) and Wireshark (reused_ports) agree: once either side has sent
// a FIN or a RST, any SYN starts a new connection, even one with the old ISN.
// Before that, a SYN with the old ISN is a retransmission and one with a new
// ISN is a new connection.
bool Tracker::should_start_new(const Connection& c, Side from, const decode::Segment& seg,
                               NewInstanceReason& why) const {
  if (!seg.has(kSyn) || seg.has(kRst)) return false;
  const Endpoint& e = c.at(from);
  const bool any_fin = c.ep[0].fin_seen || c.ep[1].fin_seen;
  const bool any_rst = c.end_of(Side::Lo).rst_count > 0 || c.end_of(Side::Hi).rst_count > 0;
  const bool synack = seg.has(kAck);
  if ((any_fin || any_rst) && (!synack || !c.at(flow::other(from)).syn_seen || c.ended)) {
    const bool time_wait =
        c.ep[0].state == TcpState::TimeWait || c.ep[1].state == TcpState::TimeWait;
    why = any_rst && !any_fin
              ? NewInstanceReason::AfterReset
              : (time_wait ? NewInstanceReason::SynInTimeWait
                           : (any_rst ? NewInstanceReason::AfterReset
                                      : NewInstanceReason::AfterClose));
    return true;
  }
  if (e.syn_seen) {
    if (seg.seq == e.isn()) return false;  // a retransmission, never a new connection
    why = NewInstanceReason::NewIsn;
    return true;
  }
  // A first SYN from a side that already sent other segments: a new connection
  // on a reused 4-tuple (the old one was picked up mid-stream).
  if (e.synced && e.packets > 0 && !synack) {
    why = NewInstanceReason::NewIsn;
    return true;
  }
  return false;
}

void Tracker::process(const decode::Segment& seg) {
  ++stats_.segments;
  if (have_now_ && seg.ts < now_) ++stats_.time_went_backwards;
  advance_time(seg.ts);
  const flow::KeyedPacket kp =
      flow::make_key(seg.src, seg.sport, seg.dst, seg.dport);
  std::uint32_t id = table_.find(kp.key, keys());
  if (is_embryo(id)) {
    Embryo& e = embryos_[id & ~kEmbryo];
    if (!absorbs(e, kp.from, seg)) {
      id = promote(id);
    } else {
      e.segs[e.count++] = EmbryoSegment::from_segment(seg, kp.from);
      e.last_ts = std::max(e.last_ts, seg.ts);
      lru_unlink(id);
      lru_push(id, kHandshake);
      evict_if_needed(id);
      return;
    }
  }
  if (id == flow::kNoConn && opts_.compact_handshakes && plain_syn(seg) && !seg.has(kAck)) {
    id = create_embryo(kp, seg);
    lru_push(id, kHandshake);
    evict_if_needed(id);
    return;
  }
  if (id != flow::kNoConn) {
    Connection& c = conns_[id];
    NewInstanceReason why{};
    if (should_start_new(c, kp.from, seg, why)) {
      const std::uint32_t instance = c.instance + 1;
      std::array<std::uint32_t, 2> base{}, next{};
      for (std::size_t i = 0; i < 2; ++i) {
        const Endpoint& ep = c.ep[i];
        base[i] = ep.isn_known ? ep.isn() : ep.seq.base();
        std::uint32_t n = ep.seq.base() + static_cast<std::uint32_t>(ep.data.high());
        if (ep.fin_seen) n = c.end_of(static_cast<Side>(i)).fin_seq + 1;
        next[i] = n;
      }
      order_ = {EmitPhase::Replace, 0, 0};
      emit(id, c.ended ? c.end_reason : EndReason::Replaced);
      id = create(kp, seg, instance, why);
      Connection& nc = conns_[id];
      if (why == NewInstanceReason::SynInTimeWait)
        add_anomaly(nc, AnomalyKind::TimeWaitReuse, kp.from, seg);
      ConnectionCold& cold = nc.cold_part();
      cold.has_prev = true;
      cold.prev_base = base;
      cold.prev_next = next;
    } else if (c.cold && c.cold->has_prev && !seg.has(kSyn)) {
      // A late segment of the previous instance: inside its old sequence
      // space and before this instance's ISN.
      const std::size_t s = flow::idx(kp.from);
      const Endpoint& e = c.ep[s];
      const ConnectionCold& prev = *c.cold;
      if (e.isn_known && seq_lt(seg.seq, e.isn()) && seq_ge(seg.seq, prev.prev_base[s]) &&
          seq_le(seg.seq, prev.prev_next[s])) {
        add_anomaly(c, AnomalyKind::OldDuplicate, kp.from, seg,
                    seq_diff(seg.seq, prev.prev_base[s]));
        return;
      }
    }
  } else {
    id = create(kp, seg, 1, NewInstanceReason::First);
  }
  Connection& c = conns_[id];
  apply(c, kp.from, seg);
  lru_unlink(id);
  lru_push(id, list_for(c));
  evict_if_needed(id);
}

void Tracker::evict_if_needed(std::uint32_t keep) {
  if (opts_.max_connections == 0 || live_ <= opts_.max_connections) return;
  for (List l : {kEnded, kHandshake, kEstablished, kClosing}) {
    const std::uint32_t victim = lru_[l].head;
    if (victim != kNil && victim != keep) {
      ++stats_.evicted;
      order_ = {EmitPhase::Evict, static_cast<std::uint8_t>(l), stamp_of(victim)};
      emit(victim, end_reason_of(victim, EndReason::Evicted));
      break;
    }
  }
}

void Tracker::advance_time(core::Timestamp now) {
  if (!have_now_ || now > now_) {
    now_ = now;
    have_now_ = true;
  }
  for (std::uint8_t l = 0; l < kLists; ++l) {
    if (now_.ns <= idle_at_[l]) continue;  // the same head, still not idle
    const std::int64_t timeout = timeout_[l];
    for (;;) {
      const std::uint32_t head = lru_[l].head;
      if (head == kNil) break;
      const core::Timestamp last = last_ts_of(head);
      if (now_ - last <= timeout) {
        std::int64_t at = 0;
        idle_at_[l] = __builtin_add_overflow(last.ns, timeout, &at) ? INT64_MAX : at;
        break;
      }
      if (stamp_of(head) >= bound_[l]) break;  // idle, held back: look again next time
      if (l != kEnded) ++stats_.expired_idle;
      order_ = {EmitPhase::Expire, l, stamp_of(head)};
      emit(head, end_reason_of(head, EndReason::Idle));
    }
  }
}

std::uint64_t Tracker::first_unexpired(std::size_t list, core::Timestamp now) const {
  if (have_now_ && now_ > now) now = now_;
  const std::int64_t timeout = timeout_of(list);
  for (std::uint32_t id = lru_[list].head; id != kNil; id = hook(id).next)
    if (now - last_ts_of(id) <= timeout) return stamp_of(id);
  return kNoStamp;
}

void Tracker::collect_open() {
  finishing_.clear();
  finishing_.reserve(live_);
  for (std::uint8_t l = 0; l < kLists; ++l)
    for (std::uint32_t id = lru_[l].head; id != kNil; id = hook(id).next) finishing_.push_back(id);
  std::sort(finishing_.begin(), finishing_.end(),
            [this](std::uint32_t a, std::uint32_t b) { return id_of(a) > id_of(b); });
}

std::uint64_t Tracker::next_to_finish() {
  if (finishing_.empty()) collect_open();
  return finishing_.empty() ? 0 : id_of(finishing_.back());
}

bool Tracker::finish_one() {
  if (finishing_.empty()) collect_open();
  if (finishing_.empty()) return false;
  const std::uint32_t id = finishing_.back();
  finishing_.pop_back();
  order_ = {EmitPhase::Finish, 0, 0};
  emit(id, end_reason_of(id, EndReason::EndOfInput));
  return true;
}

void Tracker::finish() {
  while (finish_one()) {
  }
}

}  // namespace tcplife::tcp
