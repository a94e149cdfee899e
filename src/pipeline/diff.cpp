// SPDX-License-Identifier: MIT
// `tcplife diff BASELINE CURRENT`: which connection lifecycles changed
// between two reports. Connections are paired by their 4-tuple and instance;
// those left over are paired by client address, server address and server
// port, in first-packet order (a rerun of the same traffic picks new
// ephemeral ports). Everything that differs is a change: outcome, handshake
// completion, anomaly kinds, conn_state, handshake RTT beyond the tolerance,
// connections only in one report, and global findings.
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "tcplife/output/json_writer.hpp"
#include "tcplife/pipeline.hpp"

namespace tcplife {
namespace {

using nlohmann::json;

struct Report {
  std::vector<json> conns;
  json global = json::array();
};

bool load(const std::string& text, Report& r, std::string& why) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    if (doc.value("schema", "") != "tcplife/1" || !doc.contains("connections") ||
        !doc["connections"].is_array()) {
      why = "not a tcplife/1 JSON report";
      return false;
    }
    for (json& c : doc["connections"]) r.conns.push_back(std::move(c));
    if (doc.contains("global_anomalies")) r.global = doc["global_anomalies"];
    return true;
  }
  // NDJSON: connection lines and a summary line.
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  bool any = false;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json l = json::parse(line, nullptr, false);
    if (l.is_discarded() || !l.is_object() || l.value("schema", "") != "tcplife/1") {
      why = "line " + std::to_string(n) + " is not a tcplife/1 JSON or NDJSON record";
      return false;
    }
    any = true;
    const std::string type = l.value("type", "");
    if (type == "connection")
      r.conns.push_back(std::move(l));
    else if (type == "summary" && l.contains("global_anomalies"))
      r.global = l["global_anomalies"];
  }
  if (!any) why = "empty report";
  return any;
}

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("-");
}

std::string endpoint(const json& e) {
  const std::string ip = str(e, "ip");
  const std::string port = e.contains("port") ? e["port"].dump() : "-";
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
}

std::string exact_key(const json& c) {
  return endpoint(c["client"]) + ">" + endpoint(c["server"]) + "#" +
         c.value("instance", json(1)).dump();
}
std::string loose_key(const json& c) {
  return str(c["client"], "ip") + ">" + endpoint(c["server"]);
}

std::set<std::string> anomaly_kinds(const json& c) {
  std::set<std::string> s;
  if (c.contains("anomaly_counts") && c["anomaly_counts"].is_object())
    for (const auto& [k, v] : c["anomaly_counts"].items()) s.insert(k);
  return s;
}

// Handshake RTT (SYN to the final ACK, else SYN to SYN-ACK) in ns; -1 if none.
std::int64_t rtt_ns(const json& c) {
  const json* rtt = nullptr;
  if (c.contains("handshake") && c["handshake"].contains("rtt")) rtt = &c["handshake"]["rtt"];
  if (rtt == nullptr) return -1;
  for (const char* k : {"total", "syn_to_synack"}) {
    const auto it = rtt->find(k);
    if (it == rtt->end() || !it->is_number()) continue;
    const double s = it->get<double>();
    return s >= 0 && s < 1e9 ? std::llround(s * 1e9) : -1;
  }
  return -1;
}

