// SPDX-License-Identifier: MIT
#include "tcplife/tcp/anomaly.hpp"

#include <array>

namespace tcplife::tcp {
namespace {

constexpr std::array<std::string_view, kAnomalyKinds> kNames = {
    "syn_retransmit",
    "synack_retransmit",
    "bad_synack_ack",
    "bad_handshake_ack",
    "simultaneous_open",
    "syn_with_data",
    "handshake_incomplete",
    "refused",
    "invalid_flags",
    "retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "lost_segment",
    "ack_unseen",
    "dup_ack",
    "zero_window",
    "zero_window_probe",
    "zero_window_probe_ack",
    "window_update",
    "window_full",
    "keep_alive",
    "keep_alive_ack",
    "data_after_fin",
    "data_after_rst",
    "seq_out_of_window",
    "ack_out_of_range",
    "window_shrink",
    "sack_out_of_window",
    "fin_seq_changed",
    "fin_retransmit",
    "rst_in_window",
    "rst_out_of_window",
    "rst_after_fin",
    "challenge_ack",
    "time_wait_reuse",
    "old_duplicate",
    "no_close",
    "half_open",
    "bad_checksum",
    "network_duplicate",
};

}  // namespace

std::string_view anomaly_name(AnomalyKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

bool anomaly_from_name(std::string_view name, AnomalyKind& out) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) {
      out = static_cast<AnomalyKind>(i);
      return true;
    }
  }
  return false;
}

}  // namespace tcplife::tcp
