// SPDX-License-Identifier: MIT
#include <algorithm>
#include <map>
#include <ostream>
#include <utility>

#include "output/facts.hpp"
#include "output/zeek_sink.hpp"
#include "tcplife/output/json_writer.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::output {
namespace {

constexpr std::string_view kSchema = "tcplife/1";
constexpr std::string_view kVersion = "0.1.0";

// Totals every format reports: outcomes, conn_states and anomaly kinds.
struct Tally {
  std::map<std::string, std::uint64_t> outcomes;
  std::map<std::string, std::uint64_t> conn_states;
  std::array<std::uint64_t, tcp::kAnomalyKinds> anomalies{};
  std::uint64_t connections = 0;

  void add(const tcp::Connection& c) {
    ++connections;
    ++outcomes[std::string(outcome_name(c))];
    ++conn_states[std::string(tcp::zeek_conn_state(c))];
    for (const tcp::AnomalyCount& a : c.anomaly_counts)
      anomalies[static_cast<std::size_t>(a.kind)] += a.count;
  }
};

void write_summary(JsonWriter& w, const RunInfo& info, const RunSummary& s, const Tally& t) {
  w.key("input").begin_object().kv("name", info.input).kv("format", info.format);
  w.key("linktypes").begin_array();
  for (int lt : s.linktypes) w.str(linktype_name(lt));
  w.end_array();
  w.key("first_ts");
  if (s.have_ts) w.time(s.first_ts); else w.null();
  w.key("last_ts");
  if (s.have_ts) w.time(s.last_ts); else w.null();
  w.kv("complete", s.input_error.empty());
  w.key("error");
  if (s.input_error.empty()) w.null(); else w.str(s.input_error);
  w.end_object();
  w.key("packets").begin_object()
      .kv_unum("read", s.packets)
      .kv_unum("filtered_out", s.filtered_out)
      .kv_unum("tcp", s.tcp_segments);
  std::uint64_t skipped = 0;
  for (std::size_t i = 1; i < decode::kStatusCount; ++i) skipped += s.skipped[i];
  w.kv_unum("skipped", skipped);
  w.key("skipped_by_reason").begin_object();
  for (std::size_t i = 1; i < decode::kStatusCount; ++i)
    if (s.skipped[i] > 0) w.kv_unum(decode::status_name(static_cast<decode::Status>(i)), s.skipped[i]);
  w.end_object();
  w.end_object();
  w.key("summary").begin_object();
  w.kv_unum("connections", t.connections)
      .kv_unum("peak_open", s.tracker.peak_open)
      .kv_unum("expired_idle", s.tracker.expired_idle)
      .kv_unum("evicted", s.tracker.evicted);
  w.key("by_outcome").begin_object();
  for (const auto& [k, v] : t.outcomes) w.kv_unum(k, v);
  w.end_object();
  w.key("by_conn_state").begin_object();
  for (const auto& [k, v] : t.conn_states) w.kv_unum(k, v);
  w.end_object();
  w.key("anomalies").begin_object();
  for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k)
    if (t.anomalies[k] > 0) w.kv_unum(tcp::anomaly_name(static_cast<tcp::AnomalyKind>(k)), t.anomalies[k]);
  w.end_object();
  w.end_object();
}

