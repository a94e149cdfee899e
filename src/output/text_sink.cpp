// SPDX-License-Identifier: MIT
// Text for people: a table of connections (one row each, first-packet order,
// 80 columns), optionally each with its ladder diagram, then the global
// findings and the summary. Colour (ANSI SGR) only when asked for.
#include "output/text_sink.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <ostream>

#include "output/facts.hpp"
#include "tcplife/output/json_writer.hpp"
#include "tcplife/output/ladder.hpp"
#include "tcplife/output/spool.hpp"
#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::output {
namespace {

constexpr std::size_t kWidth = 80;
constexpr std::size_t kStateWidth = 12;  // "SYN_RECEIVED"
constexpr std::size_t kMinArrow = 30;
constexpr std::size_t kTopAnomalies = 8;

constexpr std::string_view kBold = "1", kDim = "2", kRed = "31", kGreen = "32", kYellow = "33",
                           kCyan = "36";

class Paint {
 public:
  explicit Paint(bool on) : on_(on) {}
  [[nodiscard]] std::string operator()(std::string_view sgr, std::string_view text) const {
    if (!on_ || sgr.empty() || text.empty()) return std::string(text);
    return "\033[" + std::string(sgr) + "m" + std::string(text) + "\033[0m";
  }

 private:
  bool on_;
};

std::string_view outcome_color(Outcome o) {
  switch (o) {
    case Outcome::Closed:
      return kGreen;
    case Outcome::Reset:
    case Outcome::Refused:
      return kRed;
    case Outcome::Unanswered:
    case Outcome::HandshakeIncomplete:
    case Outcome::HalfClosed:
      return kYellow;
    default:
      return {};
  }
}

std::string_view flags_color(std::uint16_t f) {
  using namespace decode::flag;
  if ((f & kRst) != 0) return kRed;
  if ((f & kSyn) != 0) return kGreen;
  if ((f & kFin) != 0) return kCyan;
  return {};
}

std::string seconds_text(std::int64_t ns, int decimals) {
  std::string s;
  append_seconds(s, ns, decimals);
  return s;
}

// Milliseconds with 3 decimals (microsecond resolution, truncated).
std::string ms_text(std::int64_t ns) {
  std::string s;
  append_fixed(s, ns / 1000, 3);
  return s;
}

std::string human_bytes(std::uint64_t b) {
  if (b < 10000) return std::to_string(b);
  const char* units[] = {"K", "M", "G", "T"};
  // Integer tenths, so the text never depends on floating-point rounding.
  std::uint64_t tenths = b * 10;
  int u = -1;
  while (tenths >= 10000 && u < 3) {
    tenths /= 1000;
    ++u;
  }
  const std::uint64_t whole = tenths / 10;
  return whole >= 100 ? std::to_string(whole) + units[u]
                      : std::to_string(whole) + "." + std::to_string(tenths % 10) + units[u];
}

void pad_right(std::string& s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
}
std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// Glues words that must stay on one line ("ip_fragment 4"); printed as a space.
constexpr char kGlue = '\x1f';

// Word-wraps `text` to kWidth: the first line starts with `first`, the others with `cont`.
std::string wrap(std::string_view first, std::string_view cont, std::string_view text) {
  std::string out(first), word;
  std::size_t col = first.size();
  bool line_empty = first.empty() || first.back() == ' ';
  auto flush = [&] {
    if (word.empty()) return;
    if (!line_empty && col + 1 + word.size() > kWidth) {
      out += '\n';
      out += cont;
      col = cont.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    std::replace(word.begin(), word.end(), kGlue, ' ');
    out += word;
    col += word.size();
    line_empty = false;
    word.clear();
  };
  for (char ch : text) {
    if (ch == ' ')
      flush();
    else
      word.push_back(ch);
  }
  flush();
  out += '\n';
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? std::string(sep) : "") + items[i];
  return s;
}

std::string anomaly_list(std::uint64_t bits) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k)
    if ((bits >> k & 1u) != 0)
      names.emplace_back(tcp::anomaly_name(static_cast<tcp::AnomalyKind>(k)));
  return join(names, ", ");
}

// ---- the ladder diagram ------------------------------------------------------------

