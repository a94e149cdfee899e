// SPDX-License-Identifier: MIT
#include "tcplife/analyze/global_detectors.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tcplife::analyze {
namespace {

using tcp::Connection;
using tcp::Side;

constexpr std::array<std::string_view, kGlobalKinds> kKindNames = {"syn_flood", "port_scan",
                                                                   "rst_storm"};

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_addr(const core::IpAddr& a, std::uint32_t extra = 0) noexcept {
  std::uint64_t h = extra;
  for (std::size_t i = 0; i < a.b.size(); i += 8) {
    std::uint64_t w = 0;
    for (std::size_t j = 0; j < 8; ++j) w = w << 8 | a.b[i + j];
    h = mix(h ^ w);
  }
  return h;
}

bool handshake_complete(const Connection& c) {
  return c.hs.syn_seen && c.hs.synack_seen && c.hs.ack_seen;
}
bool refused(const Connection& c) { return c.rst().seen && !c.rst().undone && c.rst().refused; }

}  // namespace

std::string_view global_kind_name(GlobalKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kKindNames.size() ? kKindNames[i] : std::string_view("unknown");
}

bool global_kind_from_name(std::string_view name, GlobalKind& out) noexcept {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      out = static_cast<GlobalKind>(i);
      return true;
    }
  }
  return false;
}

void DistinctCounter::add(std::uint64_t value) noexcept {
  const std::uint64_t h = mix(value);
  bits_[(h >> 6) & 15] |= std::uint64_t{1} << (h & 63);
  if (n_ > kExact) return;
  for (std::size_t i = 0; i < n_; ++i)
    if (values_[i] == value) return;
  if (n_ < kExact) values_[n_] = value;
  ++n_;
}

std::uint64_t DistinctCounter::estimate() const noexcept {
  if (n_ <= kExact) return n_;
  constexpr double kBits = 64.0 * 16;
  std::size_t set = 0;
  for (std::uint64_t w : bits_) set += static_cast<std::size_t>(std::popcount(w));
  const std::size_t zeros = 1024 - set;
  // Linear counting (Whang et al. 1990); a full bitmap saturates at m ln m.
  const double est = kBits * std::log(kBits / static_cast<double>(std::max<std::size_t>(zeros, 1)));
  return std::max<std::uint64_t>(kExact + 1, static_cast<std::uint64_t>(std::llround(est)));
}

void TimeSpan::add(core::Timestamp t) noexcept {
  if (!seen) {
    first = last = t;
    seen = true;
    return;
  }
  first = std::min(first, t);
  last = std::max(last, t);
}

std::uint64_t rate_milli(std::uint64_t count, std::int64_t span_ns) noexcept {
  const auto span = static_cast<std::uint64_t>(std::max<std::int64_t>(span_ns, core::kNsPerSec));
  if (count <= 9'000'000) return count * 1'000'000'000'000ULL / span;
  return count * 1000 / (span / static_cast<std::uint64_t>(core::kNsPerSec));
}

// Keeps a table at most max_tracked entries: when it grows past, the half with
// the smallest scores (ties: the lower keys) is dropped. Deterministic.
template <class Map, class Score>
void GlobalDetectors::bound(Map& m, Score score) {
  if (t_.max_tracked == 0 || m.size() <= t_.max_tracked) return;
  std::vector<std::pair<std::uint64_t, typename Map::key_type>> order;
  order.reserve(m.size());
  for (const auto& [k, v] : m) order.emplace_back(score(v), k);
  const std::size_t drop = m.size() / 2;
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(drop), order.end());
  for (std::size_t i = 0; i < drop; ++i) m.erase(order[i].second);
  dropped_ += drop;
}

void GlobalDetectors::add(const Connection& c) {
  const Side cl = c.client, sv = c.server();
  if (c.hs.syn_seen) {
    const bool complete = handshake_complete(c);
    const bool ref = refused(c);
    ServerPressure& s = servers_[{c.key.addr(sv), c.key.port(sv)}];
    s.ip = c.key.addr(sv);
    s.port = c.key.port(sv);
    ++s.attempts;
    s.syn_retransmits += c.count_of(tcp::AnomalyKind::SynRetransmit);
    if (c.hs.synack_seen) ++s.answered;
    if (complete) ++s.accepted;
    if (ref) ++s.refused;
    if (!complete && !ref) {
      ++s.half_open;
      if (!c.hs.synack_seen) ++s.unanswered;
      s.half_open_span.add(c.hs.syn_ts);
      s.half_open_sources.add(hash_addr(c.key.addr(cl)));
    }
    bound(servers_, [](const ServerPressure& p) { return p.attempts; });

    ScanStats& sc = sources_[c.key.addr(cl)];
    ++sc.probes;
    if (!complete) {
      ++sc.failed;
      if (ref)
        ++sc.refused;
      else if (!c.hs.synack_seen)
        ++sc.unanswered;
      else
        ++sc.incomplete;
      const std::uint16_t port = c.key.port(sv);
      if (!sc.seen) sc.seen = std::make_unique<ScanTargets>();
      sc.seen->targets.add(hash_addr(c.key.addr(sv), port + 1u));
      sc.seen->ports.add(port);
      sc.seen->hosts.add(hash_addr(c.key.addr(sv)));
      sc.port_min = std::min(sc.port_min, port);
      sc.port_max = std::max(sc.port_max, port);
      sc.span.add(c.hs.syn_ts);
    }
    bound(sources_, [](const ScanStats& p) { return p.failed; });
  }
  // Every host that sent a RST on a connection it did not refuse.
  if (refused(c)) return;
  for (Side s : {Side::Lo, Side::Hi}) {
    const std::uint32_t rsts = c.end_of(s).rst_count;
    if (rsts == 0) continue;
    RstStats& r = rst_senders_[c.key.addr(s)];
    ++r.connections;
    r.segments += rsts;
    if (handshake_complete(c)) ++r.after_handshake;
    for (const tcp::AnomalyCount& a : c.anomaly_counts())
      if (a.kind == tcp::AnomalyKind::RstOutOfWindow && a.from == s) r.out_of_window += a.count;
    r.peers.add(hash_addr(c.key.addr(flow::other(s))));
    r.span.add(c.rst().seen && c.rst().by == s ? c.rst().ts : c.last_ts);
    bound(rst_senders_, [](const RstStats& p) { return p.connections; });
  }
}

