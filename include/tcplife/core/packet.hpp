// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

#include "tcplife/core/bytes.hpp"
#include "tcplife/core/time.hpp"

namespace tcplife::core {

// One captured packet, as the source hands it out. Non-owning: `bytes` points
// into the reader's buffer (libpcap's or tcplife's own) and is valid only until the next read.
struct PacketView {
  Timestamp ts;
  Bytes bytes;                 // the captured bytes (caplen of them)
  std::uint32_t wire_len = 0;  // original length on the wire
  std::uint64_t index = 0;     // 0-based packet number in the input (frame = index + 1)
  int linktype = 0;            // libpcap DLT_* value of the interface it came from
};

}  // namespace tcplife::core
