// SPDX-License-Identifier: MIT
// Test support: a generated capture that keeps a sharded run's merge busy
// (test/golden/threads_test.cpp, test/unit/sharded_test.cpp), and the short
// idle timeouts it is meant for.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "support/packet_builder.hpp"
#include "tcplife/pipeline.hpp"

namespace tcplife::test {

// A deterministic capture (raw engine output only: the standard distributions
// differ between libraries). Up to 24 conversations at once over a few
// 4-tuples, each one of: a full close, a reset, an unanswered SYN, data then
// silence, a mid-stream pickup, a refusal. Time steps by 0-10 ms, sometimes
// jumps 0.3-3 s ahead, and one packet in 12 is stamped up to 2 s in the past.
inline std::vector<Frame> churn_capture(std::uint32_t seed, std::size_t conversations) {
  namespace fl = decode::flag;
  std::mt19937 rng(seed);
  auto pick = [&rng](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  struct Conv {
    std::string client, server;
    std::uint16_t cport = 0, sport = 0;
    std::vector<Tcp> script;  // in order; from the client when sport == cport
    std::size_t next = 0;
  };
  auto make_conv = [&]() {
    Conv c;
    c.client = "10.0." + std::to_string(pick(3)) + "." + std::to_string(1 + pick(4));
    c.server = "10.9.0." + std::to_string(1 + pick(2));
    c.cport = static_cast<std::uint16_t>(40000 + pick(5));
    c.sport = pick(2) == 0 ? 80 : 443;
    const std::uint32_t ci = static_cast<std::uint32_t>(rng()),
                        si = static_cast<std::uint32_t>(rng());
    // A segment from the client (or the server) to its peer.
    auto add = [&c](bool client, std::uint32_t seq, std::uint32_t ack, std::uint16_t flags,
                    std::size_t len = 0) {
      c.script.push_back({.sport = client ? c.cport : c.sport,
                          .dport = client ? c.sport : c.cport,
                          .seq = seq,
                          .ack = ack,
                          .flags = flags,
                          .payload_len = len});
    };
    constexpr bool kClient = true, kServer = false;
    const std::uint16_t ack = fl::kAck, psh = fl::kPsh | fl::kAck;
    const std::uint32_t kind = pick(6);
    if (kind != 4) add(kClient, ci, 0, fl::kSyn);
    if (kind == 2) {
      if (pick(2) == 0) add(kClient, ci, 0, fl::kSyn);  // retransmitted
      return c;
    }
    if (kind == 5) {
      add(kServer, 0, ci + 1, fl::kRst | fl::kAck);
      return c;
    }
    if (kind != 4) {
      add(kServer, si, ci + 1, fl::kSyn | fl::kAck);
      add(kClient, ci + 1, si + 1, ack);
    }
    const std::uint32_t req = 1 + pick(300), resp = 1 + pick(1400);
    add(kClient, ci + 1, si + 1, psh, req);
    add(kServer, si + 1, ci + 1 + req, psh, resp);
    add(kClient, ci + 1 + req, si + 1 + resp, ack);
    if (kind == 1) {
      add(kClient, ci + 1 + req, si + 1 + resp, fl::kRst | fl::kAck);
    } else if (kind == 0) {
      add(kClient, ci + 1 + req, si + 1 + resp, fl::kFin | fl::kAck);
      add(kServer, si + 1 + resp, ci + 2 + req, fl::kFin | fl::kAck);
      add(kClient, ci + 2 + req, si + 2 + resp, ack);
    }
    return c;
  };

  std::vector<Frame> frames;
  std::vector<Conv> active;
  std::int64_t clock = 1'700'000'000 * core::kNsPerSec;
  std::size_t started = 0;
  while (started < conversations || !active.empty()) {
    if (started < conversations && (active.size() < 8 || (active.size() < 24 && pick(3) == 0))) {
      active.push_back(make_conv());
      ++started;
    }
    const std::size_t i = pick(static_cast<std::uint32_t>(active.size()));
    Conv& c = active[i];
    const Tcp& t = c.script[c.next++];
    const bool from_client = t.sport == c.cport;
    Frame f = tcp4(from_client ? c.client : c.server, from_client ? c.server : c.client, t);
    clock += static_cast<std::int64_t>(pick(10'000'000));
    if (pick(400) == 0) clock += 300'000'000 + static_cast<std::int64_t>(pick(2'700'000'000u));
    f.ts.ns = pick(12) == 0 ? clock - static_cast<std::int64_t>(pick(2'000'000'000u)) : clock;
    frames.push_back(std::move(f));
    if (c.next == c.script.size()) active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return frames;
}

// Idle timeouts short enough for the churn capture's gaps and lags.
inline Config short_timeouts() {
  Config cfg;
  cfg.tracker.idle_handshake_ns = 500'000'000;
  cfg.tracker.idle_established_ns = 1'000'000'000;
  cfg.tracker.idle_closing_ns = 700'000'000;
  cfg.tracker.close_linger_ns = 200'000'000;
  return cfg;
}

}  // namespace tcplife::test
