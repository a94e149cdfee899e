// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

// Zeek's conn_state code (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH,
// SH, SHR, OTH) for the connection, by Zeek's decision order.
std::string_view zeek_conn_state(const Connection& c);
// Zeek's history string, upper case for Zeek's originator.
std::string zeek_history(const Connection& c);
// Zeek's originator side (which may differ from tcplife's client when Zeek flips).
Side zeek_originator(const Connection& c);
// Zeek's orig_bytes/resp_bytes: payload size from the sequence space.
std::uint64_t zeek_size(const Connection& c, Side s);

}  // namespace tcplife::tcp
