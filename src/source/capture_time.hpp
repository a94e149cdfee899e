// SPDX-License-Identifier: MIT
// Private to the source module: turning a record's time fields into a Timestamp
// without overflow, whatever a hostile file puts in them.
#pragma once
#include <cstdint>

#include "tcplife/core/time.hpp"

namespace tcplife::source {

__extension__ using i128 = __int128;  // -Wpedantic: a GCC/Clang extension, on purpose

// Capture times are clamped to what a classic pcap record can say: a signed
// 32-bit second count (libpcap reads it as bpf_int32) up to the unsigned
// reading's 2106. Any two times then differ by less than 2^63 ns, so the
// engine's differences never overflow. pcapng (64-bit units, a 64-bit offset)
// and libpcap's conversions of it can go far outside; those are clamped.
inline constexpr std::int64_t kMinCaptureSec = -(std::int64_t{1} << 31);
inline constexpr std::int64_t kMaxCaptureSec = (std::int64_t{1} << 32) - 1;
inline constexpr std::int64_t kMinCaptureNs = kMinCaptureSec * core::kNsPerSec;
inline constexpr std::int64_t kMaxCaptureNs = kMaxCaptureSec * core::kNsPerSec + 999'999'999;

// Nanoseconds (any 128-bit value) to a clamped Timestamp.
inline core::Timestamp clamp_capture_ns(i128 ns) noexcept {
  if (ns < kMinCaptureNs) return core::Timestamp{kMinCaptureNs};
  if (ns > kMaxCaptureNs) return core::Timestamp{kMaxCaptureNs};
  return core::Timestamp{static_cast<std::int64_t>(ns)};
}

// Seconds + nanoseconds (the fraction may exceed a second in a corrupt record).
inline core::Timestamp capture_time(std::int64_t sec, std::int64_t frac_ns) noexcept {
  return clamp_capture_ns(static_cast<i128>(sec) * core::kNsPerSec + frac_ns);
}

}  // namespace tcplife::source
