// SPDX-License-Identifier: MIT
#pragma once
#include "tcplife/output/json_writer.hpp"
#include "tcplife/tcp/connection.hpp"

namespace tcplife::output {

// Writes the per-segment analysis of a connection as keys of the record
// object being written (e.g. "analysis": {...}).
void write_analysis_json(JsonWriter& w, const tcp::Connection& c);

}  // namespace tcplife::output
