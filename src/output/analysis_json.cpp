// SPDX-License-Identifier: MIT
#include "output/analysis_json.hpp"

namespace tcplife::output {

void write_analysis_json(JsonWriter&, const tcp::Connection&) {}

}  // namespace tcplife::output
