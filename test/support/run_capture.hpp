// SPDX-License-Identifier: MIT
// Test support: runs the whole pipeline in-process on a capture and parses
// its JSON document.
#pragma once
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tcplife/pipeline.hpp"

namespace tcplife::test {

struct RunResult {
  int rc = 0;
  std::string out;
  std::string err;
  nlohmann::json doc;  // parsed `out` when the format is JSON and it parsed
};

inline std::string testdata(const std::string& name) {
  return std::string(TCPLIFE_SOURCE_DIR) + "/testdata/pcap/" + name;
}

// A configuration whose JSON records are complete: the event timeline and
// the state durations included (--timeline).
inline Config full_records() {
  Config cfg;
  cfg.output.full_events = true;
  return cfg;
}

inline RunResult run_capture(const std::string& path, Config cfg = {},
                             output::Format format = output::Format::Json) {
  cfg.input = path;
  cfg.format = format;
  std::ostringstream out, err;
  RunResult r;
  r.rc = run(cfg, out, err);
  r.out = out.str();
  r.err = err.str();
  if (format == output::Format::Json && !r.out.empty()) r.doc = nlohmann::json::parse(r.out);
  return r;
}

}  // namespace tcplife::test
