// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "tcplife/pipeline.hpp"

namespace {

using tcplife::kExitUsage;

int usage_error(const std::string& msg) {
  std::cerr << "tcplife: " << msg << '\n';
  return kExitUsage;
}

int parse_error(CLI::App& app, const CLI::ParseError& e) {
  const int rc = app.exit(e);
  return rc == 0 ? 0 : kExitUsage;
}

// Condition words, comma-separated or repeated.
bool conditions(const std::vector<std::string>& words, std::vector<tcplife::output::Condition>& out,
                bool global_ok, std::string& err) {
  for (const std::string& w : words) {
    tcplife::output::Condition c;
    if (!tcplife::output::parse_condition(w, c, err)) return false;
    if (!global_ok && c.global) {
      err = "--only " + w + ": global findings are not connections (use --fail-on " + w + ")";
      return false;
    }
    out.push_back(std::move(c));
  }
  return true;
}

std::uint64_t milli(double per_second) {
  return static_cast<std::uint64_t>(std::llround(per_second * 1000));
}

int diff_main(int argc, char** argv) {
  CLI::App app{
      "tcplife diff: the connection lifecycles that changed between two tcplife JSON reports"};
  app.name("tcplife diff");
  std::string baseline, current, tolerance;
  app.add_option("baseline", baseline, "the earlier report (tcplife --json or --format ndjson)")
      ->required();
  app.add_option("current", current, "the later report")->required();
  app.add_option("--rtt-tolerance", tolerance,
                 "handshake RTT change ignored up to this: 5ms (default), 0.5ms, 1s, 300us or 20%");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error(app, e);
  }
  tcplife::DiffOptions opts;
  if (!tolerance.empty() && !tcplife::parse_rtt_tolerance(tolerance, opts))
    return usage_error("bad --rtt-tolerance '" + tolerance + "'");
  std::ios::sync_with_stdio(false);
  return tcplife::diff(baseline, current, opts, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "diff") == 0) return diff_main(argc - 1, argv + 1);
  tcplife::Config cfg;
  CLI::App app{
      "tcplife: the whole life of every TCP connection in a capture\n"
      "  tcplife [options] FILE [FILTER...]     tcplife diff BASELINE.json CURRENT.json"};
  std::string file_opt, positional, format = "text", color = "auto", tolerance;
  std::vector<std::string> filter_words, only, conns, fail_on;
  bool json = false;
  double linger_s = 5.0, flood_rate = 10.0, storm_rate = 10.0;
  app.add_option("-r,--read", file_opt, "capture file to read (pcap or pcapng; - for stdin)");
  app.add_option("file", positional, "capture file (same as -r)");
  app.add_option("filter", filter_words, "BPF filter expression, as tcpdump takes it");
  app.add_option("-f,--format", format, "output format")
      ->check(CLI::IsMember({"text", "json", "ndjson", "zeek"}));
  app.add_flag("--json", json, "same as --format json");
  app.add_flag("--timeline", cfg.output.timeline, "text: draw each reported connection's packets");
  app.add_option("--timeline-max", cfg.output.timeline_max, "text: packets drawn per connection")
      ->check(CLI::PositiveNumber);
  app.add_option("--conn", conns, "report only these connections: ID or ADDR:PORT-ADDR:PORT")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--only", only,
                 "report only: anomalous, reset, refused, half-open, open, closed, an outcome or "
                 "an anomaly kind")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--fail-on", fail_on,
                 "exit 4 if a reported connection (or global finding) is one of these kinds")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--color", color, "text colour")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--checksums", cfg.verify_checksums, "verify TCP checksums (off: offload)");
  app.add_option("--close-linger", linger_s,
                 "seconds a closed connection waits for late packets before it is reported")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--syn-flood-threshold", cfg.global.syn_flood_half_open,
                 "syn_flood: half-open connections to one server:port (default 100)");
  app.add_option("--syn-flood-rate", flood_rate,
                 "syn_flood: ... arriving at least this many per second")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--scan-threshold", cfg.global.scan_targets,
                 "port_scan: ports/hosts one source probed without a handshake (default 20)");
  app.add_option("--rst-storm-threshold", cfg.global.rst_storm_resets,
                 "rst_storm: connections one host reset (default 50)");
  app.add_option("--rst-storm-rate", storm_rate, "rst_storm: ... at least this many per second")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--baseline", cfg.baseline,
                 "compare this run with a saved JSON report (as tcplife diff); exit 5 on changes");
  app.add_option("--rtt-tolerance", tolerance, "with --baseline: see tcplife diff --help");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error(app, e);
  }
  if (!file_opt.empty() && !positional.empty()) {
    // With -r, the first positional word belongs to the filter.
    filter_words.insert(filter_words.begin(), positional);
    positional.clear();
  }
  cfg.input = !file_opt.empty() ? file_opt : positional;
  if (cfg.input.empty()) {
    std::cerr << "tcplife: no input: give a capture file (or - for stdin)\n" << app.help();
    return kExitUsage;
  }
  for (const std::string& w : filter_words) cfg.filter += (cfg.filter.empty() ? "" : " ") + w;
  static const std::map<std::string, tcplife::output::Format> kFormats = {
      {"text", tcplife::output::Format::Text},
      {"json", tcplife::output::Format::Json},
      {"ndjson", tcplife::output::Format::Ndjson},
      {"zeek", tcplife::output::Format::Zeek}};
  cfg.format = json ? tcplife::output::Format::Json : kFormats.at(format);
  cfg.tracker.close_linger_ns = static_cast<std::int64_t>(linger_s * 1e9);
  cfg.global.syn_flood_rate_milli = milli(flood_rate);
  cfg.global.rst_storm_rate_milli = milli(storm_rate);
  const char* term = std::getenv("TERM");
  cfg.output.color = color == "always" || (color == "auto" && isatty(STDOUT_FILENO) != 0 &&
                                           std::getenv("NO_COLOR") == nullptr &&
                                           (term == nullptr || std::strcmp(term, "dumb") != 0));
  std::string err;
  if (!conditions(only, cfg.selection.only, false, err) ||
      !conditions(fail_on, cfg.fail_on, true, err))
    return usage_error(err);
  for (const std::string& s : conns) {
    tcplife::output::ConnSpec spec;
    if (!tcplife::output::parse_conn_spec(s, spec, err)) return usage_error(err);
    cfg.selection.conns.push_back(spec);
  }
  if (!tolerance.empty() && !tcplife::parse_rtt_tolerance(tolerance, cfg.diff))
    return usage_error("bad --rtt-tolerance '" + tolerance + "'");
  std::ios::sync_with_stdio(false);
  return tcplife::run(cfg, std::cout, std::cerr);
}
