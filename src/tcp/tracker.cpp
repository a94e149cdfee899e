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

std::uint32_t ConnectionStore::acquire() {
  if (!free_.empty()) {
    const std::uint32_t id = free_.back();
    free_.pop_back();
    return id;
  }
  if (used_ % kChunk == 0) chunks_.push_back(std::make_unique<Connection[]>(kChunk));
  return used_++;
}

void ConnectionStore::release(std::uint32_t id) {
  (*this)[id] = Connection{};
  free_.push_back(id);
}

Tracker::Tracker(const TrackerOptions& opts, ConnectionSink& sink, SegmentObserver* observer)
    : opts_(opts), sink_(sink), observer_(observer) {}

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
  if (c.td.fin_seen) return kClosing;
  const bool est = c.ep[0].state == TcpState::Established && c.ep[1].state == TcpState::Established;
  return est ? kEstablished : kHandshake;
}

void Tracker::lru_unlink(std::uint32_t id) {
  Connection& c = conns_[id];
  if (c.lru_list >= kLists) return;
  Lru& l = lru_[c.lru_list];
  if (c.lru_prev != kNil) conns_[c.lru_prev].lru_next = c.lru_next; else l.head = c.lru_next;
  if (c.lru_next != kNil) conns_[c.lru_next].lru_prev = c.lru_prev; else l.tail = c.lru_prev;
  c.lru_prev = c.lru_next = kNil;
  c.lru_list = 0xff;
}

void Tracker::lru_push(std::uint32_t id, List which, std::uint64_t stamp) {
  Connection& c = conns_[id];
  Lru& l = lru_[which];
  if (id >= lru_stamp_.size()) lru_stamp_.resize(id + 1);
  lru_stamp_[id] = stamp;
  c.lru_list = which;
  c.lru_prev = l.tail;
  c.lru_next = kNil;
  if (l.tail != kNil) conns_[l.tail].lru_next = id; else l.head = id;
  l.tail = id;
}

std::uint32_t Tracker::create(const flow::KeyedPacket& kp, const decode::Segment& seg,
                              std::uint32_t instance, NewInstanceReason why) {
  const std::uint32_t id = conns_.acquire();
  Connection& c = conns_[id];
  c.key = kp.key;
  c.id = next_id_++;
  done_.push_back(false);
  c.instance = instance;
  c.new_reason = why;
  c.first_ts = c.last_ts = seg.ts;
  c.first_frame = seg.index + 1;
  c.ep[0].state_since = c.ep[1].state_since = seg.ts;
  c.tunnel = seg.tunnel;
  c.vlan = seg.vlan_outer;
  assign_roles(c, kp.from, seg);
  table_.insert_or_assign(kp.key, id);
  ++live_;
  ++stats_.connections;
  stats_.peak_open = std::max<std::uint64_t>(stats_.peak_open, live_);
  return id;
}

