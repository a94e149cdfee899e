// SPDX-License-Identifier: MIT
#include "tcplife/pipeline.hpp"

#include <algorithm>
#include <ostream>

#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/source/packet_source.hpp"

namespace tcplife {

int run(const Config& cfg, std::ostream& out, std::ostream& err) {
  source::OpenError oerr;
  std::unique_ptr<source::PacketSource> src = source::open_file(cfg.input, oerr);
  if (!src) {
    err << "tcplife: " << oerr.message << '\n';
    return kExitInputError;
  }
  const std::string name = cfg.input == "-" ? "<stdin>" : cfg.input;
  if (!cfg.filter.empty()) {
    std::string ferr;
    if (!src->set_filter(cfg.filter, ferr)) {
      err << "tcplife: bad filter expression '" << cfg.filter << "': " << ferr << '\n';
      return kExitUsage;
    }
  }

  std::unique_ptr<output::Sink> sink = output::make_sink(cfg.format, out, cfg.output);
  output::RunInfo info{name, src->format(), src->linktypes()};
  sink->begin(info);

  analyze::SeqAnalyzer analyzer;
  tcp::Tracker tracker(cfg.tracker, *sink, &analyzer);
  output::RunSummary sum;
  decode::DecodeOptions dopts;
  dopts.verify_checksum = cfg.verify_checksums;
  core::PacketView pkt;
  decode::Segment seg;
  source::ReadStatus st;
  while ((st = src->next(pkt)) == source::ReadStatus::Packet) {
    ++sum.packets;
    sum.bytes += pkt.bytes.size();
    if (!sum.have_ts) {
      sum.first_ts = sum.last_ts = pkt.ts;
      sum.have_ts = true;
    } else {
      sum.first_ts = std::min(sum.first_ts, pkt.ts);
      sum.last_ts = std::max(sum.last_ts, pkt.ts);
    }
    const decode::Status ds = decode::decode(pkt, seg, dopts);
    if (ds != decode::Status::Ok) {
      ++sum.skipped[static_cast<std::size_t>(ds)];
      continue;
    }
    ++sum.tcp_segments;
    tracker.process(seg);
  }
  int rc = kExitOk;
  if (st == source::ReadStatus::Truncated || st == source::ReadStatus::Error) {
    const std::int64_t pos = src->position();
    sum.input_error = std::string(st == source::ReadStatus::Truncated ? "truncated" : "corrupt") +
                      " after packet " + std::to_string(sum.packets + sum.filtered_out) +
                      (pos >= 0 ? " (byte offset " + std::to_string(pos) + ")" : "") + ": " +
                      src->error();
    sum.input_truncated = st == source::ReadStatus::Truncated;
    err << "tcplife: " << name << ": warning: input " << sum.input_error
        << "; every whole packet before it was analysed\n";
    rc = kExitPartial;
  }
  tracker.finish();
  sum.filtered_out = src->filtered_out();
  sum.tracker = tracker.stats();
  sum.linktypes = src->linktypes();
  sink->end(sum);
  return rc;
}

}  // namespace tcplife
