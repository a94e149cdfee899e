// SPDX-License-Identifier: MIT
// JSON document and NDJSON stream (schema tcplife/1, docs/schema/tcplife-1.schema.json).
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <system_error>
#include <thread>
#include <utility>

#include "output/facts.hpp"
#include "output/text_sink.hpp"
#include "output/zeek_sink.hpp"
#include "tcplife/output/json_writer.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/output/spool.hpp"
#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::output {
namespace {

constexpr std::string_view kSchema = "tcplife/1";
constexpr std::string_view kVersion = "0.1.0";

void write_counts(JsonWriter& w, std::string_view key,
                  const std::map<std::string, std::uint64_t, std::less<>>& m) {
  w.key(key).begin_object();
  for (const auto& [k, v] : m) w.kv_unum(k, v);
  w.end_object();
}

// "input", "packets" and "summary": the same in the document and the NDJSON summary line.
void write_summary(JsonWriter& w, const RunInfo& info, const RunSummary& s) {
  const ConnectionTally& t = s.tally;
  w.key("input").begin_object().kv("name", info.input).kv("format", info.format);
  w.key("linktypes").begin_array();
  for (int lt : s.linktypes) w.str(linktype_name(lt));
  w.end_array();
  w.key("first_ts");
  if (s.have_ts)
    w.time(s.first_ts);
  else
    w.null();
  w.key("last_ts");
  if (s.have_ts)
    w.time(s.last_ts);
  else
    w.null();
  w.kv("complete", s.input_error.empty());
  w.key("error");
  if (s.input_error.empty())
    w.null();
  else
    w.str(s.input_error);
  if (s.live_stats) {
    w.key("capture").begin_object()
        .kv_unum("received", s.live_received)
        .kv_unum("dropped", s.live_dropped)
        .kv_unum("if_dropped", s.live_if_dropped)
        .kv("stopped_by", s.stop_reason)
        .end_object();
  }
  w.end_object();
  w.key("packets")
      .begin_object()
      .kv_unum("read", s.packets)
      .kv_unum("filtered_out", s.filtered_out)
      .kv_unum("tcp", s.tcp_segments);
  std::uint64_t skipped = 0;
  for (std::size_t i = 1; i < decode::kStatusCount; ++i) skipped += s.skipped[i];
  w.kv_unum("skipped", skipped);
  w.key("skipped_by_reason").begin_object();
  for (std::size_t i = 1; i < decode::kStatusCount; ++i)
    if (s.skipped[i] > 0)
      w.kv_unum(decode::status_name(static_cast<decode::Status>(i)), s.skipped[i]);
  w.end_object();
  w.end_object();
  w.key("summary").begin_object();
  w.kv_unum("connections", t.connections)
      .kv_unum("reported", t.reported)
      .kv_unum("peak_open", s.tracker.peak_open)
      .kv_unum("expired_idle", s.tracker.expired_idle)
      .kv_unum("evicted", s.tracker.evicted);
  write_counts(w, "by_outcome", t.outcomes);
  write_counts(w, "by_conn_state", t.conn_states);
  w.key("anomalies").begin_object();
  for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k)
    if (t.anomalies[k] > 0)
      w.kv_unum(tcp::anomaly_name(static_cast<tcp::AnomalyKind>(k)), t.anomalies[k]);
  w.end_object();
  w.key("global_anomalies").begin_object();
  for (std::size_t k = 0; k < analyze::kGlobalKinds; ++k) {
    const auto kind = static_cast<analyze::GlobalKind>(k);
    const auto n =
        std::count_if(s.global.findings.begin(), s.global.findings.end(),
                      [kind](const analyze::GlobalFinding& f) { return f.kind == kind; });
    if (n > 0) w.kv_unum(analyze::global_kind_name(kind), static_cast<std::uint64_t>(n));
  }
  w.end_object();
  w.kv_unum("global_entries_dropped", s.global.dropped_entries);
  w.end_object();
}

