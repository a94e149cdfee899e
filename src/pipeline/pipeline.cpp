// SPDX-License-Identifier: MIT
#include "tcplife/pipeline.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>

#include "pipeline/engine.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/output/ladder.hpp"
#include "tcplife/source/live.hpp"
#include "tcplife/source/packet_source.hpp"

namespace tcplife {
namespace {

// "[########------------]  41%  410.2/1000.0 MB  1.23 Mpkt/s  ETA 3 s" on one line.
std::string progress_line(std::int64_t pos, std::int64_t total, std::uint64_t packets,
                          double elapsed_s) {
  const double frac = total > 0 ? static_cast<double>(pos) / static_cast<double>(total) : 0.0;
  const int filled = static_cast<int>(frac * 20.0);
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(20 - filled), '-') + "]";
  char buf[160];
  const double rate = elapsed_s > 0 ? static_cast<double>(packets) / elapsed_s : 0.0;
  const double eta = frac > 0.0 ? elapsed_s * (1.0 - frac) / frac : 0.0;
  std::snprintf(buf, sizeof buf, " %3d%%  %.1f/%.1f MB  %.2f Mpkt/s  ETA %.0f s",
                static_cast<int>(frac * 100.0), static_cast<double>(pos) / 1e6,
                static_cast<double>(total) / 1e6, rate / 1e6, eta);
  return bar + buf;
}

std::atomic<bool> g_stop{false};
std::atomic<source::LiveSource*> g_live{nullptr};

// Opens the file or the interface; on failure writes the one-line reason.
std::unique_ptr<source::PacketSource> open_input(const Config& cfg, std::ostream& err, int& rc,
                                                 source::LiveSource*& live) {
  source::OpenError oerr;
  live = nullptr;
  if (!cfg.live.options.interface.empty()) {
    std::unique_ptr<source::LiveSource> l = source::open_live(cfg.live.options, oerr);
    if (!l) {
      err << "tcplife: " << oerr.message << '\n';
      rc = kExitInputError;
      return nullptr;
    }
    if (!l->warning().empty()) err << "tcplife: " << l->warning() << '\n';
    live = l.get();
    return l;
  }
  std::unique_ptr<source::PacketSource> src = source::open_file(cfg.input, oerr, cfg.reader);
  if (!src) {
    err << "tcplife: " << oerr.message << '\n';
    rc = kExitInputError;
  }
  return src;
}

// Observers in order for each segment; on_finish in reverse, so the ladder
// recorder (first) reads a packet's effects before the next packet is
// analysed, and a connection's final anomalies after every other observer.
class ObserverChain final : public tcp::SegmentObserver {
 public:
  void push(tcp::SegmentObserver* o) {
    if (o != nullptr) list_.push_back(o);
  }
  void on_segment(tcp::Connection& c, tcp::Side from, const decode::Segment& seg) override {
    for (tcp::SegmentObserver* o : list_) o->on_segment(c, from, seg);
  }
  void on_finish(tcp::Connection& c) override {
    for (auto it = list_.rbegin(); it != list_.rend(); ++it) (*it)->on_finish(c);
  }

 private:
  std::vector<tcp::SegmentObserver*> list_;
};

// Every finished connection: counted, seen by the global detectors, then,
// if selected, checked by --fail-on and written by the sink.
class Dispatch final : public tcp::ConnectionSink {
 public:
  Dispatch(const Config& cfg, output::Sink& sink, output::LadderRecorder* ladder)
      : cfg_(cfg), sink_(sink), ladder_(ladder), detectors_(cfg.global), fail_on_(cfg.fail_on) {}

  void on_connection(const tcp::Connection& c) override {
    const bool selected = cfg_.selection.selects(c);
    tally_.add(c, selected);
    detectors_.add(c);
    if (selected) {
      fail_on_.add(c);
      sink_.on_connection(c);
    }
    if (ladder_ != nullptr) ladder_->release(c.id);
  }

  output::ConnectionTally& tally() { return tally_; }
  analyze::GlobalDetectors& detectors() { return detectors_; }
  output::FailOn& fail_on() { return fail_on_; }

