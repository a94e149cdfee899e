// SPDX-License-Identifier: MIT
// tcplife_classify FILE: the per-segment verdict of every TCP frame tcplife
// analyses, one line each, for scripts/tshark_compare.py (a test/debug tool,
// not part of the product):
//   frame <TAB> connection id <TAB> c>s|s>c <TAB> classes <TAB> wireshark-rule classes
//   <TAB> dup-ACK number <TAB> deviation <TAB> payload length
// Class lists are comma-separated names (analyze::seg_class_name) or "-".
// The last line is `#read <TAB> N`: packets read (frames numbered 1..N).
#include <cstdio>
#include <memory>
#include <string>

#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/decode/decode.hpp"
#include "tcplife/source/packet_source.hpp"
#include "tcplife/tcp/tracker.hpp"

namespace {

using namespace tcplife;

std::string class_list(std::uint32_t bits) {
  std::string out;
  for (std::size_t i = 0; i < analyze::kSegClasses; ++i) {
    if ((bits & (1u << i)) == 0) continue;
    if (!out.empty()) out += ',';
    out += analyze::seg_class_name(static_cast<analyze::SegClass>(i));
  }
  return out.empty() ? "-" : out;
}

class Printer final : public analyze::VerdictSink {
 public:
  void on_verdict(const tcp::Connection& c, tcp::Side from, const decode::Segment& seg,
                  const analyze::SegmentVerdict& v) override {
    std::printf("%llu\t%llu\t%s\t%s\t%s\t%u\t%s\t%u\n",
                static_cast<unsigned long long>(seg.index + 1),
                static_cast<unsigned long long>(c.id), from == c.client ? "c>s" : "s>c",
                class_list(v.classes).c_str(), class_list(v.wireshark).c_str(), v.dupack_num,
                std::string(analyze::deviation_name(v.deviation)).c_str(), seg.payload_len);
  }
};

class NullSink final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tcplife_classify FILE\n");
    return 2;
  }
  source::OpenError err;
  std::unique_ptr<source::PacketSource> src = source::open_file(argv[1], err);
  if (!src) {
    std::fprintf(stderr, "tcplife_classify: %s\n", err.message.c_str());
    return 1;
  }
  Printer printer;
  NullSink sink;
  analyze::SeqAnalyzer analyzer(&printer);
  // Verdicts in capture order: no deferred handshake segments.
  tcp::TrackerOptions topts;
  topts.compact_handshakes = false;
  tcp::Tracker tracker(topts, sink, &analyzer);
  core::PacketView pkt;
  decode::Segment seg;
  unsigned long long read = 0;
  while (src->next(pkt) == source::ReadStatus::Packet) {
    ++read;
    if (decode::decode(pkt, seg) == decode::Status::Ok) tracker.process(seg);
  }
  tracker.finish();
  std::printf("#read\t%llu\n", read);
  return 0;
}
