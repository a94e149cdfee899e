// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <vector>

#include "tcplife/flow/flow_key.hpp"

namespace tcplife::flow {

using ConnId = std::uint32_t;
inline constexpr ConnId kNoConn = 0xffffffffu;

// FlowKey -> ConnId, open addressing with linear probing over a power-of-two
// array, backward-shift deletion (no tombstones, so churn does not degrade
// lookups). Grows by doubling at 50% load; lookups and inserts never allocate
// except on growth, erase never does. Holds only the *current* instance of
// each 4-tuple: the connection layer decides when an instance is replaced.
class FlowTable {
 public:
  explicit FlowTable(std::size_t initial_capacity = 1024);

  // The connection of `key`, or kNoConn.
  [[nodiscard]] ConnId find(const FlowKey& key) const noexcept;
  // Maps key to id, replacing any previous mapping.
  void insert_or_assign(const FlowKey& key, ConnId id);
  // Removes the mapping if present. Returns true if removed.
  bool erase(const FlowKey& key) noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    FlowKey key;
    ConnId id = kNoConn;  // kNoConn = empty
  };
  [[nodiscard]] std::size_t home(const FlowKey& key) const noexcept {
    return static_cast<std::size_t>(hash(key)) & mask_;
  }
  void grow();

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tcplife::flow
