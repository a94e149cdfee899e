// SPDX-License-Identifier: MIT
// Read-only views of the per-segment analysis state for the output writers.
#pragma once
#include <cstdint>
#include <string_view>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::analyze {

// Where the capture was taken, as far as the handshake shows: the half of the
// handshake that is near zero is the side the capture point is next to.
enum class Vantage : std::uint8_t { Unknown, ClientSide, ServerSide, Middle };
std::string_view vantage_name(Vantage v) noexcept;  // "unknown", "client_side", ...

struct VantageInfo {
  Vantage where = Vantage::Unknown;
  bool have_halves = false;           // the three handshake packets were timed
  std::int64_t syn_to_synack_ns = 0;  // latest SYN -> latest SYN-ACK before the ACK
  std::int64_t synack_to_ack_ns = 0;  // that SYN-ACK -> the first pure ACK
};
// A half is "near zero" if it is at most a tenth of the whole handshake or at
// most kNearZeroUs; both near zero (a capture close to both hosts) is Unknown.
inline constexpr std::int64_t kNearZeroUs = 200;
VantageInfo vantage(const tcp::Connection& c) noexcept;

// Wireshark's iRTT (latest pure SYN -> first pure ACK), if seen.
bool initial_rtt(const tcp::Connection& c, std::int64_t& ns) noexcept;

struct RttSummary {
  std::uint32_t samples = 0;
  std::int64_t min_ns = 0, median_ns = 0, max_ns = 0;
};
RttSummary summarize(const tcp::RttStats& s) noexcept;

// Adds one sample (microseconds) to `s`.
void add_sample(tcp::RttStats& s, std::uint32_t us) noexcept;

}  // namespace tcplife::analyze