void write_time_or_null(JsonWriter& w, std::string_view key, const analyze::TimeSpan& s,
                        bool last) {
  w.key(key);
  if (!s.seen)
    w.null();
  else
    w.time(last ? s.last : s.first);
}

// "global_anomalies" and "server_pressure": the detectors across connections.
void write_global(JsonWriter& w, const analyze::GlobalReport& g) {
  w.key("global_anomalies").begin_array();
  for (const analyze::GlobalFinding& f : g.findings) {
    w.begin_object().kv("kind", analyze::global_kind_name(f.kind));
    w.key("subject").begin_object().kv("ip", core::to_string(f.ip)).key("port");
    if (f.has_port)
      w.unum(f.port);
    else
      w.null();
    w.end_object();
    w.kv_unum("count", f.count)
        .kv_unum("distinct_peers", f.distinct_peers)
        .kv("distinct_peers_exact", f.distinct_exact);
    write_time_or_null(w, "first_ts", f.span, false);
    write_time_or_null(w, "last_ts", f.span, true);
    w.key("span").seconds(f.span.ns());
    w.key("rate").fixed(static_cast<std::int64_t>(f.rate_milli), 3);
    w.key("evidence").begin_object();
    for (const auto& [k, v] : f.evidence) w.kv_unum(k, v);
    w.end_object();
    w.kv("detail", finding_detail(f));
    w.end_object();
  }
  w.end_array();
  w.key("server_pressure").begin_array();
  for (const analyze::ServerPressure& p : g.servers) {
    w.begin_object();
    w.key("server")
        .begin_object()
        .kv("ip", core::to_string(p.ip))
        .kv_unum("port", p.port)
        .end_object();
    w.kv_unum("attempts", p.attempts)
        .kv_unum("answered", p.answered)
        .kv_unum("accepted", p.accepted)
        .kv_unum("half_open", p.half_open)
        .kv_unum("unanswered", p.unanswered)
        .kv_unum("refused", p.refused)
        .kv_unum("syn_retransmits", p.syn_retransmits);
    const auto ratio =
        p.attempts == 0 ? 0 : static_cast<std::int64_t>(p.accepted * 1000 / p.attempts);
    w.key("accept_ratio").fixed(ratio, 3);
    w.kv_unum("half_open_sources", p.half_open_sources.estimate())
        .kv("half_open_sources_exact", p.half_open_sources.exact());
    write_time_or_null(w, "half_open_first_ts", p.half_open_span, false);
    write_time_or_null(w, "half_open_last_ts", p.half_open_span, true);
    w.key("half_open_rate")
        .fixed(static_cast<std::int64_t>(analyze::rate_milli(p.half_open, p.half_open_span.ns())),
               3);
    w.end_object();
  }
  w.end_array();
}

// One JSON document; connections in order of first packet, one per line.
//
// The document streams: connections first (in first-packet order, each
// written once every earlier connection has finished), then the summary,
// which is only known at the end. Records waiting for an earlier, still open
// connection wait in a RecordSpool (memory up to 32 MB, then a temporary
// file).
//
// In a --threads run (the one caller of input_end()), the end of input is
// written on a thread of its own. Behind a connection open since the start,
// the whole document is ready only then; from input_end() on, a writer
// thread owns the spool and writes what is ready, while the thread that hands
// connections in goes on finishing and formatting the ones still open (in id
// order) into an inbox the writer takes. Same bytes either way.
class JsonSink final : public Sink {
 public:
  JsonSink(std::ostream& out, OutputOptions opts) : out_(out), opts_(opts) {}
  JsonSink(const JsonSink&) = delete;
  JsonSink& operator=(const JsonSink&) = delete;
  ~JsonSink() override {
    if (!writer_.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(mu_);
      abandon_ = true;  // end() was not reached (an error): write nothing more
    }
    wake_.notify_one();
    writer_.join();
  }