// The engine's folded events, when no per-packet record exists.
Ladder ladder_from_events(const tcp::Connection& c) {
  Ladder l;
  for (const tcp::Event& ev : c.events()) {
    LadderLine x;
    x.ts = ev.ts;
    x.frame = ev.frame;
    x.rel_seq = ev.rel_seq;
    x.rel_ack = ev.rel_ack;
    x.len = ev.len;
    x.flags = ev.flags;
    x.from = ev.from;
    x.state_lo = ev.state_lo;
    x.state_hi = ev.state_hi;
    for (const tcp::Anomaly& a : c.anomalies())
      if (a.frame == ev.frame) x.anomalies |= std::uint64_t{1} << static_cast<unsigned>(a.kind);
    l.lines.push_back(x);
  }
  l.more = c.events_dropped();
  return l;
}

constexpr std::string_view kNotApplied = "earlier instance, not applied";

// "S. seq 0 ack 1 len 0"; when that does not fit the arrow (huge relative
// numbers), tcpdump's compact "S. 0:1/0" (seq:ack/len).
std::string packet_label(const LadderLine& l, std::size_t arrow_width) {
  const bool ack = (l.flags & decode::flag::kAck) != 0;
  const std::string flags = flags_string(l.flags);
  std::string label = flags + " seq " + std::to_string(l.rel_seq);
  if (ack) label += " ack " + std::to_string(l.rel_ack);
  label += " len " + std::to_string(l.len);
  if (label.size() + 6 <= arrow_width) return label;
  return flags + " " + std::to_string(l.rel_seq) + ":" + (ack ? std::to_string(l.rel_ack) : "-") +
         "/" + std::to_string(l.len);
}

// "-- label ----->" (client to server) or "<----- label --", `width` wide;
// a label too long for that keeps one dash each side.
std::string arrow_text(std::string_view label, std::size_t width, bool c2s) {
  const bool roomy = label.size() + 6 <= width;
  const std::string near = roomy ? "-- " : "-";
  const std::size_t used = label.size() + near.size() + (roomy ? 1 : 0) + 1;
  const std::string fill(used < width ? width - used : 0, '-');
  const std::string gap = roomy ? " " : "";
  if (c2s) return near + std::string(label) + gap + fill + ">";
  return "<" + fill + gap + std::string(label) + (roomy ? " --" : "-");
}

std::string render_ladder(const tcp::Connection& c, const Ladder& lad, std::size_t max_lines,
                          const Paint& paint) {
  std::vector<std::string> times;
  std::size_t tw = 4, fw = 5;  // "TIME", "FRAME"
  for (const LadderLine& l : lad.lines) {
    times.push_back(seconds_text(l.ts - c.first_ts, 6));
    tw = std::max(tw, times.back().size());
    fw = std::max(fw, std::to_string(l.frame).size());
  }
  const std::size_t prefix = 2 + tw + 2 + fw + 2;
  const std::size_t used = prefix + kStateWidth + 1 + 1 + kStateWidth;
  const std::size_t aw = used + kMinArrow <= kWidth ? kWidth - used : kMinArrow;
  const std::string note_indent(prefix + kStateWidth + 1, ' ');

  std::string t;
  std::string head = "  " + pad_left("TIME", tw) + "  " + pad_left("FRAME", fw) + "  CLIENT";
  pad_right(head, prefix + kStateWidth + 1 + aw + 1);
  head += "SERVER";
  t += paint(kDim, head) + '\n';
  const bool client_lo = c.client == tcp::Side::Lo;
  for (std::size_t i = 0; i < lad.lines.size(); ++i) {
    const LadderLine& l = lad.lines[i];
    const bool c2s = l.from == c.client;
    const std::string arrow =
        l.applied ? arrow_text(packet_label(l, aw), aw, c2s) : arrow_text(kNotApplied, aw, c2s);
    std::string cs(tcp::state_name(client_lo ? l.state_lo : l.state_hi));
    const std::string ss(tcp::state_name(client_lo ? l.state_hi : l.state_lo));
    pad_right(cs, kStateWidth);
    t += "  " + pad_left(times[i], tw) + "  " + pad_left(std::to_string(l.frame), fw) + "  " + cs +
         ' ' + paint(l.applied ? flags_color(l.flags) : kDim, arrow) + ' ' + ss + '\n';
    if (l.anomalies != 0)
      t += paint(kYellow, wrap(note_indent + "!", note_indent + "  ", anomaly_list(l.anomalies)));
  }
  if (lad.more > 0)
    t += "  ... " + std::to_string(lad.more) + " more packets not drawn (--timeline-max " +
         std::to_string(max_lines) + ")\n";
  if (lad.at_end != 0)
    t += paint(kYellow, wrap("  at the end: !", "    ", anomaly_list(lad.at_end)));
  return t;
}

