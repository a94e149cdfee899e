// SPDX-License-Identifier: MIT
#pragma once
#include <iosfwd>
#include <string>

#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace tcplife {

// Process exit codes (documented in the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitInputError = 1,  // the input could not be opened or is not a usable capture
  kExitUsage = 2,       // bad command line or filter expression
  kExitPartial = 3,     // the input ended early or was corrupt part-way; output covers what was read
};

struct Config {
  std::string input;    // capture file, "-" for standard input
  std::string filter;   // BPF expression (tcpdump syntax), empty = none
  output::Format format = output::Format::Text;
  output::OutputOptions output;
  tcp::TrackerOptions tracker;
  bool verify_checksums = false;
};

// Reads the input, analyses every TCP connection and writes the report to
// `out`; warnings and errors go to `err`. Returns an ExitCode.
int run(const Config& cfg, std::ostream& out, std::ostream& err);

}  // namespace tcplife