  void begin(const RunInfo& info) override {
    info_ = info;
    std::string head;
    JsonWriter w(head);
    w.begin_object().kv("schema", kSchema);
    w.key("tool").begin_object().kv("name", "tcplife").kv("version", kVersion).end_object();
    w.raw(",\"connections\":[");
    w.commit();
    out_ << head;
  }
  void input_end() override {
    if (writer_.joinable()) return;
    try {
      writer_ = std::thread([this] { write_ready(); });
    } catch (const std::system_error&) {
      // No thread to be had: the records are written here, as without it.
    }
  }
  void on_connection(const tcp::Connection& c) override {
    text_.clear();  // keeps its capacity: no allocation per record
    write_connection_json(text_, c, opts_, &keys_);
    if (!writer_.joinable()) {
      spool_.put(c.id, text_);
      return;
    }
    bool wake = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // A writer slower than the formatting (its records come back from the
      // temporary file) must not let the inbox grow with every connection
      // finished at the end: wait for it to take the inbox.
      taken_.wait(lock, [this] { return inbox_.text.size() < kInboxMax || writer_gone_; });
      inbox_.ids.push_back({c.id, static_cast<std::uint32_t>(text_.size())});
      inbox_.text.append(text_);
      wake = inbox_.text.size() >= kInbox && !asked_;
      asked_ = asked_ || wake;
    }
    if (wake) wake_.notify_one();
  }
  [[nodiscard]] std::string warning() const override { return spool_.failure(); }
  void flush_before(std::uint64_t id) override {
    if (!writer_.joinable()) {
      spool_.drain_below(id, emit_, "null");
      return;
    }
    bool wake = false;
    {
      const std::lock_guard<std::mutex> lock(mu_);
      wake = id > below_ && !asked_;
      below_ = std::max(below_, id);
      asked_ = asked_ || wake;
    }
    if (wake) wake_.notify_one();
  }
  void end(const RunSummary& s) override {
    if (writer_.joinable()) {
      {
        const std::lock_guard<std::mutex> lock(mu_);
        below_ = ~std::uint64_t{0};
        last_ = asked_ = true;
      }
      wake_.notify_one();
      writer_.join();
      if (failure_) std::rethrow_exception(failure_);
    } else {
      flush_before(~std::uint64_t{0});
    }
    std::string doc = first_ ? "]," : "\n],";
    JsonWriter w(doc);
    write_summary(w, info_, s);
    write_global(w, s.global);
    w.raw("}\n");
    w.commit();
    out_ << doc;
    out_.flush();
  }

 private:
  // Records formatted but not yet in the spool: their ids and lengths, and
  // their texts one after the other.
  struct Inbox {
    struct Item {
      std::uint64_t id;
      std::uint32_t len;
    };
    std::vector<Item> ids;
    std::string text;
  };

  // The writer thread: takes the inbox into the spool and writes what is
  // ready, kChunk bytes at a time (so the inbox stays small), and waits for
  // work (an inbox of kInbox bytes, a higher flush_before bound, end()) when
  // nothing is ready; after end(), returns once everything is written.
  void write_ready() {
    struct Gone {  // however the writer leaves, nobody waits for it to take the inbox
      JsonSink& s;
      ~Gone() {
        {
          const std::lock_guard<std::mutex> lock(s.mu_);
          s.writer_gone_ = true;
        }
        s.taken_.notify_all();
      }
    } gone{*this};
    try {
      Inbox in;
      std::uint64_t below = 0;
      bool last = false;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(mu_);
          if (!spool_.ready_below(below)) wake_.wait(lock, [this] { return asked_ || abandon_; });
          if (abandon_) return;
          asked_ = false;
          std::swap(in, inbox_);
          below = below_;
          last = last_;
        }
        taken_.notify_one();
        std::size_t at = 0;
        for (const Inbox::Item& r : in.ids) {
          spool_.put(r.id, std::string_view(in.text).substr(at, r.len));
          at += r.len;
        }
        in.ids.clear();
        in.text.clear();
        spool_.drain_below(below, emit_, "null", kChunk);
        if (last && !spool_.ready_below(below)) return;
      }
    } catch (...) {
      failure_ = std::current_exception();  // end() rethrows it
    }
  }

  static constexpr std::size_t kChunk = std::size_t{1} << 20;
  static constexpr std::size_t kInbox = std::size_t{64} << 10;
  static constexpr std::size_t kInboxMax = std::size_t{4} << 20;
  std::ostream& out_;
  OutputOptions opts_;
  RunInfo info_;
  RecordSpool spool_;  // the writer's, while it runs
  // Records wait with their keys packed: less than half the bytes in memory
  // and in the temporary file.
  KeyPacker keys_;
  std::string text_;   // the record being written
  bool first_ = true;  // no record written yet (the writer's, while it runs)
  KeyPacker::Buffer unpacked_;  // the writer's, while it runs
  // Writes one drained record.
  const std::function<void(std::string_view)> emit_ = [this](std::string_view text) {
    out_ << (first_ ? "\n" : ",\n") << keys_.unpack(text, unpacked_);
    first_ = false;
    if (opts_.stream) out_.flush();
  };

  std::thread writer_;  // from input_end() to end()
  std::mutex mu_;       // the fields below, while writer_ runs
  std::condition_variable wake_;
  std::condition_variable taken_;  // the writer took the inbox, or left
  Inbox inbox_;
  std::uint64_t below_ = 1;  // records below this id are ready
  bool asked_ = false;       // there is work for the writer
  bool last_ = false;        // end(): everything is ready
  bool abandon_ = false;     // destroyed before end()
  bool writer_gone_ = false;  // write_ready() returned
  std::exception_ptr failure_;
};

