// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace tcplife::core {

// The connections open now, by id, when ids are handed out in increasing
// order and finished in any order: lowest() is the lowest open id, below
// which every record may be written. Memory follows the open ids, not the
// ids handed out since the oldest open one (a connection open from the first
// packet to the last must not make every later one cost memory): 64 ids a
// word, 16 bytes, kept only while one of its ids is open. A word emptied in
// the middle stays until such words are as many as the others, then all go.
class OpenIdSet {
 public:
  // Opens `id`, higher than every id added before.
  void add(std::uint64_t id) {
    const std::uint64_t w = id >> 6;
    if (words_.empty() || words_.back().index != w) {
      words_.push_back({w, 0});
    } else if (words_.back().bits == 0) {
      --empty_;
    }
    words_.back().bits |= std::uint64_t{1} << (id & 63);
    next_ = id + 1;
  }
  // Finishes `id`, open now.
  void take(std::uint64_t id) {
    const auto it = std::lower_bound(words_.begin(), words_.end(), id >> 6,
                                     [](const Word& w, std::uint64_t i) { return w.index < i; });
    it->bits &= ~(std::uint64_t{1} << (id & 63));
    if (it->bits != 0) return;
    ++empty_;
    while (!words_.empty() && words_.front().bits == 0) {
      words_.pop_front();
      --empty_;
    }
    if (empty_ > 8 && 2 * empty_ > words_.size()) {
      words_.erase(
          std::remove_if(words_.begin(), words_.end(), [](const Word& w) { return w.bits == 0; }),
          words_.end());
      empty_ = 0;
    }
  }
  // The lowest open id; with none open, the one after the last added (1 at first).
  [[nodiscard]] std::uint64_t lowest() const noexcept {
    if (words_.empty()) return next_;
    return words_.front().index * 64 +
           static_cast<std::uint64_t>(std::countr_zero(words_.front().bits));
  }
  // Words held (for tests: memory is 16 bytes a word).
  [[nodiscard]] std::size_t words() const noexcept { return words_.size(); }

 private:
  struct Word {
    std::uint64_t index;  // ids index * 64 to index * 64 + 63
    std::uint64_t bits;   // which of them are open
  };
  std::deque<Word> words_;  // by index
  std::size_t empty_ = 0;   // words in words_ with no open id
  std::uint64_t next_ = 1;
};

// A value for each open id, ids handed out in increasing order from 1 (one
// each add()) and taken back in any order; V{} marks a taken one. Memory
// follows the open ids, as in OpenIdSet: taken entries go once they are as
// many as the open ones.
template <class V>
class OpenIdMap {
 public:
  // The next id (the count of add() calls) maps to `value` (not V{}).
  void add(V value) { entries_.push_back({++last_, value}); }
  [[nodiscard]] V peek(std::uint64_t id) const { return find(id)->value; }
  V take(std::uint64_t id) {
    Entry* e = find(id);
    const V v = std::exchange(e->value, V{});
    ++taken_;
    while (front_ < entries_.size() && entries_[front_].value == V{}) ++front_;
    if (taken_ > 64 && 2 * taken_ > entries_.size()) {
      std::erase_if(entries_, [](const Entry& x) { return x.value == V{}; });
      front_ = taken_ = 0;
    }
    return v;
  }
  // Entries held (for tests).
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t id;
    V value;
  };
  Entry* find(std::uint64_t id) {
    return &*std::lower_bound(entries_.begin() + static_cast<std::ptrdiff_t>(front_),
                              entries_.end(), id,
                              [](const Entry& e, std::uint64_t i) { return e.id < i; });
  }
  const Entry* find(std::uint64_t id) const { return const_cast<OpenIdMap*>(this)->find(id); }
  std::vector<Entry> entries_;  // by id; entries_[0, front_) are all taken
  std::size_t front_ = 0;
  std::size_t taken_ = 0;  // taken entries in entries_
  std::uint64_t last_ = 0;
};

}  // namespace tcplife::core