// One JSON document; connections in order of first packet.
class JsonSink final : public Sink {
 public:
  JsonSink(std::ostream& out, OutputOptions opts) : out_(out), opts_(opts) {}
  void begin(const RunInfo& info) override { info_ = info; }
  void on_connection(const tcp::Connection& c) override {
    tally_.add(c);
    std::string rec;
    write_connection_json(rec, c, opts_);
    records_.emplace_back(c.id, std::move(rec));
  }
  void end(const RunSummary& s) override {
    std::sort(records_.begin(), records_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string doc;
    JsonWriter w(doc);
    w.begin_object().kv("schema", kSchema);
    w.key("tool").begin_object().kv("name", "tcplife").kv("version", kVersion).end_object();
    write_summary(w, info_, s, tally_);
    doc.append(",\"connections\":[");
    out_ << doc;
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (i > 0) out_ << ',';
      out_ << records_[i].second;
    }
    out_ << "]}\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  OutputOptions opts_;
  RunInfo info_;
  Tally tally_;
  std::vector<std::pair<std::uint64_t, std::string>> records_;
};

// One line per connection as it finishes, then a summary line.
class NdjsonSink final : public Sink {
 public:
  NdjsonSink(std::ostream& out, OutputOptions opts) : out_(out), opts_(opts) {}
  void begin(const RunInfo& info) override { info_ = info; }
  void on_connection(const tcp::Connection& c) override {
    tally_.add(c);
    line_.clear();
    line_.append("{\"type\":\"connection\",\"schema\":\"");
    line_.append(kSchema);
    line_.append("\",");
    std::string rec;
    write_connection_json(rec, c, opts_);
    line_.append(rec, 1, std::string::npos);  // splice the record's fields in
    line_.push_back('\n');
    out_ << line_;
    out_.flush();
  }
  void end(const RunSummary& s) override {
    std::string doc;
    JsonWriter w(doc);
    w.begin_object().kv("type", "summary").kv("schema", kSchema);
    write_summary(w, info_, s, tally_);
    w.end_object();
    out_ << doc << '\n';
    out_.flush();
  }

 private:
  std::ostream& out_;
  OutputOptions opts_;
  RunInfo info_;
  Tally tally_;
  std::string line_;
};

std::string endpoint_text(const tcp::Connection& c, tcp::Side s) {
  const core::IpAddr& a = c.key.addr(s);
  std::string ip = core::to_string(a);
  if (!a.is_v4()) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(c.key.port(s));
}

std::string seconds_text(std::int64_t ns, int decimals) {
  std::string s;
  append_seconds(s, ns, decimals);
  return s;
}

std::string human_bytes(std::uint64_t b) {
  if (b < 10000) return std::to_string(b);
  const char* units[] = {"K", "M", "G", "T"};
  double v = static_cast<double>(b);
  int u = -1;
  while (v >= 1000.0 && u < 3) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 100 ? "%.1f%s" : "%.0f%s", v, units[u]);
  return buf;
}