// One line per connection as it finishes, then a summary line.
class NdjsonSink final : public Sink {
 public:
  NdjsonSink(std::ostream& out, OutputOptions opts) : out_(out), opts_(opts) {}
  void begin(const RunInfo& info) override { info_ = info; }
  void on_connection(const tcp::Connection& c) override {
    line_.clear();
    line_.append("{\"type\":\"connection\",\"schema\":\"");
    line_.append(kSchema);
    line_.append("\",");
    rec_.clear();
    write_connection_json(rec_, c, opts_);
    line_.append(rec_, 1, std::string::npos);  // splice the record's fields in
    line_.push_back('\n');
    out_ << line_;
    if (opts_.stream) out_.flush();
  }
  void end(const RunSummary& s) override {
    std::string doc;
    JsonWriter w(doc);
    w.begin_object().kv("type", "summary").kv("schema", kSchema);
    write_summary(w, info_, s);
    write_global(w, s.global);
    w.end_object();
    w.commit();
    out_ << doc << '\n';
    out_.flush();
  }

 private:
  std::ostream& out_;
  OutputOptions opts_;
  RunInfo info_;
  std::string line_, rec_;
};

}  // namespace

namespace {
void bump(std::map<std::string, std::uint64_t, std::less<>>& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), 0).first;
  ++it->second;
}
}  // namespace

void ConnectionTally::add(const tcp::Connection& c, bool reported_too) {
  ++connections;
  if (reported_too) ++reported;
  bump(outcomes, outcome_name(c));
  bump(conn_states, tcp::zeek_conn_state(c));
  for (const tcp::AnomalyCount& a : c.anomaly_counts())
    anomalies[static_cast<std::size_t>(a.kind)] += a.count;
}

std::unique_ptr<Sink> make_sink(Format f, std::ostream& out, const OutputOptions& opts,
                                const LadderRecorder* ladder) {
  switch (f) {
    case Format::Json:
      return std::make_unique<JsonSink>(out, opts);
    case Format::Ndjson:
      return std::make_unique<NdjsonSink>(out, opts);
    case Format::Zeek:
      return make_zeek_sink(out, opts.stream);
    default:
      return make_text_sink(out, opts, ladder);
  }
}

}  // namespace tcplife::output
