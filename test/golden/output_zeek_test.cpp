// SPDX-License-Identifier: MIT
// The conn.log (--format zeek) of every capture, read the way Zeek's ASCII
// reader and zeek-cut read logs: the header lines, #fields/#types of equal
// length, every row with one value per field, every value parsing as its type.
#include <arpa/inet.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "support/run_capture.hpp"

namespace fs = std::filesystem;

namespace {

struct ZeekLog {
  std::string separator, set_separator, empty_field, unset_field, path;
  std::vector<std::string> fields, types;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> errors;
};

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + sep.size();
  }
}

// "#separator \x09": the only header line whose value is escaped and space-separated.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool value_ok(const std::string& type, const std::string& v, const ZeekLog& log) {
  static const std::regex kTime(R"(^\d+\.\d{6}$)"), kCount(R"(^\d{1,20}$)"),
      kEnum(R"(^[A-Za-z_][A-Za-z0-9_:]*$)");
  if (v == log.unset_field) return true;
  if (v == log.empty_field) return type == "string" || type.rfind("set[", 0) == 0;
  if (type == "time" || type == "interval") return std::regex_match(v, kTime);
  if (type == "count") return std::regex_match(v, kCount);
  if (type == "port") return std::regex_match(v, kCount) && std::stoul(v) <= 65535;
  if (type == "bool") return v == "T" || v == "F";
  if (type == "enum") return std::regex_match(v, kEnum);
  if (type == "string") return !v.empty();
  if (type == "addr") {
    unsigned char buf[16];
    return inet_pton(AF_INET, v.c_str(), buf) == 1 || inet_pton(AF_INET6, v.c_str(), buf) == 1;
  }
  if (type == "set[string]") {
    for (const std::string& e : split(v, log.set_separator))
      if (e.empty()) return false;
    return true;
  }
  return false;  // a type this reader (and this log) does not use
}

ZeekLog read_zeek_log(const std::string& text) {
  ZeekLog log;
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = "line " + std::to_string(n) + ": ";
    if (n == 1) {
      if (line.rfind("#separator ", 0) != 0)
        log.errors.push_back(where + "no #separator first");
      else
        log.separator = unescape(line.substr(11));
      continue;
    }
    if (log.separator.empty()) break;
    if (!line.empty() && line[0] == '#') {
      const std::vector<std::string> parts = split(line, log.separator);
      const std::string& key = parts[0];
      const std::string val = parts.size() > 1 ? parts[1] : "";
      if (key == "#set_separator")
        log.set_separator = val;
      else if (key == "#empty_field")
        log.empty_field = val;
      else if (key == "#unset_field")
        log.unset_field = val;
      else if (key == "#path")
        log.path = val;
      else if (key == "#fields")
        log.fields.assign(parts.begin() + 1, parts.end());
      else if (key == "#types")
        log.types.assign(parts.begin() + 1, parts.end());
      else if (key.rfind("#open", 0) != 0 && key.rfind("#close", 0) != 0)
        log.errors.push_back(where + "unknown header " + key);
      continue;
    }
    if (log.fields.empty() || log.types.size() != log.fields.size()) {
      log.errors.push_back(where + "a row before #fields/#types of equal length");
      continue;
    }
    std::vector<std::string> row = split(line, log.separator);
    if (row.size() != log.fields.size()) {
      log.errors.push_back(where + std::to_string(row.size()) + " values for " +
                           std::to_string(log.fields.size()) + " fields");
      continue;
    }
    for (std::size_t i = 0; i < row.size(); ++i)
      if (!value_ok(log.types[i], row[i], log))
        log.errors.push_back(where + log.fields[i] + " (" + log.types[i] + ") = '" + row[i] + "'");
    log.rows.push_back(std::move(row));
  }
  for (const auto* h : {&log.set_separator, &log.empty_field, &log.unset_field, &log.path})
    if (h->empty()) log.errors.push_back("a header line is missing");
  return log;
}

