// SPDX-License-Identifier: MIT
// Zeek conn.log (TSV) output: the header lines and columns of Zeek's conn.log,
// each filled by Zeek's rules, so zeek-cut and conn.log readers take it as is.
#include <ostream>

#include "output/facts.hpp"
#include "output/zeek_sink.hpp"
#include "tcplife/output/json_writer.hpp"
#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::output {
namespace {

// Zeek-style uid: "C" + 17 base62 characters, derived from the connection id
// (deterministic: the same input gives the same uids).
std::string make_uid(std::uint64_t id) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uint64_t h = id * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  std::string uid = "C";
  std::uint64_t x = h;
  for (int i = 0; i < 17; ++i) {
    uid.push_back(kAlphabet[x % 62]);
    x /= 62;
    if (x == 0) x = h ^ (static_cast<std::uint64_t>(i) + 1u) * 0x94d049bb133111ebULL;
  }
  return uid;
}

class ZeekSink final : public Sink {
 public:
  ZeekSink(std::ostream& out, bool stream) : out_(out), stream_(stream) {}

  void begin(const RunInfo&) override {
    out_ << "#separator \\x09\n"
            "#set_separator\t,\n"
            "#empty_field\t(empty)\n"
            "#unset_field\t-\n"
            "#path\tconn\n"
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
            "duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\t"
            "history\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
            "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";
  }

  void on_connection(const tcp::Connection& c) override {
    std::uint64_t n = 0;
    tcp::for_each_zeek_row(c, [&](const tcp::ZeekRowView& row) {
      write_row(c, zeek::conn_log_row(row), c.id * 64 + n++);
    });
    if (stream_) out_.flush();
  }

  void write_row(const tcp::Connection& c, const zeek::ConnLogRow& r, std::uint64_t uid_seed) {
    line_.clear();
    append_seconds(line_, r.ts.ns, 6);
    line_ += '\t' + make_uid(uid_seed);
    line_ += '\t' + core::to_string(c.key.addr(r.orig)) + '\t' + std::to_string(c.key.port(r.orig));
    const tcp::Side resp = flow::other(r.orig);
    line_ += '\t' + core::to_string(c.key.addr(resp)) + '\t' + std::to_string(c.key.port(resp));
    line_ += "\ttcp\t-\t";
    if (r.duration_ns > 0) {
      append_seconds(line_, r.duration_ns, 6);
      line_ += '\t' + std::to_string(r.orig_bytes) + '\t' + std::to_string(r.resp_bytes);
    } else {
      line_ += "-\t-\t-";
    }
    line_ += '\t' + std::string(r.conn_state) + "\t-\t-\t" + std::to_string(r.missed_bytes);
    line_ += '\t' + (r.history.empty() ? std::string("-") : r.history);
    line_ += '\t' + std::to_string(r.orig_pkts) + '\t' + std::to_string(r.orig_ip_bytes);
    line_ += '\t' + std::to_string(r.resp_pkts) + '\t' + std::to_string(r.resp_ip_bytes);
    line_ += "\t-\n";
    out_ << line_;
  }

  void end(const RunSummary&) override { out_.flush(); }

 private:
  std::ostream& out_;
  bool stream_;
  std::string line_;
};

}  // namespace

namespace zeek {

ConnLogRow conn_log_row(const tcp::ZeekRowView& row) {
  const tcp::ZeekShadow& z = row.z;
  const std::size_t o = flow::idx(z.orig), p = flow::idx(flow::other(z.orig));
  ConnLogRow r;
  r.orig = z.orig;
  r.ts = row.n.start_time;
  r.duration_ns = z.last_time - row.n.start_time;
  r.orig_bytes = tcp::zeek_size(z, z.orig);
  r.resp_bytes = tcp::zeek_size(z, flow::other(z.orig));
  r.conn_state = tcp::zeek_conn_state(z);
  r.history = z.history.view();
  const tcp::ZeekRare::Endpoint* om = z.find_rare(z.orig);
  const tcp::ZeekRare::Endpoint* pm = z.find_rare(flow::other(z.orig));
  r.missed_bytes = (om != nullptr ? om->missed : 0) + (pm != nullptr ? pm->missed : 0);
  r.orig_pkts = row.n.pkts[o];
  r.orig_ip_bytes = row.n.ip_bytes[o];
  r.resp_pkts = row.n.pkts[p];
  r.resp_ip_bytes = row.n.ip_bytes[p];
  return r;
}

}  // namespace zeek

std::unique_ptr<Sink> make_zeek_sink(std::ostream& out, bool stream) {
  return std::make_unique<ZeekSink>(out, stream);
}

}  // namespace tcplife::output
