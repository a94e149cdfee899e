// SPDX-License-Identifier: MIT
#pragma once
#include <string>

#include "tcplife/output/json_writer.hpp"
#include "tcplife/tcp/connection.hpp"

namespace tcplife::output {

// Writes the per-segment analysis of a connection as keys of the record
// object being written (e.g. "analysis": {...}).
void write_analysis_json(JsonWriter& w, const tcp::Connection& c);

// The detail text of an anomaly kind the analyzer produces; false for other kinds.
bool analysis_detail(const tcp::Anomaly& a, std::string& out);

}  // namespace tcplife::output