void Tracker::emit(std::uint32_t id, EndReason why) {
  Connection& c = conns_[id];
  done_[c.id - done_base_] = true;
  while (!done_.empty() && done_.front()) {
    done_.pop_front();
    ++done_base_;
  }
  finalize_connection(c, why, now_);
  if (observer_ != nullptr) observer_->on_finish(c);
  if (table_.find(c.key) == id) table_.erase(c.key);
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
  const bool any_rst = c.ep[0].rst_count > 0 || c.ep[1].rst_count > 0;
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
    if (seg.seq == e.isn) return false;  // a retransmission, never a new connection
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
  std::uint32_t id = table_.find(kp.key);
  if (id != flow::kNoConn) {
    Connection& c = conns_[id];
    NewInstanceReason why{};
    if (should_start_new(c, kp.from, seg, why)) {
      const std::uint32_t instance = c.instance + 1;
      std::array<std::uint32_t, 2> base{}, next{};
      for (std::size_t i = 0; i < 2; ++i) {
        const Endpoint& ep = c.ep[i];
        base[i] = ep.isn_known ? ep.isn : ep.seq.base();
        std::uint32_t n = ep.seq.base() + static_cast<std::uint32_t>(ep.data.high());
        if (ep.fin_seen) n = ep.fin_seq + 1;
        next[i] = n;
      }
      order_ = {EmitPhase::Replace, 0, 0};
      emit(id, c.ended ? c.end_reason : EndReason::Replaced);
      id = create(kp, seg, instance, why);
      Connection& nc = conns_[id];
      if (why == NewInstanceReason::SynInTimeWait)
        add_anomaly(nc, AnomalyKind::TimeWaitReuse, kp.from, seg);
      nc.has_prev = true;
      nc.prev_base = base;
      nc.prev_next = next;
    } else if (c.has_prev && !seg.has(kSyn)) {
      // A late segment of the previous instance: inside its old sequence
      // space and before this instance's ISN.
      const std::size_t s = flow::idx(kp.from);
      const Endpoint& e = c.ep[s];
      if (e.isn_known && seq_lt(seg.seq, e.isn) && seq_ge(seg.seq, c.prev_base[s]) &&
          seq_le(seg.seq, c.prev_next[s])) {
        ++c.old_duplicates;
        add_anomaly(c, AnomalyKind::OldDuplicate, kp.from, seg, seq_diff(seg.seq, c.prev_base[s]));
        return;
      }
    }
  } else {
    id = create(kp, seg, 1, NewInstanceReason::First);
  }
  Connection& c = conns_[id];
  if (observer_ != nullptr) observer_->on_segment(c, kp.from, seg);
  update_connection(c, kp.from, seg);
  lru_unlink(id);
  lru_push(id, list_for(c), seg.index);
  if (opts_.max_connections != 0 && live_ > opts_.max_connections) {
    for (List l : {kEnded, kHandshake, kEstablished, kClosing}) {
      const std::uint32_t victim = lru_[l].head;
      if (victim != kNil && victim != id) {
        const Connection& v = conns_[victim];
        ++stats_.evicted;
        order_ = {EmitPhase::Evict, static_cast<std::uint8_t>(l), lru_stamp_[victim]};
        emit(victim, v.ended ? v.end_reason : EndReason::Evicted);
        break;
      }
    }
  }
}

void Tracker::advance_time(core::Timestamp now) {
  if (!have_now_ || now > now_) {
    now_ = now;
    have_now_ = true;
  }
  for (std::uint8_t l = 0; l < kLists; ++l) {
    const std::int64_t timeout = timeout_of(l);
    for (;;) {
      const std::uint32_t head = lru_[l].head;
      if (head == kNil) break;
      const Connection& c = conns_[head];
      if (now_ - c.last_ts <= timeout || lru_stamp_[head] >= bound_[l]) break;
      if (l != kEnded) ++stats_.expired_idle;
      order_ = {EmitPhase::Expire, l, lru_stamp_[head]};
      emit(head, c.ended ? c.end_reason : EndReason::Idle);
    }
  }
}

std::uint64_t Tracker::first_unexpired(std::size_t list, core::Timestamp now) const {
  if (have_now_ && now_ > now) now = now_;
  const std::int64_t timeout = timeout_of(list);
  for (std::uint32_t id = lru_[list].head; id != kNil; id = conns_[id].lru_next)
    if (now - conns_[id].last_ts <= timeout) return lru_stamp_[id];
  return kNoStamp;
}

void Tracker::collect_open() {
  finishing_.clear();
  finishing_.reserve(live_);
  for (std::uint8_t l = 0; l < kLists; ++l)
    for (std::uint32_t id = lru_[l].head; id != kNil; id = conns_[id].lru_next)
      finishing_.push_back(id);
  std::sort(finishing_.begin(), finishing_.end(),
            [this](std::uint32_t a, std::uint32_t b) { return conns_[a].id > conns_[b].id; });
}

std::uint64_t Tracker::next_to_finish() {
  if (finishing_.empty()) collect_open();
  return finishing_.empty() ? 0 : conns_[finishing_.back()].id;
}

bool Tracker::finish_one() {
  if (finishing_.empty()) collect_open();
  if (finishing_.empty()) return false;
  const std::uint32_t id = finishing_.back();
  finishing_.pop_back();
  const Connection& c = conns_[id];
  order_ = {EmitPhase::Finish, 0, 0};
  emit(id, c.ended ? c.end_reason : EndReason::EndOfInput);
  return true;
}

void Tracker::finish() {
  while (finish_one()) {
  }
}

}  // namespace tcplife::tcp
