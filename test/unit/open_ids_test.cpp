// SPDX-License-Identifier: MIT
#include "tcplife/core/open_ids.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

using tcplife::core::OpenIdMap;
using tcplife::core::OpenIdSet;

namespace {

// Opens ids 1, 2, ... and finishes random open ones, keeping about `open`
// open at once; `pinned` (if not 0) stays open throughout. Checks each step
// against std::set / std::map, and that memory follows what is open.
void churn(std::uint64_t ids, std::size_t open, std::uint64_t pinned, unsigned seed) {
  OpenIdSet set;
  OpenIdMap<std::uint64_t> map;
  std::set<std::uint64_t> ref;
  std::map<std::uint64_t, std::uint64_t> ref_map;
  std::vector<std::uint64_t> live;  // unordered, for picking
  std::mt19937_64 rng(seed);
  std::size_t most_words = 0, most_entries = 0;
  bool agree = true;
  CHECK(set.lowest() == 1);
  for (std::uint64_t id = 1; id <= ids; ++id) {
    set.add(id);
    map.add(id * 7 + 3);
    ref.insert(id);
    ref_map[id] = id * 7 + 3;
    if (id != pinned) live.push_back(id);
    while (live.size() > open) {
      const std::size_t k = static_cast<std::size_t>(rng() % live.size());
      const std::uint64_t gone = live[k];
      live[k] = live.back();
      live.pop_back();
      agree = agree && map.peek(gone) == gone * 7 + 3;
      set.take(gone);
      agree = agree && map.take(gone) == ref_map[gone];
      ref.erase(gone);
      ref_map.erase(gone);
      agree = agree && set.lowest() == *ref.begin();
    }
    most_words = std::max(most_words, set.words());
    most_entries = std::max(most_entries, map.size());
  }
  CHECK(agree);
  // At most a word per open id (and 8 emptied ones), and twice the open
  // entries (plus 64), however many ids went by.
  CHECK(most_words <= open + 1 + 8 + 1);
  CHECK(most_entries <= 2 * (open + 1) + 65);
  for (std::uint64_t id : ref) set.take(id);
  CHECK(set.lowest() == ids + 1);
  CHECK(set.words() == 0);
}

}  // namespace

TEST_CASE("open ids: the lowest open id and values, with memory that follows the open ones",
          "[core][memory]") {
  SECTION("a few open at once") { churn(200000, 50, 0, 1); }
  SECTION("many open at once") { churn(200000, 5000, 0, 2); }
  SECTION("behind an id open from the first to the last") { churn(300000, 100, 1, 3); }
  SECTION("behind one opened later") { churn(300000, 1000, 777, 4); }
}

TEST_CASE("open ids: finished in order, out of order, all at once", "[core][memory]") {
  OpenIdSet set;
  for (std::uint64_t id = 1; id <= 1000; ++id) set.add(id);
  CHECK(set.lowest() == 1);
  CHECK(set.words() == 16);  // ids 1..1000: words 0 to 15
  for (std::uint64_t id = 1000; id >= 2; --id) set.take(id);
  CHECK(set.lowest() == 1);
  CHECK(set.words() <= 1 + 8);
  set.take(1);
  CHECK(set.lowest() == 1001);
  CHECK(set.words() == 0);
  set.add(1001);
  set.add(1064);  // a new word after an emptied one
  CHECK(set.lowest() == 1001);
  set.take(1001);
  CHECK(set.lowest() == 1064);
}
