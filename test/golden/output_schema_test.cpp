// SPDX-License-Identifier: MIT
// The JSON document and every NDJSON line of every testdata capture validate
// against docs/schema/tcplife-1.schema.json. The validator below implements
// the JSON Schema (2020-12) keywords the schema uses, and rejects any other
// keyword, so the schema cannot silently use one it does not check.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "output/facts.hpp"
#include "support/packet_builder.hpp"
#include "support/run_capture.hpp"
#include "tcplife/tcp/connection.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tcplife::test::run_capture;
using tcplife::test::testdata;

namespace {

class SchemaValidator {
 public:
  explicit SchemaValidator(json root) : root_(std::move(root)) {}

  [[nodiscard]] std::vector<std::string> validate(const json& v) const {
    std::vector<std::string> errs;
    check(root_, v, "$", errs);
    return errs;
  }
  [[nodiscard]] const json& def(const std::string& name) const {
    return root_.at("$defs").at(name);
  }

 private:
  static bool has_type(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    return false;
  }

  const json& resolve(const std::string& ref) const {
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
    return def(ref.substr(prefix.size()));
  }

  void check(const json& s, const json& v, const std::string& path,
             std::vector<std::string>& errs) const {
    static const std::set<std::string> kAnnotations = {"$schema",     "$id",      "title",
                                                       "description", "$comment", "$defs"};
    for (const auto& [kw, arg] : s.items()) {
      if (kAnnotations.count(kw)) continue;
      if (kw == "$ref") {
        check(resolve(arg.get<std::string>()), v, path, errs);
      } else if (kw == "type") {
        bool ok = false;
        if (arg.is_string())
          ok = has_type(v, arg.get<std::string>());
        else
          for (const json& t : arg) ok = ok || has_type(v, t.get<std::string>());
        if (!ok) errs.push_back(path + ": type is not " + arg.dump());
      } else if (kw == "enum") {
        if (std::find(arg.begin(), arg.end(), v) == arg.end())
          errs.push_back(path + ": " + v.dump() + " not in enum");
      } else if (kw == "const") {
        if (v != arg) errs.push_back(path + ": " + v.dump() + " is not " + arg.dump());
      } else if (kw == "properties") {
        if (!v.is_object()) continue;
        for (const auto& [k, sub] : arg.items())
          if (v.contains(k)) check(sub, v.at(k), path + "." + k, errs);
      } else if (kw == "required") {
        if (!v.is_object()) continue;
        for (const json& k : arg)
          if (!v.contains(k.get<std::string>())) errs.push_back(path + ": missing " + k.dump());
      } else if (kw == "additionalProperties") {
        if (!v.is_object()) continue;
        const json& props = s.contains("properties") ? s.at("properties") : json::object();
        for (const auto& [k, sub] : v.items()) {
          if (props.contains(k)) continue;
          if (arg.is_boolean()) {
            if (!arg.get<bool>()) errs.push_back(path + ": unexpected key " + k);
          } else {
            check(arg, sub, path + "." + k, errs);
          }
        }
      } else if (kw == "propertyNames") {
        if (!v.is_object()) continue;
        for (const auto& [k, sub] : v.items()) check(arg, json(k), path + "{" + k + "}", errs);
      } else if (kw == "items") {
        if (!v.is_array()) continue;
        for (std::size_t i = 0; i < v.size(); ++i)
          check(arg, v[i], path + "[" + std::to_string(i) + "]", errs);
      } else if (kw == "allOf") {
        for (const json& sub : arg) check(sub, v, path, errs);
      } else if (kw == "anyOf" || kw == "oneOf") {
        std::size_t pass = 0;
        std::vector<std::string> why;
        for (const json& sub : arg) {
          std::vector<std::string> e;
          check(sub, v, path, e);
          if (e.empty())
            ++pass;
          else
            why.push_back(e.front());
        }
        if (kw == "anyOf" && pass == 0)
          errs.push_back(path + ": no anyOf branch matches (" + (why.empty() ? "" : why.front()) +
                         ")");
        if (kw == "oneOf" && pass != 1) {
          std::string all;
          for (const std::string& w : why) all += "\n    " + w;
          errs.push_back(path + ": " + std::to_string(pass) + " oneOf branches match" + all);
        }
      } else if (kw == "minimum") {
        if (v.is_number() && v.get<double>() < arg.get<double>())
          errs.push_back(path + ": below minimum " + arg.dump());
      } else if (kw == "maximum") {
        if (v.is_number() && v.get<double>() > arg.get<double>())
          errs.push_back(path + ": above maximum " + arg.dump());
      } else if (kw == "pattern") {
        if (v.is_string() &&
            !std::regex_search(v.get<std::string>(), std::regex(arg.get<std::string>())))
          errs.push_back(path + ": " + v.dump() + " does not match " + arg.dump());
      } else {
        errs.push_back(path + ": the schema uses '" + kw +
                       "', which this validator does not check");
      }
    }
  }

