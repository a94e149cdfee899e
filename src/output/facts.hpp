// SPDX-License-Identifier: MIT
// Derived facts about a connection that every output format shows the same way.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

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
// One word for how the connection went: closed, reset, refused, half_closed,
// unanswered, handshake_incomplete, open.
std::string_view outcome_name(const tcp::Connection& c);

}  // namespace tcplife::output