std::string ms(std::int64_t ns) {
  std::string s;
  output::append_fixed(s, ns / 1000, 3);
  return s + " ms";
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::vector<std::string> compare(const json& b, const json& c, const DiffOptions& opts) {
  std::vector<std::string> changes;
  const std::string ob = str(b, "outcome"), oc = str(c, "outcome");
  if (ob != oc) {
    std::string what = "outcome " + ob + " -> " + oc;
    if (oc == "reset" || oc == "refused") what = "new " + oc + ": " + what;
    changes.push_back(what);
  }
  const bool hb = b.contains("handshake") && b["handshake"].value("complete", false);
  const bool hc = c.contains("handshake") && c["handshake"].value("complete", false);
  if (hb && !hc) changes.emplace_back("handshake no longer completes");
  if (!hb && hc) changes.emplace_back("handshake now completes");
  const std::set<std::string> kb = anomaly_kinds(b), kc = anomaly_kinds(c);
  std::set<std::string> added, gone;
  for (const std::string& k : kc)
    if (!kb.count(k)) added.insert(k);
  for (const std::string& k : kb)
    if (!kc.count(k)) gone.insert(k);
  if (!added.empty()) changes.push_back("new anomaly kinds: " + join(added));
  if (!gone.empty()) changes.push_back("anomaly kinds gone: " + join(gone));
  if (str(b, "conn_state") != str(c, "conn_state"))
    changes.push_back("conn_state " + str(b, "conn_state") + " -> " + str(c, "conn_state"));
  const std::int64_t rb = rtt_ns(b), rc = rtt_ns(c);
  if (rb >= 0 && rc >= 0) {
    const std::int64_t d = rc > rb ? rc - rb : rb - rc;
    const bool beyond =
        opts.rtt_tolerance_pct > 0
            ? static_cast<double>(d) * 100 >
                  static_cast<double>(opts.rtt_tolerance_pct) * static_cast<double>(rb)
            : d > opts.rtt_tolerance_ns;
    if (beyond) {
      const std::string tol = opts.rtt_tolerance_pct > 0
                                  ? std::to_string(opts.rtt_tolerance_pct) + "%"
                                  : ms(opts.rtt_tolerance_ns);
      changes.push_back("handshake RTT " + ms(rb) + " -> " + ms(rc) + " (tolerance " + tol + ")");
    }
  }
  return changes;
}

std::set<std::string> global_keys(const json& g) {
  std::set<std::string> s;
  if (!g.is_array()) return s;
  for (const json& f : g) {
    const json& subj = f.contains("subject") ? f["subject"] : json::object();
    std::string who = str(subj, "ip");
    if (subj.contains("port") && subj["port"].is_number()) who = endpoint(subj);
    s.insert(str(f, "kind") + " " + who);
  }
  return s;
}

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string describe(const json& c) {
  return endpoint(c["client"]) + " > " + endpoint(c["server"]);
}

}  // namespace

bool parse_rtt_tolerance(const std::string& text, DiffOptions& out) {
  std::size_t i = 0;
  std::int64_t whole = 0, frac = 0, frac_div = 1;
  bool digits = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, digits = true) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > 1'000'000'000) return false;
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, digits = true) {
      if (frac_div < 1'000'000'000) {
        frac = frac * 10 + (text[i] - '0');
        frac_div *= 10;
      }
    }
  }
  if (!digits) return false;
  const std::string unit = text.substr(i);
  std::int64_t scale = 0;  // ns per unit
  if (unit == "%") {
    if (frac != 0) return false;
    out.rtt_tolerance_pct = static_cast<std::uint32_t>(whole);
    out.rtt_tolerance_ns = 0;
    return out.rtt_tolerance_pct > 0;
  }
  if (unit == "ms" || unit.empty())
    scale = 1'000'000;
  else if (unit == "s")
    scale = 1'000'000'000;
  else if (unit == "us")
    scale = 1'000;
  else
    return false;
  out.rtt_tolerance_pct = 0;
  out.rtt_tolerance_ns = whole * scale + frac * scale / frac_div;
  return true;
}

