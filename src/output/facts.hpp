// SPDX-License-Identifier: MIT
// Derived facts about a connection that every output format shows the same way.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "tcplife/analyze/global_detectors.hpp"
#include "tcplife/tcp/connection.hpp"

namespace tcplife::output {

struct SideBytes {
  std::uint64_t payload = 0;  // sequence-space bytes carried: seen + missed
  std::uint64_t seen = 0;     // distinct payload bytes captured
  std::uint64_t missed = 0;   // bytes never captured: gaps, and data acked but never seen
};
SideBytes side_bytes(const tcp::Connection& c, tcp::Side s);

struct HalfClose {
  bool present = false;
  tcp::Side by = tcp::Side::Lo;   // who sent the first FIN
  std::uint64_t bytes_after = 0;  // new bytes the other side sent after it
  std::int64_t duration_ns = 0;   // first FIN to the last such byte
};
HalfClose half_close(const tcp::Connection& c);

bool handshake_complete(const tcp::Connection& c);
std::string_view role_of(const tcp::Connection& c, tcp::Side s);  // "client"/"server"
std::string_view time_wait_side(const tcp::Connection& c);        // client/server/both/none
std::string flags_string(std::uint16_t flags);                    // tcpdump style: "S.", "FP."
std::string_view tunnel_name(decode::TunnelKind k);
// One word for how the connection went (the JSON `outcome`).
enum class Outcome : std::uint8_t {
  Closed, Reset, Refused, HalfClosed, Unanswered, HandshakeIncomplete, Open, kCount
};
inline constexpr std::size_t kOutcomes = static_cast<std::size_t>(Outcome::kCount);
Outcome outcome_of(const tcp::Connection& c);
// closed, reset, refused, half_closed, unanswered, handshake_incomplete, open
std::string_view outcome_name(Outcome o);
std::string_view outcome_name(const tcp::Connection& c);

// "10.0.0.1:80", "[2001:db8::1]:443"
std::string endpoint_text(const core::IpAddr& ip, std::uint16_t port);
std::string endpoint_text(const tcp::Connection& c, tcp::Side s);
// One sentence of evidence for a global finding (text and JSON `detail`).
std::string finding_detail(const analyze::GlobalFinding& f);
// Value of a named evidence counter of a finding (0 if absent).
std::uint64_t evidence(const analyze::GlobalFinding& f, std::string_view name);

}  // namespace tcplife::output
