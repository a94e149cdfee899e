// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tcplife/analyze/global_detectors.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace tcplife::output {

class LadderRecorder;
class KeyPacker;

enum class Format : std::uint8_t { Text, Json, Ndjson, Zeek };

struct OutputOptions {
  bool timeline = false;           // text: a ladder diagram of each reported connection
  std::size_t timeline_max = 100;  // packets drawn per connection; the rest are counted
  bool color = false;              // text: ANSI colour
  // JSON/NDJSON: include the (bounded) event timeline and the time spent in
  // each state (--timeline); off by default to keep the record lean.
  bool full_events = false;
  // Every record leaves as soon as it is written (flushed): always in live
  // capture and from stdin; from a file, output goes out in large blocks.
  bool stream = false;
};

// What the run read, for the header/summary of every format.
struct RunInfo {
  std::string input;           // file name, "-" or interface
  std::string format;          // "pcap", "pcapng", "live"
  std::vector<int> linktypes;  // DLT_* values seen
};

// Totals over every connection analysed (reported or not).
struct ConnectionTally {
  std::uint64_t connections = 0;
  std::uint64_t reported = 0;                        // passed --only/--conn and were written
  // (std::less<>: looked up by string_view, no string built per connection)
  std::map<std::string, std::uint64_t, std::less<>> outcomes;     // by name, sorted
  std::map<std::string, std::uint64_t, std::less<>> conn_states;  // Zeek conn_state code, sorted
  std::array<std::uint64_t, tcp::kAnomalyKinds> anomalies{};
  void add(const tcp::Connection& c, bool reported_too);
};

struct RunSummary {
  std::uint64_t packets = 0;       // packets read from the input (after the BPF filter)
  std::uint64_t filtered_out = 0;  // packets the BPF filter rejected
  std::uint64_t tcp_segments = 0;  // packets decoded to TCP segments and analysed
  std::array<std::uint64_t, decode::kStatusCount> skipped{};  // by decode::Status (index 0 unused)
  std::uint64_t bytes = 0;                                    // captured bytes read
  core::Timestamp first_ts, last_ts;
  bool have_ts = false;
  std::string input_error;  // set when the input ended early or was corrupt
  bool input_truncated = false;
  tcp::TrackerStats tracker;
  std::vector<int> linktypes;
  ConnectionTally tally;
  analyze::GlobalReport global;
  // Live capture only: libpcap's counters (pcap_stats) when the capture stopped.
  bool live_stats = false;
  std::uint64_t live_received = 0, live_dropped = 0, live_if_dropped = 0;
  std::string stop_reason;  // live: "signal", "count", "duration", "error"
};

// Receives the reported connections as they finish, then the run summary.
class Sink : public tcp::ConnectionSink {
 public:
  virtual void begin(const RunInfo& info) = 0;
  virtual void end(const RunSummary& summary) = 0;
  // Every connection with an id below `id` has been delivered: a sink that
  // writes in first-packet order may write them now.
  virtual void flush_before(std::uint64_t id) { (void)id; }
  // End of input (a --threads run): the connections still open come next, in
  // id order, each followed by flush_before. Called on the thread that calls
  // on_connection. The JSON document writes from here on a thread of its own
  // (same bytes).
  virtual void input_end() {}
  // After end(): a problem the output does not show (e.g. records waiting in
  // memory beyond the spool's budget), for a warning on stderr; or empty.
  [[nodiscard]] virtual std::string warning() const { return {}; }
};

// `ladder` (text with timeline only) holds the packets of the connections
// to draw; the sink reads a connection's ladder in on_connection().
std::unique_ptr<Sink> make_sink(Format f, std::ostream& out, const OutputOptions& opts,
                                const LadderRecorder* ladder = nullptr);

// The JSON record of one connection (the `connections[]` element); with
// `keys`, its keys packed (KeyPacker::unpack gives the record).
void write_connection_json(std::string& out, const tcp::Connection& c, const OutputOptions& opts,
                           KeyPacker* keys = nullptr);

// One-line explanation of an anomaly's evidence.
std::string anomaly_detail(const tcp::Anomaly& a);

// Names of DLT link types ("EN10MB", "LINUX_SLL2", ...).
std::string linktype_name(int dlt);

}  // namespace tcplife::output