  json root_;
};

const SchemaValidator& schema() {
  static const SchemaValidator v = [] {
    std::ifstream in(std::string(TCPLIFE_SOURCE_DIR) + "/docs/schema/tcplife-1.schema.json");
    REQUIRE(in.good());
    return SchemaValidator(json::parse(in));
  }();
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 10; ++i) s += v[i] + "\n";
  return s;
}

std::vector<std::string> enum_of(const std::string& def) {
  std::vector<std::string> names;
  for (const json& x : schema().def(def).at("enum")) names.push_back(x.get<std::string>());
  return names;
}

}  // namespace

TEST_CASE("schema: the JSON document and NDJSON lines of every capture validate",
          "[output][schema]") {
  std::size_t lines = 0;
  for (const auto& e : fs::directory_iterator(fs::path(TCPLIFE_SOURCE_DIR) / "testdata" / "pcap")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    INFO(e.path().filename().string());
    const auto doc = run_capture(e.path().string());
    if (doc.rc == tcplife::kExitInputError) continue;
    const auto errs = schema().validate(doc.doc);
    INFO(join(errs));
    CHECK(errs.empty());
    const auto nd = run_capture(e.path().string(), {}, tcplife::output::Format::Ndjson);
    std::istringstream in(nd.out);
    std::string line;
    while (std::getline(in, line)) {
      const auto lerrs = schema().validate(json::parse(line));
      INFO(join(lerrs));
      CHECK(lerrs.empty());
      ++lines;
    }
  }
  CHECK(lines > 50);
}

TEST_CASE("schema: the validator rejects what the schema forbids", "[output][schema]") {
  const auto r = run_capture(testdata("kernel_rst_abort_client.pcap"));
  REQUIRE(schema().validate(r.doc).empty());
  json d = r.doc;
  d["connections"][0].erase("outcome");
  CHECK_FALSE(schema().validate(d).empty());
  d = r.doc;
  d["connections"][0]["outcome"] = "exploded";
  CHECK_FALSE(schema().validate(d).empty());
  d = r.doc;
  d["summary"]["surprise"] = 1;
  CHECK_FALSE(schema().validate(d).empty());
  d = r.doc;
  d["connections"][0]["handshake"]["rtt"]["total"] = "fast";
  CHECK_FALSE(schema().validate(d).empty());
  d = r.doc;
  d["connections"][0]["anomaly_counts"]["not_a_kind"] = 1;
  CHECK_FALSE(schema().validate(d).empty());
}

TEST_CASE("schema: its vocabularies are the catalogue's", "[output][schema]") {
  std::vector<std::string> kinds, states, outcomes;
  for (std::size_t k = 0; k < tcplife::tcp::kAnomalyKinds; ++k)
    kinds.emplace_back(tcplife::tcp::anomaly_name(static_cast<tcplife::tcp::AnomalyKind>(k)));
  for (std::size_t s = 0; s < tcplife::tcp::kTcpStates; ++s)
    states.emplace_back(tcplife::tcp::state_name(static_cast<tcplife::tcp::TcpState>(s)));
  for (std::size_t o = 0; o < tcplife::output::kOutcomes; ++o)
    outcomes.emplace_back(tcplife::output::outcome_name(static_cast<tcplife::output::Outcome>(o)));
  // A new anomaly kind, state or outcome is a schema change: add it to
  // docs/schema/tcplife-1.schema.json ($defs) and to the README.
  CHECK(enum_of("anomaly_kind") == kinds);
  CHECK(enum_of("tcp_state") == states);
  CHECK(enum_of("outcome") == outcomes);
  std::vector<std::string> global;
  for (std::size_t g = 0; g < tcplife::analyze::kGlobalKinds; ++g)
    global.emplace_back(
        tcplife::analyze::global_kind_name(static_cast<tcplife::analyze::GlobalKind>(g)));
  CHECK(enum_of("global_kind") == global);
}
