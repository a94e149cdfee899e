// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string_view>

namespace tcplife::tcp {

// The anomaly and per-segment class catalogue. The names (anomaly_name) are
// the JSON `kind` values: stable, snake_case, part of the output contract.
enum class AnomalyKind : std::uint8_t {
  // handshake
  SynRetransmit,
  SynackRetransmit,
  BadSynackAck,
  BadHandshakeAck,
  SimultaneousOpen,
  SynWithData,
  HandshakeIncomplete,
  Refused,
  InvalidFlags,
  // data
  Retransmission,
  FastRetransmission,
  SpuriousRetransmission,
  OutOfOrder,
  LostSegment,
  AckUnseen,
  DupAck,
  ZeroWindow,
  ZeroWindowProbe,
  ZeroWindowProbeAck,
  WindowUpdate,
  WindowFull,
  KeepAlive,
  KeepAliveAck,
  DataAfterFin,
  DataAfterRst,
  SeqOutOfWindow,
  AckOutOfRange,
  WindowShrink,
  SackOutOfWindow,
  FinSeqChanged,
  // teardown
  FinRetransmit,
  RstInWindow,
  RstOutOfWindow,
  RstAfterFin,
  ChallengeAck,
  TimeWaitReuse,
  OldDuplicate,
  NoClose,
  HalfOpen,
  BadChecksum,
  // per-segment analysis (src/analyze), added after the first catalogue
  NetworkDuplicate,
  kCount
};

inline constexpr std::size_t kAnomalyKinds = static_cast<std::size_t>(AnomalyKind::kCount);

std::string_view anomaly_name(AnomalyKind k) noexcept;
// Parses a name back; returns false if unknown.
bool anomaly_from_name(std::string_view name, AnomalyKind& out) noexcept;

}  // namespace tcplife::tcp