 private:
  const Config& cfg_;
  output::Sink& sink_;
  output::LadderRecorder* ladder_;
  output::ConnectionTally tally_;
  analyze::GlobalDetectors detectors_;
  output::FailOn fail_on_;
};

int run_baseline(const Config& cfg, std::ostream& out, std::ostream& err) {
  Config current = cfg;
  current.baseline.clear();
  current.format = output::Format::Json;
  current.fail_on.clear();
  std::ostringstream doc;
  const int rc = run(current, doc, err);
  if (rc == kExitInputError || rc == kExitUsage) return rc;
  std::ostringstream base;
  {
    std::ifstream in(cfg.baseline, std::ios::binary);
    if (!in) {
      err << "tcplife: " << cfg.baseline << ": cannot read the baseline\n";
      return kExitInputError;
    }
    base << in.rdbuf();
  }
  const int drc = diff_text(base.str(), cfg.baseline, doc.str(),
                            cfg.input == "-" ? "<stdin>" : cfg.input, cfg.diff, out, err);
  return drc == kExitOk ? rc : drc;
}

}  // namespace

unsigned auto_threads() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  int cores = 1;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores < 2) return 0;
  return static_cast<unsigned>(std::clamp(cores - 2, 1, 64));
}

int run(const Config& cfg, std::ostream& out, std::ostream& err) {
  if (!cfg.baseline.empty()) return run_baseline(cfg, out, err);
  int open_rc = kExitOk;
  source::LiveSource* live = nullptr;
  std::unique_ptr<source::PacketSource> src = open_input(cfg, err, open_rc, live);
  if (!src) return open_rc;
  const std::string name = live != nullptr ? cfg.live.options.interface
                                           : (cfg.input == "-" ? "<stdin>" : cfg.input);
  if (!cfg.filter.empty()) {
    std::string ferr;
    if (!src->set_filter(cfg.filter, ferr)) {
      err << "tcplife: bad filter expression '" << cfg.filter << "': " << ferr << '\n';
      return kExitUsage;
    }
  }
  if (live != nullptr) {
    std::string lerr;
    if (!cfg.live.write_file.empty() && !live->dump_to(cfg.live.write_file, lerr)) {
      err << "tcplife: " << lerr << '\n';
      return kExitInputError;
    }
    if (!cfg.live.user.empty() && !source::drop_privileges(cfg.live.user, lerr)) {
      err << "tcplife: " << lerr << '\n';
      return kExitInputError;
    }
  }
  g_stop = false;
  g_live = live;

  // The ladder needs every packet of the connections it draws: recorded only
  // for the text timeline, only for the --conn selection, bounded per connection.
  std::optional<output::LadderRecorder> ladder;
  if (cfg.format == output::Format::Text && cfg.output.timeline) {
    output::Selection conns;
    conns.conns = cfg.selection.conns;
    ladder.emplace(cfg.output.timeline_max, std::move(conns));
  }
  output::LadderRecorder* ladder_ptr = ladder ? &*ladder : nullptr;
  output::OutputOptions oopts = cfg.output;
  // Live capture and stdin (often a capture piped in) flush each record; a file's
  // report goes out in large blocks.
  oopts.stream = oopts.stream || live != nullptr || cfg.input == "-";
  // --threads: files only (a live capture's records must not wait for a batch
  // to fill), and not for the ladder (it records packets in input order).
  const bool sharded = cfg.threads > 0 && live == nullptr && ladder_ptr == nullptr;
  std::unique_ptr<output::Sink> sink = output::make_sink(cfg.format, out, oopts, ladder_ptr);
  output::RunInfo info{name, src->format(), src->linktypes()};
  sink->begin(info);

  analyze::SeqAnalyzer analyzer;
  ObserverChain observers;
  observers.push(ladder_ptr);
  observers.push(&analyzer);
  Dispatch dispatch(cfg, *sink, ladder_ptr);
  tcp::TrackerOptions topts = cfg.tracker;
  topts.keep_events = cfg.output.timeline || cfg.output.full_events;  // only shown with --timeline
  std::unique_ptr<pipeline::Engine> engine;
  if (sharded)
    engine = pipeline::make_sharded_engine(topts, cfg.threads, dispatch, *sink);
  else
    engine = std::make_unique<pipeline::SerialEngine>(topts, dispatch, &observers, *sink);
  output::RunSummary sum;
  decode::DecodeOptions dopts;
  dopts.verify_checksum = cfg.verify_checksums;
  core::PacketView pkt;
  source::ReadStatus st = source::ReadStatus::End;
  std::int64_t input_size = -1;
  if (live == nullptr && cfg.input != "-") {
    struct stat st_in {};
    if (::stat(cfg.input.c_str(), &st_in) == 0) input_size = st_in.st_size;
  }
  const bool show_progress = cfg.progress && live == nullptr && input_size > 0;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  Clock::time_point last_packet_wall = started, last_status = started;
  for (;;) {
    if (g_stop) {
      sum.stop_reason = "signal";
      break;
    }
    if (cfg.max_packets != 0 && sum.packets >= cfg.max_packets) {
      sum.stop_reason = "count";
      break;
    }
    // The clock is read only where something depends on it (not per packet of a file).
    const bool tick = live != nullptr || cfg.max_duration_ns > 0 ||
                      (show_progress && (sum.packets & 0x3ff) == 0);
    const Clock::time_point now = tick ? Clock::now() : last_status;
    if (cfg.max_duration_ns > 0 && now - started >= std::chrono::nanoseconds(cfg.max_duration_ns)) {
      sum.stop_reason = "duration";
      break;
    }
    if (show_progress && tick && now - last_status >= std::chrono::milliseconds(250)) {
      last_status = now;
      err << '\r'
          << progress_line(src->position(), input_size, sum.packets,
                           std::chrono::duration<double>(now - started).count())
          << "\x1b[K" << std::flush;
    }
    if (live != nullptr && cfg.live.status && now - last_status >= std::chrono::seconds(1)) {
      last_status = now;
      const source::LiveStats ls = live->stats();
      err << "\rtcplife: " << sum.packets << " packets, " << engine->open_connections()
          << " open, " << engine->stats().emitted << " ended, " << ls.dropped << " dropped\x1b[K"
          << std::flush;
    }
    st = src->next(pkt);
    if (st == source::ReadStatus::Timeout) {
      // Nothing arrived: let capture time run on with the wall clock, so
      // connections that ended or went idle are reported without new traffic.
      if (sum.have_ts)
        engine->advance_time(core::Timestamp{
            sum.last_ts.ns + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 Clock::now() - last_packet_wall)
                                 .count()});
      continue;
    }
    if (st != source::ReadStatus::Packet) {
      if (live != nullptr) sum.stop_reason = g_stop ? "signal" : (st == source::ReadStatus::End ? "end" : "error");
      break;
    }
    if (live != nullptr) last_packet_wall = Clock::now();
    ++sum.packets;
    sum.bytes += pkt.bytes.size();
    if (!sum.have_ts) {
      sum.first_ts = sum.last_ts = pkt.ts;
      sum.have_ts = true;
    } else {
      sum.first_ts = std::min(sum.first_ts, pkt.ts);
      sum.last_ts = std::max(sum.last_ts, pkt.ts);
    }
    decode::Segment& seg = engine->slot();
    const decode::Status ds = decode::decode(pkt, seg, dopts);
    if (ds != decode::Status::Ok) {
      ++sum.skipped[static_cast<std::size_t>(ds)];
      continue;
    }
    ++sum.tcp_segments;
    engine->process(seg);
  }
  g_live = nullptr;
  if ((live != nullptr && cfg.live.status) || show_progress) err << "\r\x1b[K" << std::flush;
  int rc = kExitOk;
  if (st == source::ReadStatus::Truncated || st == source::ReadStatus::Error) {
    const std::int64_t pos = src->position();
    sum.input_error = std::string(live != nullptr ? "capture failed"
                                  : st == source::ReadStatus::Truncated ? "truncated"
                                                                          : "corrupt") +
                      " after packet " + std::to_string(sum.packets + sum.filtered_out) +
                      (pos >= 0 ? " (byte offset " + std::to_string(pos) + ")" : "") + ": " +
                      src->error();
    sum.input_truncated = st == source::ReadStatus::Truncated;
    err << "tcplife: " << name << ": warning: input " << sum.input_error
        << "; every whole packet before it was analysed\n";
    rc = kExitPartial;
  }
  engine->finish();
  if (live != nullptr) {
    const source::LiveStats ls = live->stats();
    sum.live_stats = true;
    sum.live_received = ls.received;
    sum.live_dropped = ls.dropped;
    sum.live_if_dropped = ls.if_dropped;
    if (sum.stop_reason.empty()) sum.stop_reason = "end";
  }
  sum.filtered_out = src->filtered_out();
  sum.tracker = engine->stats();
  sum.linktypes = src->linktypes();
  sum.tally = std::move(dispatch.tally());
  sum.global = dispatch.detectors().report();
  sink->end(sum);
  if (const std::string w = sink->warning(); !w.empty()) err << "tcplife: warning: " << w << '\n';

  output::FailOn& gate = dispatch.fail_on();
  gate.add(sum.global);
  if (gate.tripped()) {
    for (const std::string& line : gate.describe()) err << "tcplife: --fail-on " << line << '\n';
    rc = kExitFailOn;
  }
  return rc;
}

void request_stop() noexcept {
  g_stop = true;
  source::LiveSource* live = g_live.load();
  if (live != nullptr) live->break_loop();
}

}  // namespace tcplife
