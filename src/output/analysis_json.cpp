// SPDX-License-Identifier: MIT
#include "output/analysis_json.hpp"

namespace tcplife::output {

void write_analysis_json(JsonWriter&, const tcp::Connection&) {}

bool analysis_detail(const tcp::Anomaly&, std::string&) { return false; }

}  // namespace tcplife::output