const std::vector<std::string> kConnFields = {
    "ts",         "uid",           "id.orig_h",     "id.orig_p",  "id.resp_h",  "id.resp_p",
    "proto",      "service",       "duration",      "orig_bytes", "resp_bytes", "conn_state",
    "local_orig", "local_resp",    "missed_bytes",  "history",    "orig_pkts",  "orig_ip_bytes",
    "resp_pkts",  "resp_ip_bytes", "tunnel_parents"};
const std::vector<std::string> kConnTypes = {
    "time",   "string",   "addr",  "port",  "addr",   "port",  "enum",
    "string", "interval", "count", "count", "string", "bool",  "bool",
    "count",  "string",   "count", "count", "count",  "count", "set[string]"};

}  // namespace

TEST_CASE("zeek: the reader accepts a conn.log as Zeek writes it", "[output][zeek]") {
  // Header and one row of Zeek's own conn.log (testing/btest baseline layout,
  // with #open/#close and the newer ip_proto column).
  const std::string zeek =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
      "#open\t2024-01-01-00-00-00\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
      "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
      "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
      "bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n"
      "1300475167.096535\tCHhAvVGS1DHFjwGM9\t127.0.0.1\t50382\t127.0.0.1\t80\ttcp\t-\t0."
      "028273\t517\t"
      "468\tRSTO\tT\tT\t0\tShADadfR\t5\t785\t4\t684\t-\t6\n"
      "#close\t2024-01-01-00-00-00\n";
  const ZeekLog log = read_zeek_log(zeek);
  INFO((log.errors.empty() ? std::string() : log.errors.front()));
  CHECK(log.errors.empty());
  CHECK(log.rows.size() == 1);
  // ... and rejects a row with a value of the wrong type or a missing field.
  CHECK_FALSE(read_zeek_log(zeek.substr(0, zeek.find("1300475167")) + "x\t" +
                            zeek.substr(zeek.find("CHhAv")))
                  .errors.empty());
  CHECK_FALSE(read_zeek_log(zeek.substr(0, zeek.find("\t6\n")) + "\n").errors.empty());
}

TEST_CASE("zeek: every capture's conn.log reads as Zeek's conn.log", "[output][zeek]") {
  std::size_t rows = 0;
  for (const auto& e : fs::directory_iterator(fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "pcap")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    INFO(e.path().filename().string());
    const auto r = tcplife::test::run_capture(e.path().string(), {}, tcplife::output::Format::Zeek);
    if (r.rc == tcplife::kExitInputError) continue;
    const ZeekLog log = read_zeek_log(r.out);
    INFO((log.errors.empty() ? std::string() : log.errors.front()));
    CHECK(log.errors.empty());
    CHECK(log.separator == "\t");
    CHECK(log.path == "conn");
    CHECK(log.fields == kConnFields);
    CHECK(log.types == kConnTypes);
    // One row per connection (written as each ends, like Zeek), distinct uids,
    // the same conn_state and history as the JSON record.
    const auto doc = tcplife::test::run_capture(e.path().string());
    REQUIRE(log.rows.size() == doc.doc["connections"].size());
    std::map<std::string, int> uids;
    std::vector<std::string> from_log, from_json;
    for (const auto& row : log.rows) {
      CHECK(++uids[row[1]] == 1);
      CHECK(row[6] == "tcp");
      from_log.push_back(row[11] + " " + row[15]);
    }
    for (const auto& c : doc.doc["connections"]) {
      const std::string h = c["history"].get<std::string>();
      from_json.push_back(c["conn_state"].get<std::string>() + " " + (h.empty() ? "-" : h));
    }
    std::sort(from_log.begin(), from_log.end());
    std::sort(from_json.begin(), from_json.end());
    CHECK(from_log == from_json);
    rows += log.rows.size();
  }
  CHECK(rows > 50);
}
