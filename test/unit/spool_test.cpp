// SPDX-License-Identifier: MIT
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tcplife/output/spool.hpp"

using tcplife::output::RecordSpool;

TEST_CASE("spool: records come back in id order, whole, from memory and from the file",
          "[output][memory]") {
  for (std::size_t budget : {std::size_t{1} << 30, std::size_t{100}, std::size_t{0}}) {
    INFO("budget " << budget);
    RecordSpool spool(budget);
    std::vector<std::uint64_t> ids(500);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = i * 3 + 1;
    std::mt19937 rng(5);
    std::shuffle(ids.begin(), ids.end(), rng);
    auto text_of = [](std::uint64_t id) {
      return "record " + std::to_string(id) + std::string(id % 37, 'x') + "\n\x1f end";
    };
    std::vector<std::uint64_t> out;
    std::vector<std::string> texts;
    std::size_t first_drain = 0;
    auto take = [&](std::string_view t) {
      texts.emplace_back(t);
      out.push_back(std::stoull(std::string(t.substr(7))));
    };
    for (std::size_t i = 0; i < ids.size(); ++i) {
      spool.put(ids[i], text_of(ids[i]));
      if (i == 250) {
        spool.drain_below(700, take, "lost");  // what has come so far below 700
        first_drain = out.size();
      }
    }
    spool.drain_below(~std::uint64_t{0}, take, "lost");
    CHECK(spool.empty());
    REQUIRE(out.size() == ids.size());
    // Each drain in order; the first only below 700.
    const auto split = out.begin() + static_cast<long>(first_drain);
    CHECK(first_drain > 50);
    CHECK(std::all_of(out.begin(), split, [](std::uint64_t id) { return id < 700; }));
    CHECK(std::is_sorted(out.begin(), split));
    CHECK(std::is_sorted(split, out.end()));
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(texts[i] == text_of(out[i]));
  }
}
