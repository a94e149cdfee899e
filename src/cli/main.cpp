// SPDX-License-Identifier: MIT
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "tcplife/pipeline.hpp"

int main(int argc, char** argv) {
  tcplife::Config cfg;
  CLI::App app{"tcplife: the whole life of every TCP connection in a capture"};
  std::string file_opt, positional, format = "text";
  std::vector<std::string> filter_words;
  bool json = false;
  double linger_s = 5.0;
  app.add_option("-r,--read", file_opt, "capture file to read (pcap or pcapng; - for stdin)");
  app.add_option("file", positional, "capture file (same as -r)");
  app.add_option("filter", filter_words, "BPF filter expression, as tcpdump takes it");
  app.add_option("-f,--format", format, "output format")
      ->check(CLI::IsMember({"text", "json", "ndjson", "zeek"}));
  app.add_flag("--json", json, "same as --format json");
  app.add_flag("--timeline", cfg.output.timeline, "text: show each connection's event timeline");
  app.add_flag("--checksums", cfg.verify_checksums, "verify TCP checksums (off: offload)");
  app.add_option("--close-linger", linger_s,
                 "seconds a closed connection waits for late packets before it is reported")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : tcplife::kExitUsage;
  }
  if (!file_opt.empty() && !positional.empty()) {
    // With -r, the first positional word belongs to the filter.
    filter_words.insert(filter_words.begin(), positional);
    positional.clear();
  }
  cfg.input = !file_opt.empty() ? file_opt : positional;
  if (cfg.input.empty()) {
    std::cerr << "tcplife: no input: give a capture file (or - for stdin)\n" << app.help();
    return tcplife::kExitUsage;
  }
  for (const std::string& w : filter_words) cfg.filter += (cfg.filter.empty() ? "" : " ") + w;
  static const std::map<std::string, tcplife::output::Format> kFormats = {
      {"text", tcplife::output::Format::Text},
      {"json", tcplife::output::Format::Json},
      {"ndjson", tcplife::output::Format::Ndjson},
      {"zeek", tcplife::output::Format::Zeek}};
  cfg.format = json ? tcplife::output::Format::Json : kFormats.at(format);
  cfg.tracker.close_linger_ns = static_cast<std::int64_t>(linger_s * 1e9);
  std::ios::sync_with_stdio(false);
  return tcplife::run(cfg, std::cout, std::cerr);
}
