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
//
// A slot is 8 bytes: the id and 32 bits of the key's hash, not the 36-byte
// key, which its owner keeps anyway (Connection::key). Lookups therefore take
// `key_of`, a callable giving the key of a stored id (`const FlowKey&
// key_of(ConnId)`); it is called only when the 32 hash bits match, and must
// give the key the id was inserted with for as long as the id is in the table.
class FlowTable {
 public:
  explicit FlowTable(std::size_t initial_capacity = 1024);

  // The connection of `key`, or kNoConn.
  template <class KeyOf>
  [[nodiscard]] ConnId find(const FlowKey& key, const KeyOf& key_of) const noexcept {
    const std::uint32_t tag = tag_of(key);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kNoConn) return kNoConn;
      if (s.tag == tag && key_of(s.id) == key) return s.id;
    }
  }
  // Maps key to id, replacing any previous mapping.
  template <class KeyOf>
  void insert_or_assign(const FlowKey& key, ConnId id, const KeyOf& key_of) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint32_t tag = tag_of(key);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id == kNoConn) {
        s = {tag, id};
        ++size_;
        return;
      }
      if (s.tag == tag && key_of(s.id) == key) {
        s.id = id;
        return;
      }
    }
  }
  // Removes the mapping if present. Returns true if removed.
  template <class KeyOf>
  bool erase(const FlowKey& key, const KeyOf& key_of) noexcept {
    const std::uint32_t tag = tag_of(key);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kNoConn) return false;
      if (s.tag == tag && key_of(s.id) == key) {
        erase_at(i);
        return true;
      }
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::uint32_t tag = 0;  // hash bits; the home slot is tag & mask_
    ConnId id = kNoConn;    // kNoConn = empty
  };
  // 32 bits of the hash: they place the key (so the table holds at most 2^32
  // slots, 2^31 keys) and screen the key comparisons.
  [[nodiscard]] static std::uint32_t tag_of(const FlowKey& key) noexcept {
    return static_cast<std::uint32_t>(hash(key) >> 32);
  }
  void erase_at(std::size_t i) noexcept;
  void grow();

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tcplife::flow
