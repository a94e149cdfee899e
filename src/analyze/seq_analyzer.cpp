// SPDX-License-Identifier: MIT
#include "tcplife/analyze/seq_analyzer.hpp"

namespace tcplife::analyze {

void SeqAnalyzer::on_segment(tcp::Connection&, tcp::Side, const decode::Segment&) {}
void SeqAnalyzer::on_finish(tcp::Connection&) {}

}  // namespace tcplife::analyze
