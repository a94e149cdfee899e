// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "tcplife/analyze/global_detectors.hpp"
#include "tcplife/output/select.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/source/live.hpp"
#include "tcplife/source/packet_source.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace tcplife {

// Process exit codes (documented in the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitInputError = 1,  // the input could not be opened or is not a usable capture
  kExitUsage = 2,       // bad command line or filter expression
  kExitPartial = 3,  // the input ended early or was corrupt part-way; output covers what was read
  kExitFailOn = 4,   // --fail-on: a reported connection or global finding matched
  kExitChanged = 5,  // diff / --baseline: lifecycles changed between the two runs
};

// `tcplife diff` and --baseline.
struct DiffOptions {
  std::int64_t rtt_tolerance_ns = 5'000'000;  // |RTT change| allowed (absolute) ...
  std::uint32_t rtt_tolerance_pct = 0;        // ... or, when > 0, relative to the baseline's RTT
};

// Live capture (-i): where, how, and when to stop.
struct LiveConfig {
  source::LiveOptions options;    // options.interface non-empty = capture live
  std::string write_file;         // -w: also save every captured packet to this pcap
  std::string user;               // -Z: drop root to this user once the capture is open
  bool status = false;            // a one-line status on stderr every second
};

struct Config {
  std::string input;   // capture file, "-" for standard input
  std::string filter;  // BPF expression (tcpdump syntax), empty = none
  output::Format format = output::Format::Text;
  output::OutputOptions output;
  tcp::TrackerOptions tracker;
  bool verify_checksums = false;
  output::Selection selection;             // --only, --conn: which connections are reported
  std::vector<output::Condition> fail_on;  // --fail-on
  analyze::GlobalThresholds global;        // global detector thresholds
  std::string baseline;                    // --baseline: compare this run with a saved JSON report
  DiffOptions diff;
  LiveConfig live;                         // -i and friends
  std::uint64_t max_packets = 0;           // -c: stop after this many packets (0 = all)
  std::int64_t max_duration_ns = 0;        // --duration: stop after this long, wall clock (live)
  bool progress = false;                   // files: a progress bar on stderr (set for terminals)
  // --threads: worker threads that own shards of the connections (files and
  // stdin; not live, not the text timeline). 0 = none: one thread does it all.
  // Output is the same either way, except with tracker.max_connections.
  unsigned threads = 0;
  // --reader: what reads classic pcap files (pcapng always starts with libpcap).
  source::PcapReaderKind reader = source::PcapReaderKind::Builtin;
};

// Asks a running run() to stop reading, finish every open connection and
// write the summary. Async-signal-safe: meant for SIGINT/SIGTERM handlers.
void request_stop() noexcept;

// The command line's --threads when none is given: on a machine with at
// least two usable cores, one shard (reading, analysis and output then run
// on three threads) plus one shard per core beyond two; 0 on one core.
unsigned auto_threads() noexcept;

// Reads the input, analyses every TCP connection and writes the report to
// `out`; warnings and errors go to `err`. Returns an ExitCode: with
// --fail-on, kExitFailOn when it tripped (it wins over kExitPartial); with a
// baseline, the diff report goes to `out` and kExitChanged says it found changes.
int run(const Config& cfg, std::ostream& out, std::ostream& err);

// Compares two tcplife JSON reports (documents or NDJSON streams) and writes
// the lifecycles that changed to `out`. Returns kExitOk (no change),
// kExitChanged, or kExitInputError (a file missing or not a tcplife report).
int diff(const std::string& baseline_path, const std::string& current_path, const DiffOptions& opts,
         std::ostream& out, std::ostream& err);
// The same on reports already read into memory; `*_name` label them in messages.
int diff_text(const std::string& baseline, const std::string& baseline_name,
              const std::string& current, const std::string& current_name, const DiffOptions& opts,
              std::ostream& out, std::ostream& err);

// Parses a --rtt-tolerance value: "5ms", "2.5ms", "0.01s", "300us", "20%".
bool parse_rtt_tolerance(const std::string& text, DiffOptions& out);

}  // namespace tcplife
