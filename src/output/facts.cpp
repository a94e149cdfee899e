// SPDX-License-Identifier: MIT
#include "output/facts.hpp"

#include "output/analysis_json.hpp"

#include <algorithm>
#include <array>

#include "tcplife/output/json_writer.hpp"
#include "tcplife/output/sink.hpp"

namespace tcplife::output {

using tcp::Connection;
using tcp::Side;

SideBytes side_bytes(const Connection& c, Side s) {
  const tcp::Endpoint& e = c.at(s);
  const tcp::Endpoint& peer = c.at(flow::other(s));
  SideBytes b;
  if (!e.synced) return b;
  const std::int64_t holes = e.data.hole_bytes();
  std::int64_t low = 0, high = 0;
  if (e.data.started()) {
    low = e.data.low();
    high = e.data.high();
    b.seen = static_cast<std::uint64_t>(high - low - holes);
  }
  // Data the peer acknowledged beyond what we saw (the FIN's octet is not data).
  std::int64_t acked = peer.ack_seen ? peer.max_ack_rel : 0;
  if (e.fin_seen) acked = std::min(acked, e.seq.rel(c.end_of(s).fin_seq));
  std::int64_t missed = holes;
  if (!e.data.started()) {
    missed += std::max<std::int64_t>(0, acked);
  } else {
    if (e.isn_known && low > 0) missed += low;  // bytes after the SYN before the first seen
    if (acked > high) missed += acked - high;
  }
  b.missed = static_cast<std::uint64_t>(std::max<std::int64_t>(0, missed));
  b.payload = b.seen + b.missed;
  return b;
}

HalfClose half_close(const Connection& c) {
  HalfClose h;
  if (!c.td().fin_seen) return h;
  const Side other = flow::other(c.td().first_fin_by);
  const tcp::Endpoint& e = c.at(other);
  if (!e.half_close_data) return h;
  h.present = true;
  h.by = c.td().first_fin_by;
  h.bytes_after = c.end_of(other).bytes_after_peer_fin;
  h.duration_ns = c.td().last_half_close_data_ts - c.td().first_fin_ts;
  return h;
}

bool handshake_complete(const Connection& c) {
  return c.hs.syn_seen && c.hs.synack_seen && c.hs.ack_seen;
}

std::string_view role_of(const Connection& c, Side s) {
  return s == c.client ? "client" : "server";
}

std::string_view time_wait_side(const Connection& c) {
  const bool cl = c.at(c.client).state == tcp::TcpState::TimeWait;
  const bool sv = c.at(c.server()).state == tcp::TcpState::TimeWait;
  if (cl && sv) return "both";
  if (cl) return "client";
  if (sv) return "server";
  return "none";
}

std::string flags_string(std::uint16_t f) {
  using namespace decode::flag;
  std::string s;
  if (f & kSyn) s.push_back('S');
  if (f & kFin) s.push_back('F');
  if (f & kRst) s.push_back('R');
  if (f & kPsh) s.push_back('P');
  if (f & kUrg) s.push_back('U');
  if (f & kEce) s.push_back('E');
  if (f & kCwr) s.push_back('W');
  if (f & kAe) s.push_back('e');
  if (f & kAck) s.push_back('.');
  if (s.empty()) s = "none";
  return s;
}

std::string_view tunnel_name(decode::TunnelKind k) {
  switch (k) {
    case decode::TunnelKind::IpInIp: return "ip_in_ip";
    case decode::TunnelKind::Gre: return "gre";
    case decode::TunnelKind::Vxlan: return "vxlan";
    case decode::TunnelKind::Geneve: return "geneve";
    case decode::TunnelKind::Teredo: return "teredo";
    default: return "none";
  }
}

Outcome outcome_of(const Connection& c) {
  if (c.rst().seen && !c.rst().undone) return c.rst().refused ? Outcome::Refused : Outcome::Reset;
  const bool lo = c.ep[0].fin_seen, hi = c.ep[1].fin_seen;
  if (lo && hi) return Outcome::Closed;
  if (lo || hi) return Outcome::HalfClosed;
  if (c.hs.syn_seen && !c.hs.synack_seen) return Outcome::Unanswered;
  if (c.hs.syn_seen && !handshake_complete(c)) return Outcome::HandshakeIncomplete;
  return Outcome::Open;
}

std::string_view outcome_name(Outcome o) {
  static constexpr std::array<std::string_view, kOutcomes> kNames = {
      "closed", "reset", "refused", "half_closed", "unanswered", "handshake_incomplete", "open"};
  const auto i = static_cast<std::size_t>(o);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

std::string_view outcome_name(const Connection& c) { return outcome_name(outcome_of(c)); }

std::string endpoint_text(const core::IpAddr& ip, std::uint16_t port) {
  const std::string a = core::to_string(ip);
  return (ip.is_v4() ? a : "[" + a + "]") + ":" + std::to_string(port);
}

std::string endpoint_text(const Connection& c, Side s) {
  return endpoint_text(c.key.addr(s), c.key.port(s));
}

std::uint64_t evidence(const analyze::GlobalFinding& f, std::string_view name) {
  for (const auto& [k, v] : f.evidence)
    if (k == name) return v;
  return 0;
}

std::string finding_detail(const analyze::GlobalFinding& f) {
  const auto n = [](std::uint64_t v) { return std::to_string(v); };
  std::string span, rate;
  append_seconds(span, f.span.ns(), 3);
  append_fixed(rate, static_cast<std::int64_t>(f.rate_milli), 3);
  // (built in two steps: gcc 12 warns falsely on const char* + std::string&& here)
  std::string peers = f.distinct_exact ? "" : "~";
  peers += n(f.distinct_peers);
  switch (f.kind) {
    case analyze::GlobalKind::SynFlood:
      return n(f.count) + " half-open connections from " + peers + " sources in " + span +
             " s (" + rate + "/s); " + n(evidence(f, "attempts")) + " SYNs, " +
             n(evidence(f, "answered")) + " answered, " + n(evidence(f, "accepted")) +
             " accepted";
    case analyze::GlobalKind::PortScan:
      return "probed " + n(f.count) + " ports/hosts without a handshake (" +
             n(evidence(f, "refused")) + " refused, " + n(evidence(f, "unanswered")) +
             " unanswered, " + n(evidence(f, "incomplete")) + " incomplete) on " + peers +
             " hosts, ports " + n(evidence(f, "port_min")) + "-" + n(evidence(f, "port_max")) +
             ", in " + span + " s (" + rate + "/s)";
    case analyze::GlobalKind::RstStorm:
      return "reset " + n(f.count) + " connections with " + peers + " peers in " + span + " s (" +
             rate + "/s); " + n(evidence(f, "rst_segments")) + " RST segments, " +
             n(evidence(f, "out_of_window")) + " out of window";
  }
  return {};
}

std::string anomaly_detail(const tcp::Anomaly& a) {
  using K = tcp::AnomalyKind;
  std::string from_analyzer;
  if (analysis_detail(a, from_analyzer)) return from_analyzer;
  const auto n = [](std::int64_t v) { return std::to_string(v); };
  switch (a.kind) {
    case K::SynRetransmit: return "SYN sent again with the same ISN (retransmit #" + n(a.a) + ")";
    case K::SynackRetransmit:
      return "SYN-ACK sent again with the same ISN (retransmit #" + n(a.a) + ")";
    case K::BadSynackAck:
      return "SYN-ACK acknowledges ISN+" + n(a.a) + ", expected ISN+" + n(a.b);
    case K::BadHandshakeAck:
      return "handshake ACK acknowledges ISN+" + n(a.a) + ", expected ISN+" + n(a.b);
    case K::SimultaneousOpen: return "both sides sent a SYN without ACK";
    case K::SynWithData: return n(a.a) + " payload bytes in the SYN (TCP Fast Open)";
    case K::HandshakeIncomplete: return "the three-way handshake never completed";
    case K::Refused: return "RST answered the SYN";
    case K::InvalidFlags: return "invalid flag combination " + flags_string(static_cast<std::uint16_t>(a.a));
    case K::RstOutOfWindow:
      return "RST seq " + n(a.a) + " outside the receiver's window [" + n(a.b) + ", " +
             n(a.b + a.c) + "): a real receiver drops it";
    case K::RstInWindow:
      return "RST seq " + n(a.a) + " in window but not the expected " + n(a.b) +
             " (RFC 5961: the receiver should send a challenge ACK)";
    case K::RstAfterFin: return "RST after a FIN had been sent";
    case K::ChallengeAck: return "pure ACK answering an inexact RST (RFC 5961 challenge ACK)";
    case K::FinRetransmit: return "FIN sent again at relative seq " + n(a.a);
    case K::FinSeqChanged:
      return "FIN moved from relative seq " + n(a.a) + " to " + n(a.b);
    case K::DataAfterFin:
      return "data at relative seq " + n(a.a) + " after the sender's FIN at " + n(a.b);
    case K::DataAfterRst: return "data (relative seq " + n(a.a) + ") after a believed RST";
    case K::OldDuplicate:
      return "segment of the previous instance (seq " + n(a.a) + " past its ISN)";
    case K::NoClose: return "still open when the capture ended or the connection went idle";
    default: return std::string(tcp::anomaly_name(a.kind));
  }
}

}  // namespace tcplife::output
