// SPDX-License-Identifier: MIT
#pragma once
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "tcplife/output/sink.hpp"

namespace tcplife::output {

namespace zeek {
// One conn.log row's values, by Zeek's rules.
struct ConnLogRow {
  tcp::Side orig = tcp::Side::Lo;
  core::Timestamp ts;
  std::int64_t duration_ns = 0;  // <= 0: duration and bytes are logged unset ("-")
  std::uint64_t orig_bytes = 0, resp_bytes = 0, missed_bytes = 0;
  std::string_view conn_state;
  std::string history;
  std::uint64_t orig_pkts = 0, orig_ip_bytes = 0, resp_pkts = 0, resp_ip_bytes = 0;
};
ConnLogRow conn_log_row(const tcp::ZeekRowView& row);
}  // namespace zeek

std::unique_ptr<Sink> make_zeek_sink(std::ostream& out, bool stream = false);

}  // namespace tcplife::output
