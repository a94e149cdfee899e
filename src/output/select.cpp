// SPDX-License-Identifier: MIT
#include "tcplife/output/select.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "output/facts.hpp"

namespace tcplife::output {
namespace {

constexpr std::uint32_t bit(Outcome o) { return 1u << static_cast<unsigned>(o); }

bool parse_port(std::string_view s, std::uint16_t& out) {
  unsigned v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > 65535 || s.empty()) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

// "10.0.0.1:80" or "[2001:db8::1]:80".
bool parse_endpoint(std::string_view s, core::IpAddr& ip, std::uint16_t& port) {
  std::string host;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find("]:");
    if (close == std::string_view::npos) return false;
    host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
  }
  if (!parse_port(port_text, port)) return false;
  std::array<std::uint8_t, 16> buf{};
  if (inet_pton(AF_INET, host.c_str(), buf.data()) == 1) {
    ip = core::IpAddr::from_v4(buf.data());
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), buf.data()) == 1) {
    ip = core::IpAddr::from_v6(buf.data());
    return true;
  }
  return false;
}

}  // namespace

bool Condition::matches(const tcp::Connection& c) const {
  if ((outcomes & bit(outcome_of(c))) != 0) return true;
  if (anomalous && c.anomaly_total() > 0) return true;
  return anomaly && c.count_of(*anomaly) > 0;
}

bool parse_condition(std::string_view word, Condition& out, std::string& err) {
  out = Condition{};
  out.word = std::string(word);
  if (word == "anomalous") {
    out.anomalous = true;
  } else if (word == "half-open") {
    out.outcomes = bit(Outcome::Unanswered) | bit(Outcome::HandshakeIncomplete);
  } else if (word == "open") {
    out.outcomes = bit(Outcome::Open) | bit(Outcome::HalfClosed);
  } else {
    for (std::size_t i = 0; i < kOutcomes; ++i)
      if (outcome_name(static_cast<Outcome>(i)) == word)
        out.outcomes = bit(static_cast<Outcome>(i));
  }
  tcp::AnomalyKind k{};
  if (tcp::anomaly_from_name(word, k)) out.anomaly = k;
  analyze::GlobalKind g{};
  if (analyze::global_kind_from_name(word, g)) out.global = g;
  if (out.outcomes == 0 && !out.anomalous && !out.anomaly && !out.global) {
    err = "unknown kind '" + out.word +
          "' (expected an outcome, anomalous, half-open, open, an anomaly kind or a global "
          "anomaly kind)";
    return false;
  }
  return true;
}

bool ConnSpec::matches(const tcp::Connection& c) const {
  if (by_id) return c.id == id;
  const auto& k = c.key;
  const bool fwd = k.addr_lo == a && k.port_lo == port_a && k.addr_hi == b && k.port_hi == port_b;
  const bool rev = k.addr_lo == b && k.port_lo == port_b && k.addr_hi == a && k.port_hi == port_a;
  return fwd || rev;
}

bool parse_conn_spec(std::string_view text, ConnSpec& out, std::string& err) {
  out = ConnSpec{};
  std::uint64_t id = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), id);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size() && id > 0) {
    out.id = id;
    return true;
  }
  const auto dash = text.find('-');
  if (dash != std::string_view::npos && parse_endpoint(text.substr(0, dash), out.a, out.port_a) &&
      parse_endpoint(text.substr(dash + 1), out.b, out.port_b)) {
    out.by_id = false;
    return true;
  }
  err = "bad --conn '" + std::string(text) +
        "' (expected a connection id or ADDR:PORT-ADDR:PORT, IPv6 in brackets)";
  return false;
}

bool Selection::matches_conn(const tcp::Connection& c) const {
  if (conns.empty()) return true;
  for (const ConnSpec& s : conns)
    if (s.matches(c)) return true;
  return false;
}

bool Selection::selects(const tcp::Connection& c) const {
  if (!matches_conn(c)) return false;
  if (only.empty()) return true;
  for (const Condition& w : only)
    if (w.matches(c)) return true;
  return false;
}

FailOn::FailOn(std::vector<Condition> words) : words_(std::move(words)), hits_(words_.size()) {}

void FailOn::add(const tcp::Connection& c) {
  for (std::size_t i = 0; i < words_.size(); ++i) {
    if (!words_[i].matches(c)) continue;
    Hit& h = hits_[i];
    ++h.count;
    if (h.ids.size() < kListedIds) h.ids.push_back(c.id);
  }
}

void FailOn::add(const analyze::GlobalReport& report) {
  for (std::size_t i = 0; i < words_.size(); ++i) {
    if (!words_[i].global) continue;
    for (const analyze::GlobalFinding& f : report.findings)
      if (f.kind == *words_[i].global) ++hits_[i].count;
  }
}

bool FailOn::tripped() const noexcept {
  for (const Hit& h : hits_)
    if (h.count > 0) return true;
  return false;
}

std::vector<std::string> FailOn::describe() const {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < words_.size(); ++i) {
    const Hit& h = hits_[i];
    if (h.count == 0) continue;
    std::string l = words_[i].word + ": ";
    if (words_[i].global) {
      l += std::to_string(h.count) + " global finding" + (h.count == 1 ? "" : "s");
    } else {
      l += std::to_string(h.count) + " connection" + (h.count == 1 ? "" : "s") + " (";
      for (std::size_t j = 0; j < h.ids.size(); ++j)
        l += (j ? ", #" : "#") + std::to_string(h.ids[j]);
      if (h.count > h.ids.size()) l += ", ...";
      l += ')';
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

}  // namespace tcplife::output