int diff_text(const std::string& baseline, const std::string& baseline_name,
              const std::string& current, const std::string& current_name, const DiffOptions& opts,
              std::ostream& out, std::ostream& err) {
  Report b, c;
  std::string why;
  if (!load(baseline, b, why)) {
    err << "tcplife: " << baseline_name << ": " << why << '\n';
    return kExitInputError;
  }
  if (!load(current, c, why)) {
    err << "tcplife: " << current_name << ": " << why << '\n';
    return kExitInputError;
  }
  // Pair connections: exact 4-tuple + instance first, then client/server/port in order.
  std::vector<std::ptrdiff_t> pair_of(c.conns.size(), -1);
  std::vector<bool> used(b.conns.size(), false);
  for (int pass = 0; pass < 2; ++pass) {
    std::multimap<std::string, std::size_t> index;
    for (std::size_t i = 0; i < b.conns.size(); ++i)
      if (!used[i]) index.emplace(pass == 0 ? exact_key(b.conns[i]) : loose_key(b.conns[i]), i);
    for (std::size_t j = 0; j < c.conns.size(); ++j) {
      if (pair_of[j] >= 0) continue;
      const auto it = index.find(pass == 0 ? exact_key(c.conns[j]) : loose_key(c.conns[j]));
      if (it == index.end()) continue;
      pair_of[j] = static_cast<std::ptrdiff_t>(it->second);
      used[it->second] = true;
      index.erase(it);
    }
  }
  out << "tcplife diff: " << baseline_name << " (" << count(b.conns.size(), "connection") << ") -> "
      << current_name << " (" << count(c.conns.size(), "connection") << "), RTT tolerance "
      << (opts.rtt_tolerance_pct > 0 ? std::to_string(opts.rtt_tolerance_pct) + "%"
                                     : ms(opts.rtt_tolerance_ns))
      << '\n';
  std::size_t changed = 0, changes = 0, added = 0, removed = 0, global = 0;
  for (std::size_t j = 0; j < c.conns.size(); ++j) {
    const json& cc = c.conns[j];
    if (pair_of[j] < 0) {
      ++added;
      out << "+ #" << cc.value("id", json(0)).dump() << "  " << describe(cc) << "  only in "
          << current_name << " (" << str(cc, "outcome") << ", " << str(cc, "conn_state") << ")\n";
      continue;
    }
    const json& bc = b.conns[static_cast<std::size_t>(pair_of[j])];
    const std::vector<std::string> list = compare(bc, cc, opts);
    if (list.empty()) continue;
    ++changed;
    changes += list.size();
    out << "~ #" << bc.value("id", json(0)).dump() << " -> #" << cc.value("id", json(0)).dump()
        << "  " << describe(cc) << '\n';
    for (const std::string& l : list) out << "    " << l << '\n';
  }
  for (std::size_t i = 0; i < b.conns.size(); ++i) {
    if (used[i]) continue;
    ++removed;
    const json& bc = b.conns[i];
    out << "- #" << bc.value("id", json(0)).dump() << "  " << describe(bc) << "  only in "
        << baseline_name << " (" << str(bc, "outcome") << ", " << str(bc, "conn_state") << ")\n";
  }
  const std::set<std::string> gb = global_keys(b.global), gc = global_keys(c.global);
  for (const std::string& k : gc)
    if (!gb.count(k)) {
      ++global;
      out << "+ global " << k << '\n';
    }
  for (const std::string& k : gb)
    if (!gc.count(k)) {
      ++global;
      out << "- global " << k << '\n';
    }
  const bool any = changed + added + removed + global > 0;
  if (any) {
    out << "changed: " << count(changed, "connection") << " (" << count(changes, "change") << "), "
        << added << " only in current, " << removed << " only in baseline, "
        << count(global, "global finding") << " differing\n";
  } else {
    out << "no lifecycle changed\n";
  }
  return any ? kExitChanged : kExitOk;
}

int diff(const std::string& baseline_path, const std::string& current_path, const DiffOptions& opts,
         std::ostream& out, std::ostream& err) {
  std::string text[2];
  const std::string* paths[2] = {&baseline_path, &current_path};
  for (int i = 0; i < 2; ++i) {
    std::ifstream in(*paths[i], std::ios::binary);
    if (!in) {
      err << "tcplife: " << *paths[i] << ": cannot read the report\n";
      return kExitInputError;
    }
    std::ostringstream s;
    s << in.rdbuf();
    text[i] = s.str();
  }
  return diff_text(text[0], baseline_path, text[1], current_path, opts, out, err);
}

}  // namespace tcplife