// A table for people: one row per connection (first-packet order), then the summary.
class TextSink final : public Sink {
 public:
  TextSink(std::ostream& out, OutputOptions opts) : out_(out), opts_(opts) {}
  void begin(const RunInfo& info) override { info_ = info; }
  void on_connection(const tcp::Connection& c) override {
    tally_.add(c);
    Row r;
    r.id = c.id;
    r.cells = {std::to_string(c.id),
               endpoint_text(c, c.client) + (c.roles_guessed ? "?" : ""),
               endpoint_text(c, c.server()),
               std::string(outcome_name(c)),
               std::string(tcp::zeek_conn_state(c)),
               c.hs.syn_seen && c.hs.ack_seen ? seconds_text((c.hs.ack_ts - c.hs.syn_ts) * 1000, 3)
                                              : std::string("-"),
               std::to_string(c.at(c.client).packets) + "/" + std::to_string(c.at(c.server()).packets),
               human_bytes(side_bytes(c, c.client).payload) + "/" +
                   human_bytes(side_bytes(c, c.server()).payload),
               seconds_text(c.last_ts - c.first_ts, 3),
               std::to_string(c.anomaly_total())};
    if (opts_.timeline) r.timeline = timeline(c);
    rows_.push_back(std::move(r));
  }
  void end(const RunSummary& s) override {
    std::sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
    const std::vector<std::string> head = {"ID", "CLIENT", "SERVER", "OUTCOME", "ZEEK",
                                           "RTT_MS", "PKTS_C/S", "BYTES_C/S", "DUR_S", "ANOM"};
    std::vector<std::size_t> width(head.size());
    for (std::size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
    for (const Row& r : rows_)
      for (std::size_t i = 0; i < r.cells.size(); ++i) width[i] = std::max(width[i], r.cells[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l;
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const bool right = i == 0 || i >= 5;
        const std::size_t pad = width[i] - cells[i].size();
        if (right) l.append(pad, ' ');
        l.append(cells[i]);
        if (!right && i + 1 < cells.size()) l.append(pad, ' ');
        if (i + 1 < cells.size()) l.append("  ");
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out_ << l << '\n';
    };
    out_ << "tcplife: " << info_.input << " (" << info_.format;
    for (int lt : s.linktypes) out_ << ", " << linktype_name(lt);
    out_ << ")\n\n";
    if (!rows_.empty()) {
      line(head);
      for (const Row& r : rows_) {
        line(r.cells);
        if (!r.timeline.empty()) out_ << r.timeline;
      }
      out_ << '\n';
    }
    summary(s);
    out_.flush();
  }

 private:
  struct Row {
    std::uint64_t id = 0;
    std::vector<std::string> cells;
    std::string timeline;
  };

  std::string timeline(const tcp::Connection& c) {
    std::string t;
    for (const tcp::Event& ev : c.events) {
      const bool c2s = ev.from == c.client;
      const auto cs = c.client == tcp::Side::Lo ? ev.state_lo : ev.state_hi;
      const auto ss = c.client == tcp::Side::Lo ? ev.state_hi : ev.state_lo;
      t += "      " + seconds_text(ev.ts - c.first_ts, 6) + "  #" + std::to_string(ev.frame) + "  " +
           (c2s ? "c -> s  " : "c <- s  ") + flags_string(ev.flags) + " seq " +
           std::to_string(ev.rel_seq) + " ack " + std::to_string(ev.rel_ack) + " len " +
           std::to_string(ev.len) + (ev.count > 1 ? " (x" + std::to_string(ev.count) + ")" : "") +
           "  " + std::string(tcp::state_name(cs)) + " / " + std::string(tcp::state_name(ss)) +
           "\n";
    }
    if (c.events_dropped > 0)
      t += "      ... " + std::to_string(c.events_dropped) + " more events not kept\n";
    return t;
  }

  void summary(const RunSummary& s) {
    std::uint64_t skipped = 0;
    for (std::size_t i = 1; i < decode::kStatusCount; ++i) skipped += s.skipped[i];
    out_ << "packets: " << s.packets << " read, " << s.tcp_segments << " TCP analysed, " << skipped
         << " skipped";
    if (skipped > 0) {
      out_ << " (";
      bool first = true;
      for (std::size_t i = 1; i < decode::kStatusCount; ++i) {
        if (s.skipped[i] == 0) continue;
        out_ << (first ? "" : ", ") << decode::status_name(static_cast<decode::Status>(i)) << ' '
             << s.skipped[i];
        first = false;
      }
      out_ << ')';
    }
    if (s.filtered_out > 0) out_ << ", " << s.filtered_out << " filtered out";
    out_ << '\n';
    out_ << "connections: " << tally_.connections;
    if (!tally_.outcomes.empty()) {
      out_ << " (";
      bool first = true;
      for (const auto& [k, v] : tally_.outcomes) {
        out_ << (first ? "" : ", ") << k << ' ' << v;
        first = false;
      }
      out_ << ')';
    }
    out_ << '\n';
    std::vector<std::pair<std::uint64_t, std::size_t>> top;
    for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k)
      if (tally_.anomalies[k] > 0) top.emplace_back(tally_.anomalies[k], k);
    std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (!top.empty()) {
      out_ << "anomalies:";
      for (std::size_t i = 0; i < top.size() && i < 8; ++i)
        out_ << (i == 0 ? " " : ", ") << tcp::anomaly_name(static_cast<tcp::AnomalyKind>(top[i].second))
             << ' ' << top[i].first;
      out_ << '\n';
    }
    if (!s.input_error.empty()) out_ << "input: " << s.input_error << '\n';
  }

  std::ostream& out_;
  OutputOptions opts_;
  RunInfo info_;
  Tally tally_;
  std::vector<Row> rows_;
};

}  // namespace

std::unique_ptr<Sink> make_sink(Format f, std::ostream& out, const OutputOptions& opts) {
  switch (f) {
    case Format::Json: return std::make_unique<JsonSink>(out, opts);
    case Format::Ndjson: return std::make_unique<NdjsonSink>(out, opts);
    case Format::Zeek: return make_zeek_sink(out);
    default: return std::make_unique<TextSink>(out, opts);
  }
}

}  // namespace tcplife::output
