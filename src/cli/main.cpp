// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "tcplife/output/fd_streambuf.hpp"
#include "tcplife/pipeline.hpp"
#include "tcplife/source/live.hpp"
#include "tcplife/source/packet_source.hpp"

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

int list_interfaces() {
  std::string err;
  const auto list = tcplife::source::list_interfaces(err);
  if (list.empty()) {
    std::cerr << "tcplife: cannot list interfaces" << (err.empty() ? "" : ": " + err) << '\n';
    return tcplife::kExitInputError;
  }
  int n = 0;
  for (const auto& i : list) {
    std::cout << ++n << '.' << i.name;
    if (!i.description.empty()) std::cout << " (" << i.description << ')';
    std::cout << " [" << (i.up ? "Up" : "Down") << (i.running ? ", Running" : "")
              << (i.loopback ? ", Loopback" : "") << ']';
    for (const auto& a : i.addresses) std::cout << ' ' << a;
    std::cout << '\n';
  }
  return tcplife::kExitOk;
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
  app.add_flag("--timeline", cfg.output.timeline, "text: draw each reported connection's packets; json/ndjson: add each connection's event timeline and state durations");
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
  // Live capture
  std::string interface;
  bool list = false, no_promisc = false, quiet = false;
  double duration_s = 0;
  int buffer_kib = 0;
  double idle_hs = 60, idle_est = 7200, idle_close = 240;
  app.add_option("-i,--interface", interface, "capture live from this interface (any = all)");
  app.add_flag("-D,--list-interfaces", list, "list the interfaces tcplife can capture on");
  app.add_option("-s,--snaplen", cfg.live.options.snaplen,
                 "live: bytes captured per packet (default 262144; 128 is enough for headers)")
      ->check(CLI::Range(68, 262144));
  app.add_flag("-p,--no-promisc", no_promisc, "live: do not put the interface in promiscuous mode");
  app.add_option("-B,--buffer-size", buffer_kib, "live: kernel capture buffer, KiB (default 32768)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-c,--count", cfg.max_packets, "stop after this many packets");
  app.add_option("--duration", duration_s, "live: stop after this many seconds")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-w,--write", cfg.live.write_file, "live: also save the packets to this pcap");
  app.add_option("-Z,--user", cfg.live.user, "live: drop root to this user once capturing");
  app.add_flag("-q,--quiet", quiet, "no progress bar (files) or status line (live) on stderr");
  app.add_option("--idle-handshake", idle_hs, "seconds before an unfinished handshake is idle")
      ->check(CLI::PositiveNumber);
  app.add_option("--idle-established", idle_est, "seconds before an open connection is idle")
      ->check(CLI::PositiveNumber);
  app.add_option("--idle-closing", idle_close, "seconds before a closing connection is idle")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-connections", cfg.tracker.max_connections,
                 "cap on connections tracked at once; the oldest are reported and evicted");
  CLI::Option* threads_opt =
      app.add_option("--threads", cfg.threads,
                     "files: N worker threads share the connections by flow hash, beside the "
                     "reading and the output thread (default: 1 on 2-3 cores, cores - 2 on "
                     "more, 0 on one core; 0: everything on one thread); same output, except "
                     "with --max-connections and N > 1 (a share of the cap per thread); live "
                     "capture and text --timeline run on one thread")
          ->check(CLI::Range(0, 64));
  std::string reader = "builtin";
  app.add_option("--reader", reader,
                 "what reads classic pcap files: builtin (default: tcplife's own reader, "
                 "read(2) into a 256 KiB buffer), mmap (the same reader mapping the file in "
                 "4 MiB windows) or libpcap (pcap_next_ex); the same packets either way")
      ->check(CLI::IsMember({"builtin", "mmap", "libpcap"}));
  app.add_option("--baseline", cfg.baseline,
                 "compare this run with a saved JSON report (as tcplife diff); exit 5 on changes");
  app.add_option("--rtt-tolerance", tolerance, "with --baseline: see tcplife diff --help");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error(app, e);
  }
  if (threads_opt->count() == 0) {
    // One shard keeps --max-connections exact (the whole cap in one tracker).
    cfg.threads = tcplife::auto_threads();
    if (cfg.tracker.max_connections != 0) cfg.threads = std::min(cfg.threads, 1u);
  }
  if (!file_opt.empty() && !positional.empty()) {
    // With -r, the first positional word belongs to the filter.
    filter_words.insert(filter_words.begin(), positional);
    positional.clear();
  }
  if (list) return list_interfaces();
  if (!interface.empty()) {
    // With -i every positional word belongs to the filter.
    if (!positional.empty()) filter_words.insert(filter_words.begin(), positional);
    positional.clear();
    if (!file_opt.empty()) return usage_error("give either -i INTERFACE or a capture file, not both");
  }
  if (reader == "libpcap") cfg.reader = tcplife::source::PcapReaderKind::Libpcap;
  if (reader == "mmap") cfg.reader = tcplife::source::PcapReaderKind::BuiltinMapped;
  cfg.input = !file_opt.empty() ? file_opt : positional;
  if (cfg.input.empty() && interface.empty()) {
    std::cerr << "tcplife: no input: give a capture file (or - for stdin) or -i INTERFACE\n"
              << app.help();
    return kExitUsage;
  }
  cfg.live.options.interface = interface;
  cfg.live.options.promisc = !no_promisc;
  cfg.live.options.buffer_bytes = buffer_kib * 1024;
  cfg.live.status = !quiet && isatty(STDERR_FILENO) != 0;
  cfg.progress = cfg.live.status && interface.empty();
  cfg.max_duration_ns = static_cast<std::int64_t>(duration_s * 1e9);
  cfg.tracker.idle_handshake_ns = static_cast<std::int64_t>(idle_hs * 1e9);
  cfg.tracker.idle_established_ns = static_cast<std::int64_t>(idle_est * 1e9);
  cfg.tracker.idle_closing_ns = static_cast<std::int64_t>(idle_close * 1e9);
  for (const std::string& w : filter_words) cfg.filter += (cfg.filter.empty() ? "" : " ") + w;
  static const std::map<std::string, tcplife::output::Format> kFormats = {
      {"text", tcplife::output::Format::Text},
      {"json", tcplife::output::Format::Json},
      {"ndjson", tcplife::output::Format::Ndjson},
      {"zeek", tcplife::output::Format::Zeek}};
  cfg.format = json ? tcplife::output::Format::Json : kFormats.at(format);
  cfg.output.full_events = cfg.output.timeline;
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
  // SIGINT/SIGTERM: stop reading, report every open connection, print the
  // summary, exit normally. No SA_RESTART, so a waiting read wakes up.
  struct sigaction sa {};
  sa.sa_handler = [](int) { tcplife::request_stop(); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // stdout through a 1 MiB buffer: std::cout's would cost a system call per record.
  tcplife::output::FdStreambuf outbuf(STDOUT_FILENO);
  std::ostream out(&outbuf);
  int rc = tcplife::run(cfg, out, std::cerr);
  out.flush();
  if (outbuf.error() != 0) {
    std::cerr << "tcplife: writing the output failed: " << std::strerror(outbuf.error()) << '\n';
    if (rc == tcplife::kExitOk || rc == tcplife::kExitPartial) rc = tcplife::kExitInputError;
  }
  return rc;
}