// ---- the table ---------------------------------------------------------------------

struct Row {
  std::uint64_t id = 0;
  Outcome outcome = Outcome::Open;
  std::string client, server;      // endpoints
  std::vector<std::string> cells;  // OUTCOME RTT_MS BYTES_C/S DUR_S ANOM
  std::string ladder;
};

const std::vector<std::string> kHead = {"OUTCOME", "RTT_MS", "BYTES_C/S", "DUR_S", "ANOM"};

class TextSink final : public Sink {
 public:
  TextSink(std::ostream& out, OutputOptions opts, const LadderRecorder* ladder)
      : out_(out), opts_(opts), ladder_(ladder), paint_(opts.color) {}
  void begin(const RunInfo& info) override {
    info_ = info;
    // Live captures run until stopped: rows are written as connections end,
    // under a header with fixed widths (80 columns for IPv4 endpoints).
    streaming_ = info.format == "live";
    if (streaming_) {
      title(info.linktypes);
      widths_ = fixed_widths();
      header(widths_);
      out_.flush();
    }
  }

  void on_connection(const tcp::Connection& c) override {
    Row r;
    r.id = c.id;
    r.outcome = outcome_of(c);
    r.client = endpoint_text(c, c.client) + (c.roles_guessed ? "?" : "");
    r.server = endpoint_text(c, c.server());
    // The table says "incomplete" for handshake_incomplete, so IPv4 rows fit 80 columns.
    r.cells = {
        r.outcome == Outcome::HandshakeIncomplete ? std::string("incomplete")
                                                  : std::string(outcome_name(r.outcome)),
        c.hs.syn_seen && c.hs.ack_seen ? ms_text(c.hs.ack_ts - c.hs.syn_ts) : std::string("-"),
        human_bytes(side_bytes(c, c.client).payload) + "/" +
            human_bytes(side_bytes(c, c.server()).payload),
        seconds_text(c.last_ts - c.first_ts, 3), std::to_string(c.anomaly_total())};
    if (opts_.timeline) {
      const Ladder* l = ladder_ != nullptr ? ladder_->find(c.id) : nullptr;
      r.ladder = l != nullptr
                     ? render_ladder(c, *l, opts_.timeline_max, paint_)
                     : render_ladder(c, ladder_from_events(c), tcp::Connection::kMaxEvents, paint_);
    }
    if (streaming_) {
      row(widths_, r);
      out_.flush();
      return;
    }
    // The table's widths need every row: rows wait, as text, in a spool
    // (bounded memory), and only the widths are kept up to date.
    widen(seen_, r);
    any_rows_ = true;
    spool_.put(r.id, pack(r));
  }

  [[nodiscard]] std::string warning() const override { return spool_.failure(); }
  void end(const RunSummary& s) override {
    if (!streaming_) {
      title(s.linktypes);
      if (any_rows_) {
        widths_ = finish_widths(seen_);
        header(widths_);
        spool_.drain_below(
            ~std::uint64_t{0}, [this](std::string_view text) { row(widths_, unpack(text)); }, "");
        out_ << '\n';
      }
    } else {
      out_ << '\n';
    }
    global(s.global);
    summary(s);
    out_.flush();
  }

 private:
  struct Widths {
    std::size_t id = 2, client = 6, server = 6;  // "ID", "CLIENT", "SERVER"
    std::vector<std::size_t> cells;
    bool one_line = true;
  };

  void title(const std::vector<int>& linktypes) {
    out_ << "tcplife: " << info_.input << " (" << info_.format;
    for (int lt : linktypes) out_ << ", " << linktype_name(lt);
    out_ << ")\n\n";
  }

  static Widths finish_widths(Widths w) {
    std::size_t rest = 0;
    for (std::size_t x : w.cells) rest += x + 2;
    w.one_line = w.id + 2 + w.client + 2 + w.server + 2 + rest - 2 <= kWidth;
    return w;
  }

  // One line per connection when the widest row fits 80 columns; otherwise
  // the endpoints get a line of their own (long IPv6 addresses wrap whole,
  // never cut).
  static Widths head_widths() {
    Widths w;
    for (const std::string& h : kHead) w.cells.push_back(h.size());
    return w;
  }
  static void widen(Widths& w, const Row& r) {
    w.id = std::max(w.id, std::to_string(r.id).size());
    w.client = std::max(w.client, r.client.size());
    w.server = std::max(w.server, r.server.size());
    for (std::size_t i = 0; i < r.cells.size(); ++i)
      w.cells[i] = std::max(w.cells[i], r.cells[i].size());
  }

