// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "tcplife/tcp/connection.hpp"
#include "tcplife/tcp/seq.hpp"

using namespace tcplife::tcp;

TEST_CASE("seq: comparisons are modulo 2^32", "[seq]") {
  CHECK(seq_lt(0xfffffff0u, 0x10u));
  CHECK(seq_gt(0x10u, 0xfffffff0u));
  CHECK(seq_diff(5u, 0xfffffffbu) == 10);
  CHECK(seq_le(7u, 7u));
}

TEST_CASE("seq: the relative space unwraps across 2^32", "[seq]") {
  const std::uint32_t isn = GENERATE(0u, 0x80000000u, 0xffffffffu, 0xfffffffbu);
  SeqSpace s;
  s.reset(isn + 1);
  std::int64_t expect = 0;
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t seq = isn + 1 + static_cast<std::uint32_t>(i * 1000);
    CHECK(s.advance(seq) == expect);
    expect += 1000;
  }
  CHECK(s.rel(isn) == -1);  // the SYN
}

TEST_CASE("data tracker: retransmitted bytes are counted once", "[seq]") {
  DataTracker d;
  CHECK(d.add(0, 100) == 0);
  CHECK(d.add(100, 200) == 0);
  CHECK(d.add(50, 150) == 100);
  CHECK(d.hole_bytes() == 0);
  CHECK(d.high() == 200);
}

TEST_CASE("data tracker: gaps become holes and are filled by late data", "[seq]") {
  DataTracker d;
  d.add(0, 100);
  d.add(300, 400);  // 100..300 missing
  CHECK(d.hole_bytes() == 200);
  CHECK_FALSE(d.all_seen(150, 160));
  CHECK(d.add(150, 200) == 0);  // splits the hole
  CHECK(d.hole_bytes() == 150);
  CHECK(d.add(90, 310) == 10 + 50 + 10);  // 90..100, 150..200, 300..310 seen before
  CHECK(d.hole_bytes() == 0);
  CHECK(d.all_seen(0, 400));
}

TEST_CASE("data tracker: data below the first segment extends the range", "[seq]") {
  DataTracker d;
  d.add(1000, 2000);
  CHECK(d.add(0, 500) == 0);
  CHECK(d.low() == 0);
  CHECK(d.hole_bytes() == 500);
}

TEST_CASE("data tracker: more holes than it can keep is reported as approximate", "[seq]") {
  DataTracker d;
  d.add(0, 10);
  for (int i = 1; i <= static_cast<int>(DataTracker::kMaxHoles) + 3; ++i) d.add(i * 20, i * 20 + 10);
  CHECK(d.approximate());
}
