// SPDX-License-Identifier: MIT
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>
#include <vector>

#include "tcplife/core/ip_addr.hpp"
#include "tcplife/flow/flow_table.hpp"

using namespace tcplife;

namespace {
core::IpAddr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  const std::uint8_t p[4] = {a, b, c, d};
  return core::IpAddr::from_v4(p);
}
flow::FlowKey key_n(std::uint32_t n) {
  return flow::make_key(v4(10, 0, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)),
                        static_cast<std::uint16_t>(1024 + n % 50000), v4(192, 0, 2, 1), 80)
      .key;
}
}  // namespace

TEST_CASE("flow: the key of a packet and of its reply are equal, sides are opposite", "[flow]") {
  const auto a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
  const auto k1 = flow::make_key(a, 40000, b, 80);
  const auto k2 = flow::make_key(b, 80, a, 40000);
  CHECK(k1.key == k2.key);
  CHECK(k1.from != k2.from);
  CHECK(flow::hash(k1.key) == flow::hash(k2.key));
}

TEST_CASE("flow: same address on both ends is ordered by port", "[flow]") {
  const auto a = v4(127, 0, 0, 1);
  const auto k1 = flow::make_key(a, 5000, a, 80);
  const auto k2 = flow::make_key(a, 80, a, 5000);
  CHECK(k1.key == k2.key);
  CHECK(k1.key.port_lo == 80);
  CHECK(k1.from == flow::Side::Hi);
  CHECK(k2.from == flow::Side::Lo);
}

TEST_CASE("flow: IPv4 and IPv6 keys never collide as equal", "[flow]") {
  std::uint8_t v6[16] = {};
  v6[15] = 1;
  const auto k4 = flow::make_key(v4(0, 0, 0, 1), 1, v4(0, 0, 0, 2), 2).key;
  const auto k6 = flow::make_key(core::IpAddr::from_v6(v6), 1, v4(0, 0, 0, 2), 2).key;
  CHECK_FALSE(k4 == k6);
}

TEST_CASE("flow: table agrees with std::unordered_map under random insert/erase churn",
          "[flow]") {
  flow::FlowTable t(16);
  // The table keeps only hash bits: it reads the key of id n + 7 here.
  std::vector<flow::FlowKey> keys;
  for (std::uint32_t n = 0; n < 5000; ++n) keys.push_back(key_n(n));
  const auto key_of = [&](flow::ConnId id) -> const flow::FlowKey& { return keys[id - 7]; };
  std::unordered_map<std::uint32_t, flow::ConnId> ref;
  std::mt19937 rng(42);  // deterministic
  for (int i = 0; i < 200000; ++i) {
    const auto n = static_cast<std::uint32_t>(rng() % 5000);
    const auto k = key_n(n);
    switch (rng() % 3) {
      case 0:
      case 1:
        t.insert_or_assign(k, n + 7, key_of);
        ref[n] = n + 7;
        break;
      default:
        CHECK(t.erase(k, key_of) == (ref.erase(n) == 1));
    }
  }
  REQUIRE(t.size() == ref.size());
  for (std::uint32_t n = 0; n < 5000; ++n) {
    const auto it = ref.find(n);
    CHECK(t.find(key_n(n), key_of) == (it == ref.end() ? flow::kNoConn : it->second));
  }
}

TEST_CASE("flow: table grows and keeps every entry", "[flow]") {
  flow::FlowTable t(16);
  std::vector<flow::FlowKey> keys;
  for (std::uint32_t n = 0; n < 10000; ++n) keys.push_back(key_n(n));
  const auto key_of = [&](flow::ConnId id) -> const flow::FlowKey& { return keys[id]; };
  for (std::uint32_t n = 0; n < 10000; ++n) t.insert_or_assign(key_n(n), n, key_of);
  CHECK(t.size() == 10000);
  CHECK(t.capacity() >= 20000);
  for (std::uint32_t n = 0; n < 10000; ++n) REQUIRE(t.find(key_n(n), key_of) == n);
}

TEST_CASE("flow: the canonical side is the lower address in byte order, then the lower port",
          "[flow]") {
  // make_key compares addresses word by word; it must agree with byte order.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    core::IpAddr a, b;
    for (std::size_t j = 0; j < 16; ++j) {
      a.b[j] = static_cast<std::uint8_t>(rng() % 3);  // few values: many ties
      b.b[j] = static_cast<std::uint8_t>(rng() % 3);
    }
    const auto pa = static_cast<std::uint16_t>(rng() % 4), pb = static_cast<std::uint16_t>(rng() % 4);
    const auto bytes = a.b <=> b.b;
    const bool a_lo = bytes < 0 || (bytes == 0 && pa <= pb);
    const flow::KeyedPacket k = flow::make_key(a, pa, b, pb);
    CHECK(k.from == (a_lo ? flow::Side::Lo : flow::Side::Hi));
    CHECK((k.key == flow::make_key(b, pb, a, pa).key));
    flow::FlowKey other = k.key;
    other.addr_hi.b[rng() % 16] ^= 1;
    CHECK_FALSE(other == k.key);
  }
}

// Address text is written by hand (inet_ntop's sprintf per group was a hot
// spot of JSON output): it must be inet_ntop's text, byte for byte.
TEST_CASE("core: address text equals inet_ntop for IPv4 and every IPv6 zero-run shape",
          "[core]") {
  const auto ntop = [](const core::IpAddr& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.is_v4())
      inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
    else
      inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
    return std::string(buf);
  };
  std::mt19937 rng(7);
  std::size_t checked = 0;
  // Every pattern of zero and non-zero groups (256), each with random values
  // (small and large, so leading zeros are dropped), plus random v4.
  for (unsigned mask = 0; mask < 256; ++mask) {
    for (int round = 0; round < 20; ++round) {
      core::IpAddr a;
      for (std::size_t g = 0; g < 8; ++g) {
        if ((mask >> g & 1u) == 0) continue;
        const auto v = static_cast<std::uint32_t>(round % 2 == 0 ? 1 + rng() % 0xffff : 1 + rng() % 0xf);
        a.b[2 * g] = static_cast<std::uint8_t>(v >> 8);
        a.b[2 * g + 1] = static_cast<std::uint8_t>(v);
      }
      INFO(ntop(a));
      CHECK(core::to_string(a) == ntop(a));
      ++checked;
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const auto v = static_cast<std::uint32_t>(rng());
    const core::IpAddr a = v4(static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                              static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v));
    CHECK(core::to_string(a) == ntop(a));
    ++checked;
  }
  CHECK(checked == 256 * 20 + 2000);
}