  // A row as one string for the spool: fields separated by US (0x1f), which
  // no field contains (addresses, numbers, names, the ladder's text).
  static std::string pack(const Row& r) {
    std::string t = std::to_string(r.id);
    t += '\x1f';
    t += std::to_string(static_cast<int>(r.outcome));
    for (const std::string* f : {&r.client, &r.server}) {
      t += '\x1f';
      t += *f;
    }
    for (const std::string& c : r.cells) {
      t += '\x1f';
      t += c;
    }
    t += '\x1f';
    t += r.ladder;
    return t;
  }
  static Row unpack(std::string_view t) {
    std::vector<std::string> f;
    std::size_t at = 0;
    for (;;) {
      const std::size_t end = t.find('\x1f', at);
      f.emplace_back(
          t.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
      if (end == std::string_view::npos) break;
      at = end + 1;
    }
    Row r;
    if (f.size() != 5 + kHead.size()) return r;  // lost by the temporary file
    r.id = std::stoull(f[0]);
    r.outcome = static_cast<Outcome>(std::stoi(f[1]));
    r.client = std::move(f[2]);
    r.server = std::move(f[3]);
    r.cells.assign(std::make_move_iterator(f.begin() + 4),
                   std::make_move_iterator(f.begin() + 4 + static_cast<long>(kHead.size())));
    r.ladder = std::move(f.back());
    return r;
  }

  // Widths that fit typical IPv4 rows in 80 columns; a row that does not fit
  // is written on two lines.
  static Widths fixed_widths() {
    Widths w;
    w.id = 4;
    w.client = 21;
    w.server = 21;
    w.cells = {10, 7, 11, 7, 4};
    w.one_line = false;
    return w;
  }

  std::string numbers(const Widths& w, const std::vector<std::string>& cells, Outcome o,
                      bool head) {
    std::string l;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) l += "  ";
      if (i == 0) {
        std::string cell = cells[0];
        pad_right(cell, w.cells[0]);
        if (head)
          l += cell;
        else
          l += paint_(outcome_color(o), cells[0]) + cell.substr(cells[0].size());
      } else {
        l += pad_left(cells[i], w.cells[i]);
      }
    }
    return l;
  }

  void header(const Widths& w) {
    const std::size_t indent = w.id + 2;
    if (w.one_line) {
      std::string h = pad_left("ID", w.id) + "  CLIENT";
      pad_right(h, indent + w.client + 2);
      h += "SERVER";
      pad_right(h, indent + w.client + 2 + w.server + 2);
      out_ << paint_(kBold, h + numbers(w, kHead, Outcome::Open, true)) << '\n';
    } else {
      out_ << paint_(kBold, pad_left("ID", w.id) + "  CLIENT > SERVER") << '\n';
      out_ << paint_(kBold, std::string(indent, ' ') + numbers(w, kHead, Outcome::Open, true))
           << '\n';
    }
  }

  void row(const Widths& w, const Row& r) {
    const std::size_t indent = w.id + 2;
    std::string line = pad_left(std::to_string(r.id), w.id) + "  ";
    if (w.one_line) {
      std::string cl = r.client, sv = r.server;
      pad_right(cl, w.client);
      pad_right(sv, w.server);
      line += cl + "  " + sv + "  " + numbers(w, r.cells, r.outcome, false);
    } else {
      const std::string both = r.client + " > " + r.server;
      if (indent + both.size() <= kWidth) {
        line += both;
      } else {
        line += r.client + "\n" + std::string(indent, ' ') + "> " + r.server;
      }
      line += "\n" + std::string(indent, ' ') + numbers(w, r.cells, r.outcome, false);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n' << r.ladder;
  }

  void global(const analyze::GlobalReport& g) {
    if (!g.findings.empty()) {
      out_ << paint_(kBold, "global anomalies:") << '\n';
      for (const analyze::GlobalFinding& f : g.findings) {
        const std::string who = f.has_port ? endpoint_text(f.ip, f.port) : core::to_string(f.ip);
        out_ << wrap(
            "  " + paint_(kRed, std::string(analyze::global_kind_name(f.kind))) + " " + who + ":",
            "    ", finding_detail(f));
      }
    }
    if (!g.servers.empty()) {
      out_ << paint_(kBold, "half-open pressure (servers whose SYNs did not all complete):")
           << '\n';
      for (const analyze::ServerPressure& p : g.servers) {
        std::string rate, ratio;
        append_fixed(
            rate,
            static_cast<std::int64_t>(analyze::rate_milli(p.half_open, p.half_open_span.ns())), 3);
        append_fixed(
            ratio,
            static_cast<std::int64_t>(p.accepted * 1000 / std::max<std::uint64_t>(p.attempts, 1)),
            3);
        const std::string text = "SYNs " + std::to_string(p.attempts) + ", accepted " +
                                 std::to_string(p.accepted) + " (ratio " + ratio + "), half-open " +
                                 std::to_string(p.half_open) + " (unanswered " +
                                 std::to_string(p.unanswered) + "), sources " +
                                 (p.half_open_sources.exact() ? "" : "~") +
                                 std::to_string(p.half_open_sources.estimate()) + ", rate " + rate +
                                 "/s, refused " + std::to_string(p.refused);
        out_ << wrap("  " + endpoint_text(p.ip, p.port) + ":", "    ", text);
      }
    }
    if (!g.findings.empty() || !g.servers.empty()) out_ << '\n';
  }

  void summary(const RunSummary& s) {
    const ConnectionTally& t = s.tally;
    std::uint64_t skipped = 0;
    std::vector<std::string> reasons;
    for (std::size_t i = 1; i < decode::kStatusCount; ++i) {
      if (s.skipped[i] == 0) continue;
      skipped += s.skipped[i];
      reasons.push_back(std::string(decode::status_name(static_cast<decode::Status>(i))) + kGlue +
                        std::to_string(s.skipped[i]));
    }
    std::string packets = std::to_string(s.packets) + " read, " + std::to_string(s.tcp_segments) +
                          " TCP analysed, " + std::to_string(skipped) + " skipped";
    if (!reasons.empty()) packets += " (" + join(reasons, ", ") + ")";
    if (s.filtered_out > 0) packets += ", " + std::to_string(s.filtered_out) + " filtered out";
    out_ << wrap("packets:", "  ", packets);
    std::vector<std::string> items;
    for (const auto& [k, v] : t.outcomes) items.push_back(k + kGlue + std::to_string(v));
    std::string conns = std::to_string(t.connections);
    if (!items.empty()) conns += " (" + join(items, ", ") + ")";
    out_ << wrap("connections:", "  ", conns);
    if (t.reported != t.connections)
      out_ << "reported: " << t.reported << " of " << t.connections << " (--only/--conn)\n";
    items.clear();
    for (const auto& [k, v] : t.conn_states) items.push_back(k + kGlue + std::to_string(v));
    if (!items.empty()) out_ << wrap("conn_state:", "  ", join(items, ", "));
    std::vector<std::pair<std::uint64_t, std::size_t>> top;
    for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k)
      if (t.anomalies[k] > 0) top.emplace_back(t.anomalies[k], k);
    std::stable_sort(top.begin(), top.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    items.clear();
    for (std::size_t i = 0; i < top.size() && i < kTopAnomalies; ++i)
      items.push_back(std::string(tcp::anomaly_name(static_cast<tcp::AnomalyKind>(top[i].second))) +
                      kGlue + std::to_string(top[i].first));
    if (top.size() > kTopAnomalies)
      items.push_back("(" + std::to_string(top.size() - kTopAnomalies) + " more kinds)");
    if (!items.empty()) out_ << wrap("anomalies:", "  ", join(items, ", "));
    if (!s.input_error.empty()) out_ << wrap("input:", "  ", s.input_error);
    if (s.live_stats)
      out_ << wrap("capture:", "  ",
                   std::to_string(s.live_received) + " received, " +
                       std::to_string(s.live_dropped) + " dropped by the kernel, " +
                       std::to_string(s.live_if_dropped) + " by the interface; stopped by " +
                       s.stop_reason);
  }

  std::ostream& out_;
  OutputOptions opts_;
  const LadderRecorder* ladder_;
  Paint paint_;
  RunInfo info_;
  RecordSpool spool_;          // rows waiting for the table's widths (files)
  Widths seen_ = head_widths();  // the widest cells so far
  bool any_rows_ = false;
  Widths widths_;
  bool streaming_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_text_sink(std::ostream& out, const OutputOptions& opts,
                                     const LadderRecorder* ladder) {
  return std::make_unique<TextSink>(out, opts, ladder);
}

}  // namespace tcplife::output
