// SPDX-License-Identifier: MIT
// Which connections a run reports (--only, --conn) and which findings fail it
// (--fail-on). Both speak one vocabulary of condition words:
//   outcomes    closed reset refused half_closed unanswered handshake_incomplete open
//   groups      anomalous (any anomaly), half-open (unanswered or handshake_incomplete),
//               open (still open at the end: outcome open or half_closed)
//   anomalies   every anomaly kind name (tcp::anomaly_name), e.g. rst_out_of_window
//   global      syn_flood port_scan rst_storm (--fail-on only)
// A word matches a connection if its outcome/group matches or the connection
// has that anomaly kind (refused and handshake_incomplete are both).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcplife/analyze/global_detectors.hpp"
#include "tcplife/core/ip_addr.hpp"
#include "tcplife/tcp/connection.hpp"

namespace tcplife::output {

struct Condition {
  std::string word;            // as given
  std::uint32_t outcomes = 0;  // bit per outcome (see outcome_bit)
  bool anomalous = false;
  std::optional<tcp::AnomalyKind> anomaly;
  std::optional<analyze::GlobalKind> global;
  [[nodiscard]] bool matches(const tcp::Connection& c) const;
};

// Parses one word; false (and `err`) if it is not in the vocabulary.
bool parse_condition(std::string_view word, Condition& out, std::string& err);

// --conn: a connection id ("7") or a 4-tuple in either direction
// ("10.0.0.1:40000-10.0.0.2:80", "[2001:db8::1]:40000-[2001:db8::2]:443").
struct ConnSpec {
  bool by_id = true;
  std::uint64_t id = 0;
  core::IpAddr a, b;
  std::uint16_t port_a = 0, port_b = 0;
  [[nodiscard]] bool matches(const tcp::Connection& c) const;
};
bool parse_conn_spec(std::string_view text, ConnSpec& out, std::string& err);

struct Selection {
  std::vector<Condition> only;  // any of them (empty: every connection)
  std::vector<ConnSpec> conns;  // any of them (empty: every connection)
  // --conn alone: known from the connection's first packet.
  [[nodiscard]] bool matches_conn(const tcp::Connection& c) const;
  // --conn and --only: decided when the connection is finished.
  [[nodiscard]] bool selects(const tcp::Connection& c) const;
};

// --fail-on: counts, per word, the reported connections (and global findings)
// that match it.
class FailOn {
 public:
  static constexpr std::size_t kListedIds = 10;
  struct Hit {
    std::uint64_t count = 0;
    std::vector<std::uint64_t> ids;  // the first kListedIds connection ids
  };
  FailOn() = default;
  explicit FailOn(std::vector<Condition> words);
  [[nodiscard]] bool active() const noexcept { return !words_.empty(); }
  void add(const tcp::Connection& c);
  void add(const analyze::GlobalReport& report);
  [[nodiscard]] bool tripped() const noexcept;
  // One line per tripped word: "reset: 2 connections (#3, #5)".
  [[nodiscard]] std::vector<std::string> describe() const;

 private:
  std::vector<Condition> words_;
  std::vector<Hit> hits_;
};

}  // namespace tcplife::output
