// SPDX-License-Identifier: MIT
// Per-endpoint state of the per-segment sequence/acknowledgment analysis
// (src/analyze). Plain fixed-size data stored in each Connection, so the
// analysis allocates nothing per packet; only src/analyze reads or writes it.
#pragma once
#include <cstdint>

namespace tcplife::tcp {

struct SegAnalysisEndpoint {
  std::uint32_t reserved = 0;
};

}  // namespace tcplife::tcp
