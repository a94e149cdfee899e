// SPDX-License-Identifier: MIT
// Zeek's conn.log vocabulary, computed by Zeek's own rules (TCPSessionAdapter,
// TCP_Endpoint, conn/main.zeek) so tcplife's conn_state, history and conn.log
// columns are interchangeable with Zeek's. The rules, with their sources, are
// written down in docs/zeek-compat.md.
#pragma once
#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

// Applies one segment to Zeek's view of the connection. Called once per
// segment, before tcplife's own state machine runs.
void zeek_process(Connection& c, Side from, const decode::Segment& seg);

}  // namespace tcplife::tcp
