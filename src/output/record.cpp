// SPDX-License-Identifier: MIT
// The JSON record of one connection instance (schema tcplife/1).
#include <algorithm>
#include <pcap/pcap.h>

#include "output/analysis_json.hpp"
#include "output/facts.hpp"
#include "tcplife/output/json_writer.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/tcp/zeek_view.hpp"

namespace tcplife::output {
namespace {

using tcp::Connection;
using tcp::Endpoint;
using tcp::Side;

void endpoint_addr(JsonWriter& w, const Connection& c, Side s) {
  w.begin_object()
      .kv("ip", core::to_string(c.key.addr(s)))
      .kv_unum("port", c.key.port(s))
      .end_object();
}

void options(JsonWriter& w, const Endpoint& e) {
  if (!e.opts.seen) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("mss");
  if (e.opts.mss_present) w.unum(e.opts.mss); else w.null();
  w.key("wscale");
  if (e.opts.wscale_present) w.unum(e.opts.wscale); else w.null();
  w.kv("sack_permitted", e.opts.sack_permitted)
      .kv("timestamps", e.opts.timestamps)
      .kv("tfo", e.opts.tfo)
      .end_object();
}

void data_side(JsonWriter& w, const Connection& c, Side s) {
  const Endpoint& e = c.at(s);
  const SideBytes b = side_bytes(c, s);
  w.begin_object()
      .kv_unum("packets", e.packets)
      .kv_unum("payload_bytes", b.payload)
      .kv_unum("unique_bytes_seen", b.seen)
      .kv_unum("missed_bytes", b.missed)
      .kv_unum("retransmitted_bytes", e.retransmitted_bytes)
      .kv_unum("wire_payload_bytes", e.wire_payload)
      .kv_unum("ip_bytes", e.ip_bytes)
      .kv("gaps_approximate", e.data.approximate())
      .end_object();
}

void state_durations(JsonWriter& w, const Connection& c, Side s) {
  const Endpoint& e = c.at(s);
  w.begin_object();
  for (std::size_t i = 0; i < tcp::kTcpStates; ++i) {
    const auto st = static_cast<tcp::TcpState>(i);
    const std::int64_t ns = c.state_ns(s, st);
    if (ns > 0 || st == e.state) w.key(tcp::state_name(st)).seconds(ns);
  }
  w.end_object();
}

void handshake(JsonWriter& w, const Connection& c) {
  const tcp::Handshake& hs = c.hs;
  const Endpoint& cl = c.at(c.client);
  const Endpoint& sv = c.at(c.server());
  w.key("handshake").begin_object();
  w.kv("complete", handshake_complete(c))
      .kv("validated", handshake_complete(c) && hs.synack_valid && hs.ack_valid)
      .kv("synack_ack_valid", hs.synack_valid)
      .kv("final_ack_valid", hs.ack_valid)
      .kv("refused", c.rst().seen && !c.rst().undone && c.rst().refused)
      .kv("simultaneous_open", hs.simultaneous)
      .kv_unum("syn_retransmits", c.count_of(tcp::AnomalyKind::SynRetransmit))
      .kv_unum("synack_retransmits", c.count_of(tcp::AnomalyKind::SynackRetransmit))
      .kv_unum("syn_data_bytes", hs.syn_data_bytes)
      .kv("syn_data_acked", hs.syn_data_acked);
  w.key("syn_ts");
  if (hs.syn_seen) w.time(hs.syn_ts); else w.null();
  w.key("synack_ts");
  if (hs.synack_seen) w.time(hs.synack_ts); else w.null();
  w.key("ack_ts");
  if (hs.ack_seen) w.time(hs.ack_ts); else w.null();
  w.key("rtt").begin_object();
  w.key("syn_to_synack");
  if (hs.syn_seen && hs.synack_seen) w.seconds(hs.synack_ts - hs.syn_ts); else w.null();
  w.key("synack_to_ack");
  if (hs.synack_seen && hs.ack_seen) w.seconds(hs.ack_ts - hs.synack_ts); else w.null();
  w.key("total");
  if (hs.syn_seen && hs.ack_seen) w.seconds(hs.ack_ts - hs.syn_ts); else w.null();
  w.end_object();
  w.key("isn").begin_object();
  w.key("client");
  if (cl.isn_known)
    w.unum(cl.isn());
  else
    w.null();
  w.key("server");
  if (sv.isn_known)
    w.unum(sv.isn());
  else
    w.null();
  w.end_object();
  w.key("options").begin_object();
  w.key("client");
  options(w, cl);
  w.key("server");
  options(w, sv);
  w.kv("window_scaling", cl.opts.wscale_present && sv.opts.wscale_present);
  w.end_object();
  w.end_object();
}

void teardown(JsonWriter& w, const Connection& c) {
  w.key("teardown").begin_object();
  w.kv("kind", tcp::close_kind_name(tcp::close_kind(c)));
  w.key("first_fin_by");
  if (c.td().fin_seen)
    w.str(role_of(c, c.td().first_fin_by));
  else
    w.null();
  w.kv("time_wait", time_wait_side(c));
  w.kv_unum("fin_retransmits", c.td().fin_retransmits);
  w.key("half_close");
  const HalfClose hc = half_close(c);
  if (hc.present) {
    w.begin_object()
        .kv("by", role_of(c, hc.by))
        .kv_unum("bytes_after", hc.bytes_after)
        .key("duration").seconds(hc.duration_ns)
        .end_object();
  } else {
    w.null();
  }
  w.key("rst");
  if (c.rst().count > 0 || c.rst().seen) {
    w.begin_object();
    w.key("by");
    if (c.rst().seen)
      w.str(role_of(c, c.rst().by));
    else
      w.null();
    w.kv_unum("count", c.rst().count);
    w.key("ts");
    if (c.rst().seen)
      w.time(c.rst().ts);
    else
      w.null();
    w.key("frame");
    if (c.rst().seen)
      w.unum(c.rst().frame);
    else
      w.null();
    w.kv("believed", c.rst().seen && !c.rst().undone)
        .kv("in_window", c.rst().seen && c.rst().in_window)
        .kv("exact", c.rst().seen && c.rst().exact)
        .kv("ignored_by_receiver", c.rst().undone);
    w.key("states");
    if (c.rst().seen) {
      w.begin_object()
          .kv("sender", tcp::state_name(c.rst().sender_state))
          .kv("receiver", tcp::state_name(c.rst().receiver_state))
          .end_object();
    } else {
      w.null();
    }
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
}

void events(JsonWriter& w, const Connection& c) {
  w.key("events").begin_array();
  for (const tcp::Event& ev : c.events()) {
    w.begin_object()
        .key("t").time(ev.ts)
        .kv_unum("frame", ev.frame)
        .kv("dir", ev.from == c.client ? "c>s" : "s>c")
        .kv("what", tcp::event_name(ev.kind))
        .kv("flags", flags_string(ev.flags))
        .kv_num("seq", ev.rel_seq)
        .kv_num("ack", ev.rel_ack)
        .kv_unum("len", ev.len)
        .kv_unum("packets", ev.count)
        .kv("client_state", tcp::state_name(c.client == Side::Lo ? ev.state_lo : ev.state_hi))
        .kv("server_state", tcp::state_name(c.client == Side::Lo ? ev.state_hi : ev.state_lo))
        .end_object();
  }
  w.end_array();
  w.kv_unum("events_dropped", c.events_dropped());
}

void anomalies(JsonWriter& w, const Connection& c) {
  // Counts per kind in catalogue order, deterministic.
  w.key("anomaly_counts").begin_object();
  for (std::size_t k = 0; k < tcp::kAnomalyKinds; ++k) {
    const std::uint32_t n = c.count_of(static_cast<tcp::AnomalyKind>(k));
    if (n > 0) w.kv_unum(tcp::anomaly_name(static_cast<tcp::AnomalyKind>(k)), n);
  }
  w.end_object();
  std::vector<const tcp::Anomaly*> list;
  list.reserve(c.anomalies().size());
  for (const tcp::Anomaly& a : c.anomalies()) list.push_back(&a);
  std::stable_sort(list.begin(), list.end(),
                   [](const tcp::Anomaly* a, const tcp::Anomaly* b) { return a->frame < b->frame; });
  w.key("anomalies").begin_array();
  for (const tcp::Anomaly* a : list) {
    w.begin_object()
        .kv("kind", tcp::anomaly_name(a->kind))
        .kv_unum("frame", a->frame)
        .key("t").time(a->ts)
        .kv("dir", a->from == c.client ? "c>s" : "s>c")
        .kv("detail", anomaly_detail(*a))
        .end_object();
  }
  w.end_array();
}

}  // namespace

void write_connection_json(std::string& out, const Connection& c, const OutputOptions& opts,
                           KeyPacker* keys) {
  JsonWriter w(out, keys);
  w.begin_object();
  w.kv_unum("id", c.id).kv_unum("instance", c.instance);
  w.kv("instance_reason", tcp::new_instance_reason_name(c.new_reason));
  w.key("client");
  endpoint_addr(w, c, c.client);
  w.key("server");
  endpoint_addr(w, c, c.server());
  w.kv("roles_guessed", c.roles_guessed).kv("role_reason", tcp::role_reason_name(c.role_reason));
  w.key("first_ts").time(c.first_ts).key("last_ts").time(c.last_ts);
  w.key("duration").seconds(c.last_ts - c.first_ts);
  w.kv_unum("first_frame", c.first_frame).kv_unum("last_frame", c.last_frame);
  w.kv("outcome", outcome_name(c));
  w.kv("end_reason", tcp::end_reason_name(c.end_reason));
  handshake(w, c);
  w.key("data").begin_object();
  w.key("client");
  data_side(w, c, c.client);
  w.key("server");
  data_side(w, c, c.server());
  w.end_object();
  teardown(w, c);
  w.key("final_state")
      .begin_object()
      .kv("client", tcp::state_name(c.at(c.client).state))
      .kv("server", tcp::state_name(c.at(c.server()).state))
      .end_object();
  if (opts.full_events) {
    w.key("state_durations").begin_object();
    w.key("client");
    state_durations(w, c, c.client);
    w.key("server");
    state_durations(w, c, c.server());
    w.end_object();
  }
  w.kv("conn_state", tcp::zeek_conn_state(c));
  w.kv("history", tcp::zeek_history(c));
  w.key("tunnel");
  if (c.tunnel().kind != decode::TunnelKind::None) {
    w.begin_object()
        .kv("kind", tunnel_name(c.tunnel().kind))
        .kv_unum("depth", c.tunnel().depth)
        .kv("outer_src", core::to_string(c.tunnel().outer_src))
        .kv("outer_dst", core::to_string(c.tunnel().outer_dst))
        .kv_unum("id", c.tunnel().id)
        .end_object();
  } else {
    w.null();
  }
  w.key("vlan");
  if (c.vlan != decode::kNoVlan) w.unum(c.vlan); else w.null();
  write_analysis_json(w, c);
  if (opts.full_events) events(w, c);
  anomalies(w, c);
  w.end_object();
}

std::string linktype_name(int dlt) {
  if (dlt == 101) dlt = DLT_RAW;  // LINKTYPE_RAW as pcapng files carry it
  const char* n = pcap_datalink_val_to_name(dlt);
  return n != nullptr ? std::string(n) : "DLT_" + std::to_string(dlt);
}

}  // namespace tcplife::output
