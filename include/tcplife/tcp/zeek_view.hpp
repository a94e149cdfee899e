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

// The same for one Zeek row (see ConnectionCold::zk_rows).
std::string_view zeek_conn_state(const ZeekShadow& z);
std::uint64_t zeek_size(const ZeekShadow& z, Side s);
// Calls f(row) with each conn.log row (a ZeekRowView) Zeek would write for
// this connection, in order.
template <typename F>
void for_each_zeek_row(const Connection& c, F&& f) {
  for (const ZeekRow& r : c.zk_rows()) f(ZeekRowView{r.z, r.n});
  f(c.zk_current());
}

}  // namespace tcplife::tcp
