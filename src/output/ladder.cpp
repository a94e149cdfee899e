// SPDX-License-Identifier: MIT
#include "tcplife/output/ladder.hpp"

#include <utility>

namespace tcplife::output {
namespace {

using tcp::AnomalyKind;

constexpr std::uint64_t bit(AnomalyKind k) { return std::uint64_t{1} << static_cast<unsigned>(k); }

// Raised by finalize_connection() for the connection as a whole, not for a packet.
constexpr std::uint64_t kEndKinds =
    bit(AnomalyKind::NoClose) | bit(AnomalyKind::HandshakeIncomplete) | bit(AnomalyKind::HalfOpen);

}  // namespace

// The observer sees each packet before the engine applies it, so the states
// after a packet, its relative numbers (which need the sender's ISN, set by
// that very packet when it is a SYN) and the anomalies it raised are read at
// the connection's next packet, or when it is finished.
void LadderRecorder::settle(Rec& r, const tcp::Connection& c, bool finishing) {
  std::array<std::uint32_t, tcp::kAnomalyKinds> now{};
  for (const tcp::AnomalyCount& a : c.anomaly_counts())
    now[static_cast<std::size_t>(a.kind)] += a.count;
  std::uint64_t raised = 0;
  bool old_duplicates = false;
  for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k) {
    if (now[k] <= r.counts[k]) continue;
    const auto kind = static_cast<AnomalyKind>(k);
    if (kind == AnomalyKind::OldDuplicate)
      old_duplicates = true;
    else if (finishing && (bit(kind) & kEndKinds) != 0)
      r.ladder.at_end |= bit(kind);
    else
      raised |= bit(kind);
  }
  r.counts = now;
  if (r.pending) {
    LadderLine& l = r.ladder.lines.back();
    const tcp::Endpoint& e = c.at(l.from);
    const tcp::Endpoint& p = c.at(flow::other(l.from));
    l.rel_seq = e.synced ? e.seq.rel(r.raw.seq) + 1 : 0;
    l.rel_ack = (l.flags & decode::flag::kAck) != 0 && p.synced ? p.seq.rel(r.raw.ack) + 1 : 0;
    l.state_lo = c.ep[0].state;
    l.state_hi = c.ep[1].state;
    l.anomalies |= raised;
    r.pending = false;
  } else {
    // Raised before the engine applied the packet the next line will draw
    // (e.g. time_wait_reuse, at the SYN that opened this instance).
    r.carry |= raised;
  }
  if (!old_duplicates) return;
  // Segments of the previous instance never reach observers: draw the listed
  // ones where they arrived, marked as not applied.
  for (const tcp::Anomaly& a : c.anomalies()) {
    if (a.kind != AnomalyKind::OldDuplicate || a.frame <= r.last_frame) continue;
    if (r.ladder.lines.size() >= max_lines_) {
      ++r.ladder.more;
      continue;
    }
    LadderLine l;
    l.ts = a.ts;
    l.frame = a.frame;
    l.from = a.from;
    l.applied = false;
    l.state_lo = c.ep[0].state;
    l.state_hi = c.ep[1].state;
    l.anomalies = bit(AnomalyKind::OldDuplicate);
    r.ladder.lines.push_back(l);
    r.last_frame = a.frame;
  }
}

void LadderRecorder::on_segment(tcp::Connection& c, tcp::Side from, const decode::Segment& seg) {
  auto it = recs_.find(c.id);
  if (it == recs_.end()) {
    if (!selection_.matches_conn(c)) return;
    it = recs_.emplace(c.id, Rec{}).first;
  }
  Rec& r = it->second;
  settle(r, c, false);
  r.last_frame = seg.index + 1;
  if (r.ladder.lines.size() >= max_lines_) {
    ++r.ladder.more;
    return;
  }
  LadderLine l;
  l.ts = seg.ts;
  l.frame = seg.index + 1;
  l.len = seg.payload_len;
  l.flags = seg.flags;
  l.from = from;
  l.anomalies = std::exchange(r.carry, 0);
  r.ladder.lines.push_back(l);
  r.raw = {seg.seq, seg.ack};
  r.pending = true;
}

void LadderRecorder::on_finish(tcp::Connection& c) {
  const auto it = recs_.find(c.id);
  if (it != recs_.end()) settle(it->second, c, true);
}

const Ladder* LadderRecorder::find(std::uint64_t id) const {
  const auto it = recs_.find(id);
  return it == recs_.end() ? nullptr : &it->second.ladder;
}

void LadderRecorder::release(std::uint64_t id) { recs_.erase(id); }

}  // namespace tcplife::output
