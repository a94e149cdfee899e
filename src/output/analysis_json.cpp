// SPDX-License-Identifier: MIT
// The "analysis" object of a connection record and the detail text of the
// per-segment anomaly kinds (evidence layout: tcplife/analyze/evidence.hpp).
#include "output/analysis_json.hpp"

#include "tcplife/analyze/evidence.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/analyze/summary.hpp"

namespace tcplife::output {
namespace {

using analyze::SegClass;
using tcp::AnomalyKind;
namespace ev = analyze::evidence;

void rtt_object(JsonWriter& w, const tcp::RttStats& s) {
  const analyze::RttSummary r = analyze::summarize(s);
  w.begin_object().kv_unum("samples", r.samples);
  for (const auto& [name, v] :
       {std::pair{"min", r.min_ns}, {"median", r.median_ns}, {"max", r.max_ns}}) {
    w.key(name);
    if (r.samples > 0)
      w.seconds(v);
    else
      w.null();
  }
  w.end_object();
}

void side(JsonWriter& w, const tcp::Connection& c, tcp::Side s) {
  w.begin_object();
  // Only the classes that occurred, in catalogue order (absent = 0).
  w.key("counts").begin_object();
  if (!c.anomaly_counts().empty()) {
    for (std::size_t i = 0; i < analyze::kSegClasses; ++i) {
      const auto k = static_cast<SegClass>(i);
      const AnomalyKind kind = analyze::seg_class_kind(k);
      std::uint64_t n = 0;
      for (const tcp::AnomalyCount& ac : c.anomaly_counts())
        if (ac.kind == kind && ac.from == s) n += ac.count;
      if (n > 0) w.kv_unum(analyze::seg_class_name(k), n);
    }
  }
  w.end_object();
  const tcp::SegAnalysisEndpoint& a = c.analysis[flow::idx(s)];
  w.kv_unum("resent_bytes", a.resent_bytes);
  w.key("rtt");
  rtt_object(w, a.rtt);
  w.key("ts_rtt");
  rtt_object(w, a.ts_rtt);
  w.end_object();
}

std::string n(std::int64_t v) { return std::to_string(v); }

std::string range(std::int64_t seq, std::uint32_t len) {
  return "seq " + n(seq) + ".." + n(seq + len) + " (" + n(len) + " B)";
}

std::string secs(std::int64_t us) {
  std::string out;
  append_seconds(out, us * 1000, 6);
  return out + " s";
}

std::string seen_text(ev::Seen s) {
  switch (s) {
    case ev::Seen::All:
      return "all of it captured before";
    case ev::Seen::Part:
      return "part of it captured before";
    default:
      return "none of it captured before (lost before the capture point)";
  }
}

std::string deviation_note(std::uint8_t d) {
  switch (static_cast<analyze::Deviation>(d)) {
    case analyze::Deviation::SentAfterHighest:
      return "; its IP ID/TSval is newer than the highest segment's: sent after it, so a resend "
             "(Wireshark: out-of-order)";
    case analyze::Deviation::SentBeforeHighest:
      return "; its IP ID/TSval is older than the highest segment's: sent before it, so not a "
             "resend (a delayed original, or a copy) (Wireshark: a retransmission)";
    case analyze::Deviation::SenderSideCapture:
      return "; the capture is at the sender, where segments cannot be reordered "
             "(Wireshark: out-of-order)";
    case analyze::Deviation::OooThreshold:
      return "; time limit from the measured round trip, not Wireshark's 3 ms";
    case analyze::Deviation::FastRetransmitWindow:
      return "; within 20 ms plus the round trip to the sender (Wireshark: 20 ms)";
    default:
      return "";
  }
}

}  // namespace

void write_analysis_json(JsonWriter& w, const tcp::Connection& c) {
  w.key("analysis").begin_object();
  const analyze::VantageInfo v = analyze::vantage(c);
  w.kv("vantage", analyze::vantage_name(v.where));
  w.key("irtt");
  std::int64_t irtt = 0;
  if (analyze::initial_rtt(c, irtt))
    w.seconds(irtt);
  else
    w.null();
  w.key("client");
  side(w, c, c.client);
  w.key("server");
  side(w, c, c.server());
  w.end_object();
}

bool analysis_detail(const tcp::Anomaly& a, std::string& out) {
  switch (a.kind) {
    case AnomalyKind::Retransmission:
      out = range(a.a, ev::seg_len(a.b)) + " sent again, " + seen_text(ev::seg_seen(a.b)) +
            "; the highest data so far came in frame " + n(ev::ref_frame(a.c)) + ", " +
            secs(ev::ref_gap_us(a.c)) + " earlier" + deviation_note(ev::seg_deviation(a.b));
      return true;
    case AnomalyKind::FastRetransmission:
      out = range(a.a, ev::seg_len(a.b)) + " sent again after " + n(ev::seg_dupacks(a.b)) +
            " duplicate ACKs of frame " + n(a.c) + " asking for it, " +
            seen_text(ev::seg_seen(a.b)) + deviation_note(ev::seg_deviation(a.b));
      return true;
    case AnomalyKind::SpuriousRetransmission:
      out = range(a.a, ev::seg_len(a.b)) +
            " sent again though the receiver had acknowledged up to " + n(a.c);
      return true;
    case AnomalyKind::OutOfOrder:
      out = range(a.a, ev::seg_len(a.b)) + " arrived " + secs(ev::ref_gap_us(a.c)) +
            " after higher data (frame " + n(ev::ref_frame(a.c)) + "), " +
            seen_text(ev::seg_seen(a.b)) + deviation_note(ev::seg_deviation(a.b));
      return true;
    case AnomalyKind::NetworkDuplicate: {
      const std::uint16_t what = ev::seg_dupacks(a.b);
      const std::string same = (what & 1) != 0 && (what & 2) != 0 ? "length, IP ID and TSval"
                               : (what & 1) != 0                  ? "length and IP ID"
                               : (what & 2) != 0                  ? "length and TSval"
                                                                  : "length";
      out = range(a.a, ev::seg_len(a.b)) + " is an exact copy of frame " + n(ev::ref_frame(a.c)) +
            " (same " + same + ", " + secs(ev::ref_gap_us(a.c)) +
            " later): duplicated in the network or by the capture, not sent again (Wireshark: "
            "a retransmission)";
      return true;
    }
    case AnomalyKind::LostSegment:
      out = "seq " + n(a.a) + " but " + n(a.b) + " expected (after frame " + n(a.c) +
            "): " + n(a.a - a.b) + " B before it were not captured";
      return true;
    case AnomalyKind::AckUnseen:
      out = "acknowledges " + n(a.a) + " but the peer's data was captured only up to " + n(a.b);
      return true;
    case AnomalyKind::DupAck:
      out = "duplicate ACK #" + n(a.a) + " of frame " + n(a.b) + " (ack " + n(a.c) + ")";
      return true;
    case AnomalyKind::ZeroWindow:
      out = "window 0 advertised (ack " + n(a.a) + ")";
      return true;
    case AnomalyKind::ZeroWindowProbe:
      out = (a.b == 0 ? "no data at seq " + n(a.a) + " (one below the next)"
                      : n(a.b) + " B at seq " + n(a.a)) +
            " into the peer's zero window";
      return true;
    case AnomalyKind::ZeroWindowProbeAck:
      out = "answers a zero-window probe: ack " + n(a.a) + ", window " + n(a.b);
      return true;
    case AnomalyKind::WindowUpdate:
      out = "window " + n(a.b) + " -> " + n(a.a) + " with the same ack " + n(a.c);
      return true;
    case AnomalyKind::WindowFull:
      out = "data ends at " + n(a.a) + " = the receiver's ack " + n(a.c) + " + window " + n(a.b);
      return true;
    case AnomalyKind::KeepAlive:
      out = n(a.b) + " B at seq " + n(a.a) + ", one below the next sequence number";
      return true;
    case AnomalyKind::KeepAliveAck:
      out = "answers a keep-alive: ack " + n(a.a) + ", window " + n(a.b);
      return true;
    case AnomalyKind::SeqOutOfWindow:
      out = "data ends at " + n(a.a) + ", " + n(a.c) +
            " B beyond the highest right edge the receiver advertised (" + n(a.b) + ")";
      return true;
    case AnomalyKind::AckOutOfRange:
      out = a.c > 0 ? "acknowledges " + n(a.a) +
                          ", beyond anything the peer can have sent (limit " + n(a.b) + ")"
                    : "acknowledges " + n(a.a) + ", more than a window behind (lowest acceptable " +
                          n(a.b) + ", RFC 5961)";
      return true;
    case AnomalyKind::WindowShrink:
      out = "right edge of the window moved left from " + n(a.a) + " to " + n(a.b) + " (" + n(a.c) +
            " B)";
      return true;
    case AnomalyKind::SackOutOfWindow:
      switch (ev::sack_reason(a.c)) {
        case ev::SackReason::Malformed:
          out = "SACK block " + n(a.a) + ".." + n(a.b) + " is empty or reversed";
          break;
        case ev::SackReason::BeyondWindow:
          out = "SACK block " + n(a.a) + ".." + n(a.b) + " ends beyond the window edge " +
                n(ev::sack_limit(a.c));
          break;
        default:
          out = "SACK block " + n(a.a) + ".." + n(a.b) +
                " lies more than a window below the ack (" + n(ev::sack_limit(a.c)) + ")";
          break;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace tcplife::output
