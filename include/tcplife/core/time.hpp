// SPDX-License-Identifier: MIT
#pragma once
#include <compare>
#include <cstdint>

namespace tcplife::core {

// Capture time as integer nanoseconds since the Unix epoch. Never wall-clock:
// every analysis decision is driven by the timestamps in the packets.
struct Timestamp {
  std::int64_t ns = 0;
  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
};

// Signed difference a - b in nanoseconds.
constexpr std::int64_t operator-(Timestamp a, Timestamp b) { return a.ns - b.ns; }

inline constexpr std::int64_t kNsPerSec = 1'000'000'000;

}  // namespace tcplife::core
