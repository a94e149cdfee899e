// SPDX-License-Identifier: MIT
#include <array>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {
namespace {
template <typename E, std::size_t N>
std::string_view lookup(const std::array<std::string_view, N>& names, E v) {
  const auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : std::string_view("unknown");
}
}  // namespace

std::string_view state_name(TcpState s) noexcept {
  static constexpr std::array<std::string_view, kTcpStates> kNames = {
      "CLOSED",     "LISTEN",    "SYN_SENT",   "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
      "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",   "LAST_ACK",     "TIME_WAIT"};
  return lookup(kNames, s);
}

std::string_view role_reason_name(RoleReason r) noexcept {
  static constexpr std::array<std::string_view, 5> kNames = {
      "syn", "synack", "well_known_port", "lower_port", "first_packet"};
  return lookup(kNames, r);
}

std::string_view new_instance_reason_name(NewInstanceReason r) noexcept {
  static constexpr std::array<std::string_view, 5> kNames = {
      "first", "new_isn", "after_close", "after_reset", "syn_in_time_wait"};
  return lookup(kNames, r);
}

std::string_view close_kind_name(CloseKind k) noexcept {
  static constexpr std::array<std::string_view, 7> kNames = {
      "none", "four_way", "three_way", "simultaneous", "half_close", "reset", "refused"};
  return lookup(kNames, k);
}

std::string_view end_reason_name(EndReason r) noexcept {
  static constexpr std::array<std::string_view, 7> kNames = {
      "closed", "reset", "refused", "idle", "evicted", "end_of_input", "replaced"};
  return lookup(kNames, r);
}

std::string_view event_name(EventKind k) noexcept {
  static constexpr std::array<std::string_view, 9> kNames = {
      "syn", "synack", "handshake_ack", "data", "fin", "fin_ack", "rst", "ack", "reopen"};
  return lookup(kNames, k);
}

}  // namespace tcplife::tcp