GlobalReport GlobalDetectors::report() const {
  GlobalReport rep;
  rep.dropped_entries = dropped_;
  std::vector<GlobalFinding> floods, scans, storms;
  for (const auto& [key, s] : servers_) {
    const std::uint64_t rate = rate_milli(s.half_open, s.half_open_span.ns());
    if (s.half_open == 0 || s.half_open < t_.syn_flood_half_open || rate < t_.syn_flood_rate_milli)
      continue;
    GlobalFinding f;
    f.kind = GlobalKind::SynFlood;
    f.ip = s.ip;
    f.has_port = true;
    f.port = s.port;
    f.count = s.half_open;
    f.distinct_peers = s.half_open_sources.estimate();
    f.distinct_exact = s.half_open_sources.exact();
    f.span = s.half_open_span;
    f.rate_milli = rate;
    f.evidence = {{"attempts", s.attempts},
                  {"answered", s.answered},
                  {"accepted", s.accepted},
                  {"half_open", s.half_open},
                  {"unanswered", s.unanswered},
                  {"refused", s.refused},
                  {"syn_retransmits", s.syn_retransmits}};
    floods.push_back(std::move(f));
  }
  for (const auto& [ip, s] : sources_) {
    if (s.failed == 0) continue;
    const ScanTargets& seen = *s.seen;
    const std::uint64_t targets = seen.targets.estimate();
    if (targets < t_.scan_targets) continue;
    GlobalFinding f;
    f.kind = GlobalKind::PortScan;
    f.ip = ip;
    f.count = targets;
    f.distinct_peers = seen.hosts.estimate();
    f.distinct_exact = seen.hosts.exact();
    f.span = s.span;
    f.rate_milli = rate_milli(s.failed, s.span.ns());
    f.evidence = {{"probes", s.probes},
                  {"failed", s.failed},
                  {"refused", s.refused},
                  {"unanswered", s.unanswered},
                  {"incomplete", s.incomplete},
                  {"distinct_ports", seen.ports.estimate()},
                  {"distinct_hosts", seen.hosts.estimate()},
                  {"port_min", s.port_min},
                  {"port_max", s.port_max}};
    scans.push_back(std::move(f));
  }
  for (const auto& [ip, r] : rst_senders_) {
    const std::uint64_t rate = rate_milli(r.connections, r.span.ns());
    if (r.connections < t_.rst_storm_resets || rate < t_.rst_storm_rate_milli) continue;
    GlobalFinding f;
    f.kind = GlobalKind::RstStorm;
    f.ip = ip;
    f.count = r.connections;
    f.distinct_peers = r.peers.estimate();
    f.distinct_exact = r.peers.exact();
    f.span = r.span;
    f.rate_milli = rate;
    f.evidence = {{"connections", r.connections},
                  {"rst_segments", r.segments},
                  {"after_handshake", r.after_handshake},
                  {"out_of_window", r.out_of_window}};
    storms.push_back(std::move(f));
  }
  const auto by_count = [](const GlobalFinding& a, const GlobalFinding& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.ip != b.ip) return a.ip < b.ip;
    return a.port < b.port;
  };
  for (auto* v : {&floods, &scans, &storms}) {
    std::sort(v->begin(), v->end(), by_count);
    for (GlobalFinding& f : *v) rep.findings.push_back(std::move(f));
  }
  for (const auto& [key, s] : servers_)
    if (s.half_open > 0) rep.servers.push_back(s);
  std::sort(rep.servers.begin(), rep.servers.end(),
            [](const ServerPressure& a, const ServerPressure& b) {
              if (a.half_open != b.half_open) return a.half_open > b.half_open;
              if (a.attempts != b.attempts) return a.attempts > b.attempts;
              if (a.ip != b.ip) return a.ip < b.ip;
              return a.port < b.port;
            });
  if (rep.servers.size() > GlobalReport::kTopServers) rep.servers.resize(GlobalReport::kTopServers);
  return rep;
}

}  // namespace tcplife::analyze
