// SPDX-License-Identifier: MIT
#include "tcplife/decode/decode.hpp"

#include <pcap/pcap.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/packet_builder.hpp"

namespace Catch {
template <>
struct StringMaker<tcplife::decode::Status> {
  static std::string convert(tcplife::decode::Status s) {
    return std::string(tcplife::decode::status_name(s));
  }
};
template <>
struct StringMaker<tcplife::core::IpAddr> {
  static std::string convert(const tcplife::core::IpAddr& a) { return tcplife::core::to_string(a); }
};
}  // namespace Catch

namespace {

using namespace tcplife;
using namespace tcplife::test;
using decode::Checksum;
using decode::Segment;
using decode::Status;
using decode::TunnelKind;

Status run(const Frame& f, Segment& s, bool verify = false) {
  decode::DecodeOptions o;
  o.verify_checksum = verify;
  return decode::decode(f.view(), s, o);
}
Status run(const Frame& f, bool verify = false) {
  Segment s;
  return run(f, s, verify);
}
// "name: status", so a failing CHECK in a loop says which case failed.
std::string tagged(const std::string& name, Status s) {
  return name + ": " + std::string(decode::status_name(s));
}
std::string run_tagged(const std::string& name, const Frame& f, bool verify = false) {
  return tagged(name, run(f, verify));
}

const Tcp kSeg{.sport = 1234,
               .dport = 80,
               .seq = 0x01020304,
               .ack = 0x0a0b0c0d,
               .flags = flag::kAck | flag::kPsh,
               .window = 512,
               .urgent = 0,
               .payload_len = 10};

void check_tcp(const Segment& s, const Tcp& t) {
  CHECK(s.sport == t.sport);
  CHECK(s.dport == t.dport);
  CHECK(s.seq == t.seq);
  CHECK(s.ack == t.ack);
  CHECK(s.flags == t.flags);
  CHECK(s.window == t.window);
  const std::size_t len = t.payload.empty() ? t.payload_len : t.payload.size();
  CHECK(s.payload_len == len);
  CHECK(s.payload.size() == len);
}

bool is_truncated(Status s) {
  return s == Status::LinkTruncated || s == Status::IpTruncated || s == Status::TcpTruncated;
}

// Valid frames over every link type and encapsulation, for the property tests.
std::vector<std::pair<std::string, Frame>> corpus() {
  const Tcp t = kSeg;
  const Tcp syn{.sport = 5555,
                .dport = 443,
                .seq = 7,
                .flags = flag::kSyn,
                .options = TcpOpts{}.mss(1460).sack_perm().ts(1, 0).nop().ws(7)};
  std::vector<std::pair<std::string, Frame>> v;
  v.emplace_back("eth4", build(Eth{}, Ipv4{}, t));
  v.emplace_back("eth4 syn", build(Eth{}, Ipv4{}, syn));
  v.emplace_back("eth6 syn", build(Eth{}, Ipv6{}, syn));
  v.emplace_back("eth4 options", build(Eth{}, Ipv4{.options = {1, 1, 0x94, 4, 0, 0}}, t));
  v.emplace_back("eth4 padded", build(Eth{.pad_to_min = true}, Ipv4{}, Tcp{}));
  v.emplace_back("eth4 tso", build(Eth{}, Ipv4{.total_len = 0}, t));
  v.emplace_back("null le", build(Null{}, Ipv4{}, t));
  v.emplace_back("null be v6", build(Null{.af = 30, .big_endian = true}, Ipv6{}, t));
  v.emplace_back("loop", build(Loop{}, Ipv6{}, t));
  v.emplace_back("raw", build(Raw{}, Ipv4{}, t));
  v.emplace_back("raw 229", build(Raw{.linktype = 229}, Ipv6{}, t));
  v.emplace_back("sll", build(Sll{}, Ipv4{}, t));
  v.emplace_back("sll2", build(Sll2{}, Ipv6{}, t));
  v.emplace_back("nflog", build(Nflog{}, Ipv4{}, t));
  v.emplace_back("nflog be", build(Nflog{.big_endian = true}, Ipv6{}, t));
  v.emplace_back("ppp", build(Ppp{}, Ipv4{}, t));
  v.emplace_back("chdlc", build(CHdlc{}, Ipv6{}, t));
  v.emplace_back("qinq", build(Eth{}, Vlan{.vid = 10, .tpid = 0x88A8}, Vlan{.vid = 20}, Ipv4{}, t));
  v.emplace_back("mpls", build(Eth{}, Vlan{}, Mpls{}, Mpls{.label = 17}, Ipv6{}, t));
  v.emplace_back("pppoe", build(Eth{}, Pppoe{}, Ipv4{}, t));
  v.emplace_back("snap", build(Eth{}, Snap{}, Ipv4{}, t));
  v.emplace_back("ipv6 ext",
                 build(Eth{},
                       Ipv6{.ext = {hop_by_hop(), routing_ext(4, 1, {"2001:db8::9"}),
                                    fragment_ext(0, false), ah_ext(), dest_opts({1, 2, 0, 0})}},
                       t));
  v.emplace_back(
      "ipv6 jumbo",
      build(Eth{}, Ipv6{.ext = {hop_by_hop(jumbo_option(8 + 20 + 10))}, .payload_len = 0}, t));
  v.emplace_back("ipv6 plen 0", build(Eth{}, Ipv6{.payload_len = 0}, t));
  v.emplace_back("4in6", build(Eth{}, Ipv6{}, Ipv4{}, t));
  v.emplace_back("6in4", build(Eth{}, Ipv4{}, Ipv6{}, t));
  v.emplace_back("gre", build(Eth{}, Ipv4{}, Gre{.checksum = true, .key = 5, .seq = 9}, Ipv4{}, t));
  v.emplace_back("gre teb", build(Eth{}, Ipv6{}, Gre{}, Eth{}, Vlan{}, Ipv4{}, t));
  v.emplace_back("pptp", build(Eth{}, Ipv4{}, Gre{.version = 1, .seq = 1, .ack = 2, .call_id = 3},
                               Ppp{}, Ipv4{}, t));
  v.emplace_back("erspan3", build(Eth{}, Ipv4{}, Gre{},
                                  Erspan{.type = 3, .platform_subheader = true}, Eth{}, Ipv4{}, t));
  v.emplace_back("vxlan", build(Eth{}, Ipv4{}, Udp{}, Vxlan{}, Eth{}, Ipv4{}, t));
  v.emplace_back("vxlan-gpe", build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{}, Ipv6{}, t));
  v.emplace_back("geneve", build(Eth{}, Ipv6{}, Udp{.dport = 6081}, Geneve{.options = Buf(8, 1)},
                                 Eth{}, Ipv4{}, t));
  v.emplace_back("teredo",
                 build(Eth{}, Ipv4{}, Udp{.sport = 3544, .dport = 40000},
                       TeredoAuth{.client_id = {1, 2}, .auth = {3}}, TeredoOrigin{}, Ipv6{}, t));
  return v;
}

}  // namespace

TEST_CASE("decode: status names are stable snake_case, one per status", "[decode]") {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < decode::kStatusCount; ++i) {
    const std::string name(decode::status_name(static_cast<Status>(i)));
    CHECK(!name.empty());
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") == std::string::npos);
    CHECK(seen.insert(name).second);
  }
  CHECK(decode::status_name(Status::Ok) == "ok");
  CHECK(decode::status_name(Status::UnsupportedLinkType) == "unsupported_link_type");
  CHECK(decode::status_name(Status::NotIp) == "not_ip");
  CHECK(decode::status_name(Status::NotTcp) == "not_tcp");
  CHECK(decode::status_name(Status::IpFragment) == "ip_fragment");
  CHECK(decode::status_name(Status::UnsupportedTunnel) == "unsupported_tunnel");
  CHECK(decode::status_name(Status::LinkTruncated) == "link_truncated");
  CHECK(decode::status_name(Status::IpTruncated) == "ip_truncated");
  CHECK(decode::status_name(Status::TcpTruncated) == "tcp_truncated");
  CHECK(decode::status_name(Status::IpBadVersion) == "ip_bad_version");
  CHECK(decode::status_name(Status::IpBadHeaderLen) == "ip_bad_header_len");
  CHECK(decode::status_name(Status::IpBadTotalLen) == "ip_bad_total_len");
  CHECK(decode::status_name(Status::Ipv6BadExtHeader) == "ipv6_bad_ext_header");
  CHECK(decode::status_name(Status::TcpBadHeaderLen) == "tcp_bad_header_len");
  CHECK(decode::status_name(Status::TooManyLayers) == "too_many_layers");
  CHECK(decode::status_name(Status::LinkMalformed) == "link_malformed");
  CHECK(decode::status_name(Status::TunnelMalformed) == "tunnel_malformed");
}

TEST_CASE("decode: linktype_supported lists the decoded link types", "[decode]") {
  for (int lt : {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 276}) {
    CHECK(decode::linktype_supported(lt));
  }
  for (int lt : {-1, 2, 6, 105, 127, 147, 192, 220, 1000}) {
    CHECK_FALSE(decode::linktype_supported(lt));
  }
  Frame f = tcp4("10.0.0.1", "10.0.0.2", kSeg);
  f.linktype = 127;  // radiotap
  CHECK(run(f) == Status::UnsupportedLinkType);
}

TEST_CASE("decode: Ethernet IPv4 TCP fields are decoded", "[decode]") {
  const Tcp t{.sport = 40001,
              .dport = 443,
              .seq = 0xfffffff0,
              .ack = 0x80000001,
              .flags = flag::kAck | flag::kFin | flag::kUrg,
              .window = 1024,
              .urgent = 3,
              .payload = {'h', 'e', 'l', 'l', 'o'}};
  Frame f = build(Eth{}, Ipv4{.src = "10.1.2.3", .dst = "172.16.0.9", .ttl = 17, .id = 4321}, t);
  f.ts = core::Timestamp{1'700'000'000'123'456'789};
  f.index = 41;
  Segment s;
  REQUIRE(run(f, s) == Status::Ok);
  check_tcp(s, t);
  CHECK(s.ts == f.ts);
  CHECK(s.index == 41);
  CHECK(s.wire_len == f.bytes.size());
  CHECK(s.ip_version == 4);
  CHECK(s.src == ip("10.1.2.3"));
  CHECK(s.dst == ip("172.16.0.9"));
  CHECK(s.src.is_v4());
  CHECK(s.ttl == 17);
  CHECK(s.ip_id == 4321);
  CHECK(s.ip_total_len == 20 + 20 + 5);
  CHECK(s.urgent == 3);
  CHECK(s.header_len == 20);
  CHECK(std::string(s.payload.begin(), s.payload.end()) == "hello");
  CHECK(s.payload.data() == f.bytes.data() + 54);
  CHECK(s.has(flag::kFin));
  CHECK_FALSE(s.has(flag::kSyn));
  CHECK(s.checksum == Checksum::NotChecked);
  CHECK(s.vlan_outer == decode::kNoVlan);
  CHECK(s.vlan_inner == decode::kNoVlan);
  CHECK(s.tunnel.kind == TunnelKind::None);
  CHECK(s.tunnel.depth == 0);
}

TEST_CASE("decode: Ethernet IPv6 TCP fields are decoded", "[decode]") {
  Segment s;
  REQUIRE(run(build(Eth{}, Ipv6{.src = "2001:db8::a", .dst = "fe80::1", .hop_limit = 3}, kSeg),
              s) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(s.ip_version == 6);
  CHECK(s.src == ip("2001:db8::a"));
  CHECK(s.dst == ip("fe80::1"));
  CHECK_FALSE(s.src.is_v4());
  CHECK(s.ttl == 3);
  CHECK(s.ip_id == 0);
  CHECK(s.ip_total_len == 40 + 20 + 10);
}

TEST_CASE("decode: the AE flag (old NS bit) is flag 0x100", "[decode]") {
  Segment s;
  REQUIRE(run(tcp4("10.0.0.1", "10.0.0.2",
                   {.flags = flag::kAe | flag::kCwr | flag::kEce | flag::kSyn | flag::kRst}),
              s) == Status::Ok);
  CHECK(s.flags == (flag::kAe | flag::kCwr | flag::kEce | flag::kSyn | flag::kRst));
  CHECK(s.has(flag::kAe));
}

TEST_CASE("decode: every supported link type carries IPv4 and IPv6", "[decode]") {
  auto pair_of = [](const std::string& name, const Layer& link) {
    return std::vector<std::pair<std::string, Frame>>{
        {name + "/v4", build(link, Ipv4{.src = "10.9.8.7"}, kSeg)},
        {name + "/v6", build(link, Ipv6{.src = "2001:db8::77"}, kSeg)}};
  };
  std::vector<std::pair<std::string, Frame>> cases;
  for (const auto& [name, link] : std::vector<std::pair<std::string, Layer>>{
           {"eth", Eth{}},
           {"null le", Null{}},
           {"null be", Null{.big_endian = true}},
           {"loop", Loop{}},
           {"loop le", Null{}},
           {"raw12", Raw{.linktype = 12}},
           {"raw14", Raw{.linktype = 14}},
           {"raw101", Raw{.linktype = 101}},
           {"sll", Sll{}},
           {"sll2", Sll2{}},
           {"nflog le", Nflog{}},
           {"nflog be", Nflog{.big_endian = true}},
           {"nflog no tlvs", Nflog{.tlvs = {}}},
           {"nflog family 0", Nflog{.family = 0}},
           {"ppp", Ppp{}},
           {"ppp bare", Ppp{.addr_ctrl = false}},
           {"ppp pfc", Ppp{.compress = true}},
           {"chdlc", CHdlc{}},
       }) {
    for (auto& c : pair_of(name, link)) cases.push_back(std::move(c));
  }
  for (std::uint32_t af : {24u, 28u, 30u, 10u}) {
    cases.emplace_back("null af6 " + std::to_string(af), build(Null{.af = af}, Ipv6{}, kSeg));
    cases.emplace_back("null be af6 " + std::to_string(af),
                       build(Null{.af = af, .big_endian = true}, Ipv6{}, kSeg));
    cases.emplace_back("loop af6 " + std::to_string(af), build(Loop{.af = af}, Ipv6{}, kSeg));
  }
  Frame dlt_loop = build(Null{.big_endian = true}, Ipv4{}, kSeg);
  dlt_loop.linktype = 108;
  cases.emplace_back("loop as 108", dlt_loop);
  cases.emplace_back("ipv4 228", build(Raw{.linktype = 228}, Ipv4{}, kSeg));
  cases.emplace_back("ipv6 229", build(Raw{.linktype = 229}, Ipv6{}, kSeg));
  Frame ppp_serial = build(Ppp{}, Ipv4{}, kSeg);
  ppp_serial.linktype = 50;
  cases.emplace_back("ppp serial", ppp_serial);
  Frame chdlc_serial = build(CHdlc{.address = 0x8F}, Ipv6{}, kSeg);
  chdlc_serial.linktype = 50;
  cases.emplace_back("ppp serial chdlc", chdlc_serial);

  for (const auto& [name, f] : cases) {
    Segment s;
    const Status st = run(f, s, true);
    CHECK(tagged(name, st) == name + ": ok");
    if (st != Status::Ok) continue;
    check_tcp(s, kSeg);
    CHECK(s.checksum == Checksum::Good);
  }
  Segment s;
  REQUIRE(run(build(Nflog{}, Ipv4{.src = "10.9.8.7"}, kSeg), s) == Status::Ok);
  CHECK(s.src == ip("10.9.8.7"));
}

TEST_CASE("decode: link layers that do not carry IP are not_ip", "[decode]") {
  const Payload arp{.bytes = Buf(28, 1), .ethertype = 0x0806};
  std::vector<std::pair<std::string, Frame>> cases{
      {"eth arp", build(Eth{}, arp)},
      {"eth lldp", build(Eth{}, Payload{.bytes = Buf(30, 2), .ethertype = 0x88CC})},
      {"eth type 0x0580", build(Eth{.type = 0x0580}, Ipv4{}, kSeg)},
      {"802.3 stp", build(Eth{.type = 38}, Payload{.bytes = Buf{0x42, 0x42, 0x03, 0, 0, 0}})},
      {"snap cisco oui", build(Eth{}, Snap{.oui = {0, 0, 0x0C}, .type = 0x2000}, Ipv4{}, kSeg)},
      {"snap arp", build(Eth{}, Snap{}, arp)},
      {"vlan arp", build(Eth{}, Vlan{}, arp)},
      {"pppoe discovery", build(Eth{.type = 0x8863}, Payload{.bytes = Buf(20, 0)})},
      {"pppoe lcp", build(Eth{}, Pppoe{.ppp_proto = 0xC021}, Payload{.bytes = Buf(10, 0)})},
      {"pppoe bad version", build(Eth{}, Pppoe{.ver_type = 0x21}, Ipv4{}, kSeg)},
      {"ppp lcp", build(Ppp{}, Payload{.bytes = Buf(10, 0)})},
      {"ppp bad control", build(Ppp{.addr_ctrl = false, .proto = 0xFF05}, Ipv4{}, kSeg)},
      {"null af 7", build(Null{.af = 7}, Ipv4{}, kSeg)},
      {"loop af 99", build(Loop{.af = 99}, Ipv4{}, kSeg)},
      {"sll arp", build(Sll{}, arp)},
      {"sll novell", build(Sll{.protocol = 1}, Ipv4{}, kSeg)},
      {"sll netlink", build(Sll{.hatype = 824, .protocol = 0x0800}, Ipv4{}, kSeg)},
      {"sll2 arp", build(Sll2{}, arp)},
      {"chdlc slarp", build(CHdlc{.type = 0x8035}, Payload{.bytes = Buf(20, 0)})},
      {"mpls nibble 5", build(Eth{}, Mpls{}, Payload{.bytes = {0x50, 0, 0, 0}})},
  };
  for (const auto& [name, f] : cases) CHECK(run_tagged(name, f) == name + ": not_ip");
}

TEST_CASE("decode: a wrong IP version is ip_bad_version", "[decode]") {
  CHECK(run(build(Raw{}, Ipv4{.version = 5}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Raw{}, Payload{.bytes = Buf(40, 0)})) == Status::IpBadVersion);
  CHECK(run(build(Raw{.linktype = 228}, Ipv6{}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Raw{.linktype = 229}, Ipv4{}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Eth{.type = 0x0800}, Ipv6{}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Eth{.type = 0x86DD}, Ipv4{}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Null{.af = 2}, Ipv6{}, kSeg)) == Status::IpBadVersion);
  CHECK(run(build(Eth{}, Ipv4{}, Ipv4{.version = 6}, kSeg)) == Status::IpBadVersion);
}

TEST_CASE("decode: truncated link headers are link_truncated", "[decode]") {
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(13)) == Status::LinkTruncated);
  CHECK(run(build(Sll{}, Ipv4{}, kSeg).snap(15)) == Status::LinkTruncated);
  CHECK(run(build(Sll2{}, Ipv4{}, kSeg).snap(19)) == Status::LinkTruncated);
  CHECK(run(build(Null{}, Ipv4{}, kSeg).snap(3)) == Status::LinkTruncated);
  CHECK(run(build(Nflog{}, Ipv4{}, kSeg).snap(10)) == Status::LinkTruncated);
  CHECK(run(build(Eth{}, Vlan{}, Ipv4{}, kSeg).snap(16)) == Status::LinkTruncated);
  CHECK(run(build(Raw{}, Ipv4{}, kSeg).snap(0)) == Status::IpTruncated);
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(14)) == Status::IpTruncated);
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(33)) == Status::IpTruncated);
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(34)) == Status::TcpTruncated);
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(53)) == Status::TcpTruncated);
  CHECK(run(build(Eth{}, Ipv4{}, kSeg).snap(54)) == Status::Ok);
}

TEST_CASE("decode: VLAN tags record the first two ids", "[decode]") {
  Segment s;
  SECTION("one 802.1Q tag") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 100, .pcp = 5}, Ipv4{}, kSeg), s) == Status::Ok);
    CHECK(s.vlan_outer == 100);
    CHECK(s.vlan_inner == decode::kNoVlan);
  }
  SECTION("QinQ: an 802.1ad S-tag then a C-tag") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 300, .tpid = 0x88A8}, Vlan{.vid = 4094}, Ipv6{}, kSeg),
                s) == Status::Ok);
    CHECK(s.vlan_outer == 300);
    CHECK(s.vlan_inner == 4094);
    check_tcp(s, kSeg);
  }
  SECTION("old 0x9100 QinQ") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 1, .tpid = 0x9100}, Vlan{.vid = 2}, Ipv4{}, kSeg), s) ==
            Status::Ok);
    CHECK(s.vlan_outer == 1);
    CHECK(s.vlan_inner == 2);
  }
  SECTION("three tags: only the first two are kept") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 1, .tpid = 0x88A8}, Vlan{.vid = 2, .tpid = 0x88A8},
                      Vlan{.vid = 3}, Ipv4{}, kSeg),
                s) == Status::Ok);
    CHECK(s.vlan_outer == 1);
    CHECK(s.vlan_inner == 2);
  }
  SECTION("a priority tag has VLAN id 0") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 0, .pcp = 6}, Ipv4{}, kSeg), s) == Status::Ok);
    CHECK(s.vlan_outer == 0);
  }
  SECTION("a tag in SLL, as Linux reinserts it") {
    REQUIRE(run(build(Sll{}, Vlan{.vid = 55}, Ipv4{}, kSeg), s) == Status::Ok);
    CHECK(s.vlan_outer == 55);
  }
  SECTION("a tag before an 802.3 length and SNAP") {
    REQUIRE(run(build(Eth{}, Vlan{.vid = 9}, Snap{}, Ipv4{}, kSeg), s) == Status::Ok);
    CHECK(s.vlan_outer == 9);
  }
  SECTION("16 tags decode, 17 are too many") {
    for (int n : {16, 17}) {
      std::vector<Layer> ls{Eth{}};
      for (int i = 0; i < n; ++i) ls.emplace_back(Vlan{.vid = static_cast<std::uint16_t>(i + 1)});
      ls.emplace_back(Ipv4{});
      ls.emplace_back(kSeg);
      CHECK(run(build_layers(ls)) == (n == 16 ? Status::Ok : Status::TooManyLayers));
    }
  }
}

TEST_CASE("decode: MPLS label stacks", "[decode]") {
  Segment s;
  CHECK(run(build(Eth{}, Mpls{}, Ipv4{}, kSeg), s) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(run(build(Eth{}, Mpls{.label = 1}, Mpls{.label = 2}, Mpls{.label = 3}, Ipv6{}, kSeg), s) ==
        Status::Ok);
  CHECK(s.ip_version == 6);
  CHECK(run(build(Eth{.type = 0x8848}, Mpls{}, Ipv4{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Vlan{.vid = 7}, Mpls{}, Ipv4{}, kSeg), s) == Status::Ok);
  CHECK(s.vlan_outer == 7);
  CHECK(run(build(Eth{}, Mpls{}, Payload{.bytes = {0, 0, 0, 0}}, Eth{}, Ipv4{}, kSeg)) ==
        Status::UnsupportedTunnel);  // pseudowire control word + Ethernet
  CHECK(run(build(Eth{}, Mpls{.bottom = false}, Ipv4{}, kSeg).snap(18)) == Status::LinkTruncated);
  CHECK(run(build(Eth{}, Mpls{}).snap(18)) == Status::LinkTruncated);
  for (int n : {16, 17}) {
    std::vector<Layer> ls{Eth{}};
    for (int i = 0; i < 6; ++i) ls.emplace_back(Vlan{});
    for (int i = 6; i < n; ++i) ls.emplace_back(Mpls{.label = static_cast<std::uint32_t>(i)});
    ls.emplace_back(Ipv4{});
    ls.emplace_back(kSeg);
    CHECK(run(build_layers(ls)) == (n == 16 ? Status::Ok : Status::TooManyLayers));
  }
}

TEST_CASE("decode: PPPoE session frames", "[decode]") {
  Segment s;
  CHECK(run(build(Eth{}, Pppoe{}, Ipv4{.src = "100.64.0.1"}, kSeg), s) == Status::Ok);
  CHECK(s.src == ip("100.64.0.1"));
  check_tcp(s, kSeg);
  CHECK(run(build(Eth{}, Pppoe{}, Ipv6{}, kSeg), s) == Status::Ok);
  CHECK(s.ip_version == 6);
  CHECK(run(build(Eth{}, Pppoe{.compress = true}, Ipv4{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Vlan{.vid = 35}, Pppoe{}, Ipv4{}, kSeg), s) == Status::Ok);
  CHECK(s.vlan_outer == 35);
  CHECK(run(build(Eth{.pad_to_min = true}, Pppoe{}, Ipv4{}, Tcp{}), s, true) == Status::Ok);
  CHECK(s.checksum == Checksum::Good);
  CHECK(run(build(Eth{}, Pppoe{.length = 0}, Ipv4{}, kSeg)) == Status::LinkMalformed);
  CHECK(run(build(Eth{}, Pppoe{.length = 1}, Ipv4{}, kSeg)) == Status::LinkMalformed);
}

TEST_CASE("decode: 802.3 frames with LLC/SNAP", "[decode]") {
  Segment s;
  CHECK(run(build(Eth{}, Snap{}, Ipv4{}, kSeg), s, true) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(s.checksum == Checksum::Good);
  CHECK(run(build(Eth{}, Snap{.oui = {0, 0, 0xF8}}, Ipv6{}, kSeg)) == Status::Ok);
  CHECK(run(build(Sll{}, Snap{}, Ipv4{}, kSeg)) == Status::Ok);
  CHECK(run(build(Sll2{}, Snap{}, Ipv4{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Snap{}, Ipv4{}, kSeg).snap(20)) == Status::LinkTruncated);
}

TEST_CASE("decode: IPv4 options are skipped", "[decode]") {
  Segment s;
  REQUIRE(run(build(Eth{}, Ipv4{.options = {1, 1, 0x94, 4, 0, 0}}, kSeg), s, true) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(s.ip_total_len == 28 + 20 + 10);
  CHECK(s.checksum == Checksum::Good);
  REQUIRE(run(build(Eth{}, Ipv4{.options = Buf(40, 1)}, kSeg), s) == Status::Ok);
  CHECK(s.ip_total_len == 60 + 20 + 10);
  check_tcp(s, kSeg);
}

TEST_CASE("decode: Ethernet padding is clamped to the IPv4 total length", "[decode]") {
  Segment s;
  const Frame f = build(Eth{.pad_to_min = true}, Ipv4{}, Tcp{.flags = flag::kSyn});
  REQUIRE(f.bytes.size() == 60);
  REQUIRE(run(f, s, true) == Status::Ok);
  CHECK(s.payload_len == 0);
  CHECK(s.payload.empty());
  CHECK(s.ip_total_len == 40);
  CHECK(s.checksum == Checksum::Good);  // the 0xA5 padding is not summed

  REQUIRE(run(build(Eth{.trailer = 4}, Ipv4{}, Tcp{.payload_len = 5}), s, true) == Status::Ok);
  CHECK(s.payload_len == 5);
  CHECK(s.payload.size() == 5);
  CHECK(s.checksum == Checksum::Good);

  REQUIRE(run(build(Eth{.trailer = 7}, Ipv6{}, Tcp{.payload_len = 1}), s, true) == Status::Ok);
  CHECK(s.payload.size() == 1);
  CHECK(s.checksum == Checksum::Good);
}

TEST_CASE("decode: IPv4 total length 0 takes the length from the capture", "[decode]") {
  Segment s;
  const Frame f = build(Eth{}, Ipv4{.total_len = 0}, Tcp{.payload_len = 100});
  REQUIRE(run(f, s, true) == Status::Ok);
  CHECK(s.payload_len == 100);
  CHECK(s.ip_total_len == 140);
  CHECK(s.checksum == Checksum::Good);
  // Cut by the snaplen: the wire length still tells the size.
  REQUIRE(run(f.snap(80), s, true) == Status::Ok);
  CHECK(s.payload_len == 100);
  CHECK(s.payload.size() == 26);
  CHECK(s.checksum == Checksum::Unverifiable);
  // No wire length either: what was captured is all we know.
  Frame g = f.snap(80);
  g.wire_len = 80;
  REQUIRE(run(g, s) == Status::Ok);
  CHECK(s.payload_len == 26);
}

TEST_CASE("decode: malformed IPv4 headers", "[decode]") {
  CHECK(run(build(Eth{}, Ipv4{.ihl = 4}, kSeg)) == Status::IpBadHeaderLen);
  CHECK(run(build(Eth{}, Ipv4{.ihl = 0}, kSeg)) == Status::IpBadHeaderLen);
  CHECK(run(build(Eth{}, Ipv4{.total_len = 19}, kSeg)) == Status::IpBadTotalLen);
  CHECK(run(build(Eth{}, Ipv4{.options = Buf(4, 1), .total_len = 20}, kSeg)) ==
        Status::IpBadTotalLen);
  CHECK(run(build(Eth{}, Ipv4{.ihl = 15}, Tcp{})) == Status::IpBadTotalLen);
  CHECK(run(build(Eth{}, Ipv4{.options = Buf(40, 1)}, Tcp{}).snap(50)) == Status::IpTruncated);
}

TEST_CASE("decode: IPv4 fragments are not reassembled", "[decode]") {
  CHECK(run(build(Eth{}, Ipv4{.mf = true}, kSeg)) == Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv4{.df = false, .frag_offset = 100}, kSeg)) == Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv4{.mf = true, .frag_offset = 3}, kSeg)) == Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv4{.mf = true}, Udp{}, Payload{.bytes = Buf(20, 0)})) ==
        Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv4{.df = false}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Ipv4{.df = true}, kSeg)) == Status::Ok);
}

TEST_CASE("decode: protocols other than TCP are not_tcp", "[decode]") {
  const Payload icmp{.bytes = Buf(16, 0), .ip_proto = 1};
  std::vector<std::pair<std::string, Frame>> cases{
      {"icmp", build(Eth{}, Ipv4{}, icmp)},
      {"udp dns",
       build(Eth{}, Ipv4{}, Udp{.sport = 5353, .dport = 53}, Payload{.bytes = Buf(30, 0)})},
      {"udp too short", build(Eth{}, Ipv4{}, Payload{.bytes = Buf(4, 0), .ip_proto = 17})},
      {"sctp", build(Eth{}, Ipv4{}, Payload{.bytes = Buf(16, 0), .ip_proto = 132})},
      {"esp v4", build(Eth{}, Ipv4{}, Payload{.bytes = Buf(16, 0), .ip_proto = 50})},
      {"ah v4", build(Eth{}, Ipv4{}, Payload{.bytes = Buf(16, 0), .ip_proto = 51})},
      {"esp v6", build(Eth{}, Ipv6{}, Payload{.bytes = Buf(16, 0), .ip_proto = 50})},
      {"icmp6", build(Eth{}, Ipv6{}, Payload{.bytes = Buf(16, 0), .ip_proto = 58})},
      {"no next header", build(Eth{}, Ipv6{})},
      {"no next header after ext", build(Eth{}, Ipv6{.ext = {dest_opts()}})},
      {"udp other port", build(Eth{}, Ipv6{}, Udp{.dport = 9999}, Eth{}, Ipv4{}, kSeg)},
  };
  for (const auto& [name, f] : cases) CHECK(run_tagged(name, f) == name + ": not_tcp");
}

TEST_CASE("decode: IPv6 extension headers are walked", "[decode]") {
  const Ipv6Ext mobility{135, Buf(6, 0), {}};
  std::vector<std::pair<std::string, std::vector<Ipv6Ext>>> chains{
      {"hop-by-hop", {hop_by_hop()}},
      {"hop-by-hop with options", {hop_by_hop({1, 4, 0, 0, 0, 0, 5, 2, 0, 0})}},
      {"destination options", {dest_opts({1, 2, 0, 0})}},
      {"routing, no segments left", {routing_ext(0, 0, {"2001:db8::5", "2001:db8::6"})}},
      {"atomic fragment", {fragment_ext(0, false, 99)}},
      {"AH", {ah_ext()}},
      {"AH, no ICV", {ah_ext(1, 1, 4)}},
      {"mobility", {mobility}},
      {"chain",
       {hop_by_hop(), dest_opts(), routing_ext(2, 0, {"2001:db8::5"}), fragment_ext(0, false),
        ah_ext(), dest_opts(Buf(20, 0))}},
  };
  for (const auto& [name, ext] : chains) {
    Segment s;
    const Frame f = build(Eth{}, Ipv6{.dst = "2001:db8::2", .ext = ext}, kSeg);
    CHECK(run_tagged(name, f, true) == name + ": ok");
    if (run(f, s, true) != Status::Ok) continue;
    check_tcp(s, kSeg);
    CHECK(s.dst == ip("2001:db8::2"));
    CHECK(s.ip_total_len == f.bytes.size() - 14);
    CHECK(s.checksum == Checksum::Good);
  }
}

TEST_CASE("decode: an IPv6 routing header with segments left names the final destination",
          "[decode]") {
  struct Case {
    std::string name;
    Ipv6Ext rh;
    std::string final_dst;
  };
  const std::vector<Case> cases{
      {"type 0", routing_ext(0, 2, {"2001:db8::5", "2001:db8::6"}), "2001:db8::6"},
      {"type 2", routing_ext(2, 1, {"2001:db8::42"}), "2001:db8::42"},
      {"SRH", routing_ext(4, 1, {"2001:db8::f1", "2001:db8::f0"}), "2001:db8::f1"},
  };
  for (const auto& c : cases) {
    Segment s;
    const Frame f = build(Eth{}, Ipv6{.dst = "2001:db8::1:1", .ext = {c.rh}}, kSeg);
    CHECK(run_tagged(c.name, f, true) == c.name + ": ok");
    run(f, s, true);
    CHECK(s.dst == ip(c.final_dst));
    CHECK(s.checksum == Checksum::Good);
  }
  Segment s;
  REQUIRE(run(build(Eth{}, Ipv6{.dst = "2001:db8::1:1", .ext = {routing_ext(3, 1, {"::1"})}}, kSeg),
              s) == Status::Ok);
  CHECK(s.dst == ip("2001:db8::1:1"));  // RPL (type 3): compressed, left alone
}

TEST_CASE("decode: IPv6 fragments", "[decode]") {
  CHECK(run(build(Eth{}, Ipv6{.ext = {fragment_ext(0, true)}}, kSeg)) == Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv6{.ext = {fragment_ext(10, false)}}, kSeg)) == Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv6{.ext = {hop_by_hop(), fragment_ext(10, true)}}, kSeg)) ==
        Status::IpFragment);
  CHECK(run(build(Eth{}, Ipv6{.ext = {fragment_ext(0, false)}}, kSeg)) == Status::Ok);
}

TEST_CASE("decode: malformed IPv6 extension header chains", "[decode]") {
  for (std::size_t n : {std::size_t{16}, std::size_t{17}}) {
    const Frame f = build(Eth{}, Ipv6{.ext = std::vector<Ipv6Ext>(n, dest_opts())}, kSeg);
    CHECK(run(f) == (n == 16 ? Status::Ok : Status::Ipv6BadExtHeader));
  }
  CHECK(run(build(Eth{}, Ipv6{.ext = {Ipv6Ext{60, {}, std::uint8_t{200}}}}, kSeg)) ==
        Status::Ipv6BadExtHeader);
  CHECK(run(build(Eth{}, Ipv6{.ext = {hop_by_hop()}, .payload_len = 4}, kSeg)) ==
        Status::Ipv6BadExtHeader);
  CHECK(run(build(Eth{}, Ipv6{.ext = {hop_by_hop()}, .payload_len = 1}, kSeg)) ==
        Status::Ipv6BadExtHeader);
  CHECK(run(build(Eth{}, Ipv6{.ext = {fragment_ext(0, false)}, .payload_len = 6}, kSeg)) ==
        Status::Ipv6BadExtHeader);
  CHECK(run(build(Eth{}, Ipv6{.ext = {ah_ext()}}, kSeg).snap(14 + 40 + 10)) == Status::IpTruncated);
}

TEST_CASE("decode: IPv6 payload length 0 uses the Jumbo option or the capture", "[decode]") {
  Segment s;
  SECTION("BIG TCP: no Jumbo option") {
    const Frame f = build(Eth{}, Ipv6{.payload_len = 0}, Tcp{.payload_len = 300});
    REQUIRE(run(f, s, true) == Status::Ok);
    CHECK(s.payload_len == 300);
    CHECK(s.ip_total_len == 40 + 20 + 300);
    CHECK(s.checksum == Checksum::Good);
    REQUIRE(run(f.snap(100), s) == Status::Ok);
    CHECK(s.payload_len == 300);
    CHECK(s.payload.size() == 100 - 74);
  }
  SECTION("a jumbogram") {
    const Frame f = build(Eth{.trailer = 6},
                          Ipv6{.ext = {hop_by_hop(jumbo_option(8 + 20 + 50))}, .payload_len = 0},
                          Tcp{.payload_len = 50});
    REQUIRE(run(f, s, true) == Status::Ok);
    CHECK(s.payload_len == 50);
    CHECK(s.payload.size() == 50);
    CHECK(s.ip_total_len == 40 + 8 + 20 + 50);
    CHECK(s.checksum == Checksum::Good);
  }
  SECTION("a jumbogram cut by the snaplen") {
    Frame f = build(Eth{}, Ipv6{.ext = {hop_by_hop(jumbo_option(100000))}, .payload_len = 0},
                    Tcp{.payload_len = 20});
    REQUIRE(run(f, s, true) == Status::Ok);
    CHECK(s.payload_len == 100000 - 8 - 20);
    CHECK(s.payload.size() == 20);
    CHECK(s.ip_total_len == 100040);
    CHECK(s.checksum == Checksum::Unverifiable);
  }
}

TEST_CASE("decode: IP in IP tunnels", "[decode]") {
  struct Case {
    std::string name;
    Frame f;
    std::string outer_src, outer_dst, inner_src;
    int inner_version;
  };
  const std::vector<Case> cases{
      {"4in4",
       build(Eth{}, Ipv4{.src = "1.1.1.1", .dst = "2.2.2.2"}, Ipv4{.src = "10.0.0.1"}, kSeg),
       "1.1.1.1", "2.2.2.2", "10.0.0.1", 4},
      {"6in4",
       build(Eth{}, Ipv4{.src = "1.1.1.1", .dst = "2.2.2.2"}, Ipv6{.src = "2001:db8::7"}, kSeg),
       "1.1.1.1", "2.2.2.2", "2001:db8::7", 6},
      {"4in6",
       build(Eth{}, Ipv6{.src = "2001:db8::a", .dst = "2001:db8::b"}, Ipv4{.src = "10.0.0.1"},
             kSeg),
       "2001:db8::a", "2001:db8::b", "10.0.0.1", 4},
      {"6in6",
       build(Eth{}, Ipv6{.src = "2001:db8::a", .dst = "2001:db8::b"}, Ipv6{.src = "2001:db8::7"},
             kSeg),
       "2001:db8::a", "2001:db8::b", "2001:db8::7", 6},
  };
  for (const auto& c : cases) {
    Segment s;
    CHECK(run_tagged(c.name, c.f, true) == c.name + ": ok");
    run(c.f, s, true);
    check_tcp(s, kSeg);
    CHECK(s.tunnel.kind == TunnelKind::IpInIp);
    CHECK(s.tunnel.depth == 1);
    CHECK(s.tunnel.id == 0);
    CHECK(s.tunnel.outer_src == ip(c.outer_src));
    CHECK(s.tunnel.outer_dst == ip(c.outer_dst));
    CHECK(s.src == ip(c.inner_src));
    CHECK(s.ip_version == c.inner_version);
    CHECK(s.checksum == Checksum::Good);
  }
}

TEST_CASE("decode: GRE tunnels", "[decode]") {
  Segment s;
  SECTION("plain GRE carrying IPv4") {
    REQUIRE(run(build(Eth{}, Ipv4{.src = "1.0.0.1", .dst = "1.0.0.2"}, Gre{},
                      Ipv4{.src = "10.0.0.1"}, kSeg),
                s, true) == Status::Ok);
    check_tcp(s, kSeg);
    CHECK(s.tunnel.kind == TunnelKind::Gre);
    CHECK(s.tunnel.id == 0);
    CHECK(s.tunnel.outer_src == ip("1.0.0.1"));
    CHECK(s.src == ip("10.0.0.1"));
    CHECK(s.checksum == Checksum::Good);
  }
  SECTION("checksum, key and sequence number present") {
    REQUIRE(
        run(build(Eth{}, Ipv4{}, Gre{.checksum = true, .key = 0xdeadbeef, .seq = 5}, Ipv6{}, kSeg),
            s) == Status::Ok);
    CHECK(s.tunnel.id == 0xdeadbeef);
    CHECK(s.ip_version == 6);
  }
  SECTION("transparent Ethernet bridging over IPv6") {
    REQUIRE(run(build(Eth{}, Ipv6{.src = "2001:db8::a"}, Gre{.key = 7}, Eth{}, Vlan{.vid = 12},
                      Ipv4{}, kSeg),
                s) == Status::Ok);
    CHECK(s.tunnel.outer_src == ip("2001:db8::a"));
    CHECK(s.tunnel.id == 7);
    CHECK(s.vlan_outer == 12);
  }
  SECTION("MPLS over GRE") {
    REQUIRE(run(build(Eth{}, Ipv4{}, Gre{}, Mpls{}, Ipv4{}, kSeg), s) == Status::Ok);
  }
  SECTION("ERSPAN types I, II and III") {
    CHECK(run(build(Eth{}, Ipv4{}, Gre{}, Erspan{.type = 1}, Eth{}, Ipv4{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{}, Erspan{.type = 2}, Eth{}, Ipv4{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{}, Erspan{.type = 3}, Eth{}, Ipv6{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{}, Erspan{.type = 3, .platform_subheader = true}, Eth{},
                    Ipv6{}, kSeg),
              s) == Status::Ok);
    CHECK(s.tunnel.kind == TunnelKind::Gre);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.seq = 1, .proto = 0x88BE},
                    Payload{.bytes = {0x20, 0, 0, 1, 0, 0, 0, 0}}, Eth{}, Ipv4{}, kSeg)) ==
          Status::UnsupportedTunnel);
  }
  SECTION("PPTP enhanced GRE carrying PPP") {
    REQUIRE(run(build(Eth{}, Ipv4{}, Gre{.version = 1, .seq = 10, .ack = 9, .call_id = 0x4242},
                      Ppp{}, Ipv4{.src = "192.168.7.7"}, kSeg),
                s, true) == Status::Ok);
    CHECK(s.tunnel.id == 0x4242);
    CHECK(s.src == ip("192.168.7.7"));
    CHECK(s.checksum == Checksum::Good);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.version = 1}, Ppp{.addr_ctrl = false, .compress = true},
                    Ipv6{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.version = 1, .ack = 5, .call_id = 3})) == Status::NotTcp);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.version = 1, .proto = 0x0800}, Ipv4{}, kSeg)) ==
          Status::UnsupportedTunnel);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.version = 1}, Ppp{.proto = 0x00FD}, Ipv4{}, kSeg)) ==
          Status::NotIp);  // compressed (MPPE)
  }
  SECTION("unsupported and non-IP GRE") {
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.routing = true}, Ipv4{}, kSeg)) ==
          Status::UnsupportedTunnel);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.version = 2}, Ipv4{}, kSeg)) == Status::UnsupportedTunnel);
    CHECK(run(build(Eth{}, Ipv4{}, Gre{}, Payload{.bytes = Buf(28, 0), .ethertype = 0x0806})) ==
          Status::NotIp);
  }
  SECTION("a GRE header longer than the IP payload is malformed") {
    CHECK(run(build(Eth{}, Ipv4{}, Gre{.key = 1}, Payload{}).snap(14 + 20 + 6)) ==
          Status::IpTruncated);
    CHECK(run(build(Eth{}, Ipv4{.total_len = 26}, Gre{.key = 1}, Ipv4{}, kSeg)) ==
          Status::TunnelMalformed);
  }
}

TEST_CASE("decode: VXLAN, VXLAN-GPE and Geneve", "[decode]") {
  Segment s;
  SECTION("VXLAN") {
    REQUIRE(run(build(Eth{}, Ipv4{.src = "1.0.0.1", .dst = "1.0.0.2"}, Udp{},
                      Vxlan{.vni = 0x123456}, Eth{}, Vlan{.vid = 3}, Ipv4{.src = "10.0.0.1"}, kSeg),
                s, true) == Status::Ok);
    check_tcp(s, kSeg);
    CHECK(s.tunnel.kind == TunnelKind::Vxlan);
    CHECK(s.tunnel.id == 0x123456);
    CHECK(s.tunnel.depth == 1);
    CHECK(s.tunnel.outer_dst == ip("1.0.0.2"));
    CHECK(s.src == ip("10.0.0.1"));
    CHECK(s.vlan_outer == 3);
    CHECK(s.checksum == Checksum::Good);
    CHECK(run(build(Eth{}, Ipv6{}, Udp{}, Vxlan{}, Eth{}, Ipv6{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.length = 0}, Vxlan{}, Eth{}, Ipv4{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.length = 12}, Vxlan{}, Eth{}, Ipv4{}, kSeg)) ==
          Status::TunnelMalformed);
  }
  SECTION("VXLAN-GPE") {
    REQUIRE(run(build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{.vni = 9}, Ipv4{}, kSeg), s) ==
            Status::Ok);
    CHECK(s.tunnel.kind == TunnelKind::Vxlan);
    CHECK(s.tunnel.id == 9);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{}, Ipv6{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{}, Eth{}, Ipv4{}, kSeg)) ==
          Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{}, Mpls{}, Ipv4{}, kSeg)) ==
          Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 4790}, VxlanGpe{.next_proto = 4}, Ipv4{}, kSeg)) ==
          Status::UnsupportedTunnel);
  }
  SECTION("Geneve") {
    REQUIRE(run(build(Eth{}, Ipv6{.src = "2001:db8::1"}, Udp{.dport = 6081},
                      Geneve{.vni = 0xabcdef, .options = Buf(12, 3)}, Eth{}, Ipv4{}, kSeg),
                s) == Status::Ok);
    check_tcp(s, kSeg);
    CHECK(s.tunnel.kind == TunnelKind::Geneve);
    CHECK(s.tunnel.id == 0xabcdef);
    CHECK(s.tunnel.outer_src == ip("2001:db8::1"));
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 6081}, Geneve{}, Ipv4{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 6081}, Geneve{}, Ipv6{}, kSeg)) == Status::Ok);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 6081}, Geneve{.version = 1}, Ipv4{}, kSeg)) ==
          Status::UnsupportedTunnel);
    CHECK(run(build(Eth{}, Ipv4{}, Udp{.dport = 6081, .length = 16}, Geneve{.options = Buf(16, 0)},
                    Eth{}, Ipv4{}, kSeg)) == Status::TunnelMalformed);
  }
}

TEST_CASE("decode: Teredo", "[decode]") {
  Segment s;
  REQUIRE(run(build(Eth{}, Ipv4{.src = "192.0.2.45"}, Udp{.sport = 3544, .dport = 40000},
                    Ipv6{.src = "2001::1"}, kSeg),
              s, true) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(s.tunnel.kind == TunnelKind::Teredo);
  CHECK(s.tunnel.outer_src == ip("192.0.2.45"));
  CHECK(s.src == ip("2001::1"));
  CHECK(s.checksum == Checksum::Good);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 40000, .dport = 3544}, Ipv6{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, TeredoOrigin{}, Ipv6{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, TeredoAuth{}, Ipv6{}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544},
                  TeredoAuth{.client_id = {1, 2, 3}, .auth = {4}}, TeredoOrigin{}, Ipv6{}, kSeg)) ==
        Status::Ok);
  // Not a single IPv6 packet: other traffic on the Teredo port.
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, Ipv4{}, kSeg)) == Status::NotTcp);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, Ipv6{.payload_len = 10}, kSeg)) ==
        Status::NotTcp);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, Payload{.bytes = Buf(30, 0x60)})) ==
        Status::NotTcp);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, Payload{.bytes = {0, 1}})) == Status::NotTcp);
  // Off port 3544 (a Teredo client talking to a peer): only with a 2001:0::/32 address.
  REQUIRE(
      run(build(Eth{}, Ipv4{}, Udp{.sport = 3797, .dport = 32900},
                Ipv6{.src = "2001:0:4137:9e50:8000:f12a:b9c8:2815", .dst = "2001:db8::68"}, kSeg),
          s) == Status::Ok);
  CHECK(s.tunnel.kind == TunnelKind::Teredo);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 32900, .dport = 3797}, TeredoOrigin{},
                  Ipv6{.dst = "2001:0:4137:9e50:8000:f12a:b9c8:2815"}, kSeg)) == Status::Ok);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3797, .dport = 32900}, Ipv6{.src = "2001:db8::1"},
                  kSeg)) == Status::NotTcp);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3797, .dport = 32900},
                  Ipv6{.src = "2001:0:4137:9e50:8000:f12a:b9c8:2815"}, kSeg)
                .snap(14 + 20 + 8 + 39)) == Status::NotTcp);
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544},
                  Ipv6{.src = "2001:0:4137:9e50:8000:f12a:b9c8:2815"}, kSeg)
                .snap(14 + 20 + 8 + 39)) == Status::IpTruncated);
  // A bubble: IPv6 with no next header.
  CHECK(run(build(Eth{}, Ipv4{}, Udp{.sport = 3544}, TeredoOrigin{}, Ipv6{})) == Status::NotTcp);
}

TEST_CASE("decode: the innermost TCP is reported and the outermost tunnel described", "[decode]") {
  Segment s;
  const auto four = [](bool fifth) {
    std::vector<Layer> ls{Eth{},
                          Ipv4{.src = "1.1.1.1", .dst = "1.1.1.2"},
                          Gre{.key = 77},
                          Ipv4{.src = "2.2.2.1"},
                          Udp{},
                          Vxlan{.vni = 5},
                          Eth{},
                          Ipv4{.src = "3.3.3.1"},
                          Ipv4{.src = "4.4.4.1"},
                          Ipv6{.src = "2001:db8::5"}};
    if (fifth) ls.emplace_back(Ipv6{.src = "2001:db8::6"});
    ls.emplace_back(kSeg);
    return build_layers(ls);
  };
  REQUIRE(run(four(false), s, true) == Status::Ok);
  check_tcp(s, kSeg);
  CHECK(s.tunnel.kind == TunnelKind::Gre);
  CHECK(s.tunnel.depth == 4);
  CHECK(s.tunnel.id == 77);
  CHECK(s.tunnel.outer_src == ip("1.1.1.1"));
  CHECK(s.tunnel.outer_dst == ip("1.1.1.2"));
  CHECK(s.src == ip("2001:db8::5"));
  CHECK(s.checksum == Checksum::Good);
  CHECK(run(four(true)) == Status::TooManyLayers);
}

TEST_CASE("decode: data offset below 5 is malformed", "[decode]") {
  CHECK(run(tcp4("10.0.0.1", "10.0.0.2", {.data_offset = 4})) == Status::TcpBadHeaderLen);
  CHECK(run(tcp4("10.0.0.1", "10.0.0.2", {.data_offset = 0})) == Status::TcpBadHeaderLen);
}

TEST_CASE("decode: a TCP header longer than the IP payload is malformed", "[decode]") {
  CHECK(run(tcp4("10.0.0.1", "10.0.0.2", {.data_offset = 15})) == Status::TcpBadHeaderLen);
  CHECK(run(tcp4("10.0.0.1", "10.0.0.2", {.data_offset = 6})) == Status::TcpBadHeaderLen);
  CHECK(run(tcp6("::1", "::2", {.data_offset = 15, .checksum = 0})) == Status::TcpBadHeaderLen);
  CHECK(run(build(Eth{}, Ipv4{.total_len = 30}, kSeg)) == Status::TcpBadHeaderLen);
  CHECK(run(build(Eth{}, Ipv6{.payload_len = 19}, kSeg)) == Status::TcpBadHeaderLen);
  CHECK(run(build(Eth{}, Ipv4{.total_len = 20}, kSeg)) == Status::TcpBadHeaderLen);
}

TEST_CASE("decode: fewer than 20 TCP bytes captured is tcp_truncated", "[decode]") {
  const Frame f = tcp4("10.0.0.1", "10.0.0.2", kSeg);
  for (std::size_t n = 34; n < 54; ++n) CHECK(run(f.snap(n)) == Status::TcpTruncated);
}

TEST_CASE("decode: TCP options are parsed into fields", "[decode]") {
  Segment s;
  auto opts_of = [&s](TcpOpts o) {
    const Frame f = tcp4("10.0.0.1", "10.0.0.2", {.flags = flag::kSyn, .options = std::move(o)});
    REQUIRE(run(f, s) == Status::Ok);
    CHECK(s.header_len == f.bytes.size() - 34);
    return s.options;
  };
  SECTION("a typical SYN") {
    const auto o = opts_of(TcpOpts{}.mss(1460).sack_perm().ts(0x11223344, 0).nop().ws(7));
    CHECK(o.has_mss);
    CHECK(o.mss == 1460);
    CHECK(o.sack_permitted);
    CHECK(o.has_timestamps);
    CHECK(o.ts_val == 0x11223344);
    CHECK(o.ts_ecr == 0);
    CHECK(o.has_wscale);
    CHECK(o.wscale == 7);
    CHECK_FALSE(o.has_tfo);
    CHECK_FALSE(o.malformed);
    CHECK(o.sack_count == 0);
  }
  SECTION("no options") {
    const auto o = opts_of(TcpOpts{});
    CHECK_FALSE(o.has_mss);
    CHECK_FALSE(o.has_wscale);
    CHECK_FALSE(o.sack_permitted);
    CHECK_FALSE(o.has_timestamps);
    CHECK_FALSE(o.malformed);
  }
  SECTION("a window scale above 14 is kept as sent") {
    CHECK(opts_of(TcpOpts{}.ws(15)).wscale == 15);
  }
  SECTION("SACK blocks, one to four, across options") {
    auto o = opts_of(TcpOpts{}.nop().nop().sack({{100, 200}}));
    REQUIRE(o.sack_count == 1);
    CHECK(o.sack[0].left == 100);
    CHECK(o.sack[0].right == 200);
    o = opts_of(TcpOpts{}.nop().nop().ts(5, 6).sack({{1, 2}, {3, 4}, {5, 6}}));
    CHECK(o.sack_count == 3);
    CHECK(o.sack[2].right == 6);
    CHECK(o.ts_ecr == 6);
    o = opts_of(TcpOpts{}.nop().nop().sack({{1, 2}, {3, 4}, {5, 6}, {7, 0xffffffff}}));
    REQUIRE(o.sack_count == 4);
    CHECK(o.sack[3].left == 7);
    CHECK(o.sack[3].right == 0xffffffff);
    o = opts_of(TcpOpts{}.sack({{1, 2}, {3, 4}}).sack({{5, 6}, {7, 8}}));
    CHECK(o.sack_count == 4);
    CHECK(o.sack[3].right == 8);
    o = opts_of(TcpOpts{}.raw({5, 2}).raw({5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0}).mss(500));
    CHECK(o.sack_count == 0);  // bad SACK lengths are ignored
    CHECK(o.mss == 500);
    CHECK_FALSE(o.malformed);
  }
  SECTION("TCP Fast Open") {
    auto o = opts_of(TcpOpts{}.mss(1400).tfo(8));
    CHECK(o.has_tfo);
    CHECK(o.tfo_cookie_len == 8);
    o = opts_of(TcpOpts{}.tfo(0));
    CHECK(o.has_tfo);
    CHECK(o.tfo_cookie_len == 0);
    o = opts_of(TcpOpts{}.tfo(16));
    CHECK(o.tfo_cookie_len == 16);
    o = opts_of(TcpOpts{}.tfo_exp(4));
    CHECK(o.has_tfo);
    CHECK(o.tfo_cookie_len == 4);
    o = opts_of(TcpOpts{}.tfo_exp(0));
    CHECK(o.has_tfo);
    CHECK(o.tfo_cookie_len == 0);
    o = opts_of(TcpOpts{}.tfo_exp(4, 0x1234).mss(9));
    CHECK_FALSE(o.has_tfo);
    CHECK(o.mss == 9);
  }
  SECTION("unknown kinds are skipped by length") {
    const auto o = opts_of(TcpOpts{}.raw({30, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).mss(1200).ws(2));
    CHECK(o.mss == 1200);
    CHECK(o.wscale == 2);
    CHECK_FALSE(o.malformed);
  }
  SECTION("a known kind with the wrong length is ignored") {
    const auto o = opts_of(TcpOpts{}
                               .raw({2, 5, 1, 2, 3})
                               .raw({3, 4, 9, 9})
                               .raw({8, 6, 0, 0, 0, 0})
                               .raw({4, 3, 0})
                               .ws(3));
    CHECK_FALSE(o.has_mss);
    CHECK_FALSE(o.has_timestamps);
    CHECK_FALSE(o.sack_permitted);
    CHECK(o.has_wscale);
    CHECK(o.wscale == 3);
    CHECK_FALSE(o.malformed);
  }
  SECTION("end of option list stops parsing") {
    const auto o = opts_of(TcpOpts{}.ws(4).eol().mss(1000));
    CHECK(o.has_wscale);
    CHECK_FALSE(o.has_mss);
    CHECK_FALSE(o.malformed);
  }
}

TEST_CASE("decode: malformed TCP option lengths stop parsing", "[decode]") {
  Segment s;
  auto opts_of = [&s](TcpOpts o) {
    REQUIRE(run(tcp4("10.0.0.1", "10.0.0.2", {.options = std::move(o)}), s) == Status::Ok);
    return s.options;
  };
  for (std::uint8_t bad_len : {std::uint8_t{0}, std::uint8_t{1}}) {
    const auto o = opts_of(TcpOpts{}.mss(1460).raw({30, bad_len}).ws(4));
    CHECK(o.malformed);
    CHECK(o.has_mss);
    CHECK_FALSE(o.has_wscale);
  }
  auto o = opts_of(TcpOpts{}.ws(4).raw({2, 30, 1, 1}));  // overlong
  CHECK(o.malformed);
  CHECK(o.has_wscale);
  CHECK_FALSE(o.has_mss);
  o = opts_of(TcpOpts{}.nop().nop().nop().raw({8}));  // a kind with no length byte
  CHECK(o.malformed);
  o = opts_of(TcpOpts{}.raw({8, 10, 0, 0}));  // timestamps running past the header
  CHECK(o.malformed);
  CHECK_FALSE(o.has_timestamps);
}

TEST_CASE("decode: a snaplen cut inside the TCP options is not malformed", "[decode]") {
  const Frame f = tcp4("10.0.0.1", "10.0.0.2",
                       {.flags = flag::kSyn,
                        .options = TcpOpts{}.mss(1460).sack_perm().ts(1, 2).nop().ws(7),
                        .payload_len = 30});
  Segment s;
  SECTION("cut inside the timestamps") {
    REQUIRE(run(f.snap(54 + 4 + 2 + 5), s, true) == Status::Ok);
    CHECK(s.header_len == 40);
    CHECK(s.payload_len == 30);
    CHECK(s.payload.empty());
    CHECK(s.options.has_mss);
    CHECK(s.options.sack_permitted);
    CHECK_FALSE(s.options.has_timestamps);
    CHECK_FALSE(s.options.has_wscale);
    CHECK_FALSE(s.options.malformed);
    CHECK(s.checksum == Checksum::Unverifiable);
  }
  SECTION("cut between an option's kind and length") {
    REQUIRE(run(f.snap(54 + 4 + 2 + 1), s) == Status::Ok);
    CHECK(s.options.sack_permitted);
    CHECK_FALSE(s.options.malformed);
  }
  SECTION("cut right after the fixed header") {
    REQUIRE(run(f.snap(54), s) == Status::Ok);
    CHECK(s.seq == 1000);
    CHECK(s.flags == flag::kSyn);
    CHECK_FALSE(s.options.has_mss);
    CHECK_FALSE(s.options.malformed);
  }
}

TEST_CASE("decode: a snaplen cut inside the payload keeps payload_len from IP", "[decode]") {
  for (const Frame& f : {tcp4("10.0.0.1", "10.0.0.2", {.payload_len = 1000}),
                         tcp6("2001:db8::1", "2001:db8::2", {.payload_len = 1000})}) {
    Segment s;
    const std::size_t hdrs = f.bytes.size() - 1000;
    REQUIRE(run(f.snap(hdrs + 96), s, true) == Status::Ok);
    CHECK(s.payload_len == 1000);
    CHECK(s.payload.size() == 96);
    CHECK(s.wire_len == f.bytes.size());
    CHECK(s.checksum == Checksum::Unverifiable);
    REQUIRE(run(f, s, true) == Status::Ok);
    CHECK(s.checksum == Checksum::Good);
  }
}

TEST_CASE("decode: TCP checksums are verified on request", "[decode]") {
  const std::vector<std::pair<std::string, std::function<Frame(bool)>>> makers{
      {"v4",
       [](bool bad) {
         return tcp4("10.0.0.1", "10.0.0.2", {.payload_len = 7, .bad_checksum = bad});
       }},
      {"v4 even",
       [](bool bad) {
         return tcp4("10.0.0.1", "10.0.0.2", {.payload_len = 8, .bad_checksum = bad});
       }},
      {"v6",
       [](bool bad) {
         return tcp6("2001:db8::1", "2001:db8::2", {.payload_len = 33, .bad_checksum = bad});
       }},
      {"v4 options",
       [](bool bad) {
         return build(Eth{}, Ipv4{.options = {1, 1, 1, 0}},
                      Tcp{.options = TcpOpts{}.mss(1), .payload_len = 3, .bad_checksum = bad});
       }},
      {"v6 ext",
       [](bool bad) {
         return build(Eth{}, Ipv6{.ext = {hop_by_hop(), dest_opts()}},
                      Tcp{.payload_len = 1, .bad_checksum = bad});
       }},
      {"vxlan inner",
       [](bool bad) {
         return build(Eth{}, Ipv4{}, Udp{}, Vxlan{}, Eth{}, Ipv6{},
                      Tcp{.payload_len = 5, .bad_checksum = bad});
       }},
  };
  for (const auto& [name, make] : makers) {
    Segment s;
    CHECK(run_tagged(name, make(false)) == name + ": ok");
    run(make(false), s, true);
    CHECK(s.checksum == Checksum::Good);
    run(make(true), s, true);
    CHECK(s.checksum == Checksum::Bad);
    run(make(true), s, false);
    CHECK(s.checksum == Checksum::NotChecked);
  }
}

TEST_CASE("decode: NFLOG TLVs", "[decode]") {
  Segment s;
  REQUIRE(run(build(Nflog{.tlvs = {{1, {8, 0, 3, 0}}, {10, Buf(5, 'x')}, {0x8011, Buf(9, 0)}}},
                    Ipv4{}, kSeg),
              s) == Status::Ok);
  check_tcp(s, kSeg);
  REQUIRE(run(build(Nflog{.big_endian = true, .tlvs = {{10, Buf(3, 'y')}}}, Ipv6{}, kSeg), s) ==
          Status::Ok);
  check_tcp(s, kSeg);
  CHECK(run(build(Nflog{.tlvs = {}, .payload_tlv_len = 2}, Ipv4{}, kSeg)) == Status::LinkMalformed);
  CHECK(run(build(Nflog{.tlvs = {{1, {8, 0, 3, 0}}}, .payload_tlv_len = 3}, Ipv4{}, kSeg)) ==
        Status::LinkMalformed);
  const Frame no_payload{
      .bytes = {2, 0, 0, 0, 8, 0, 1, 0, 8, 0, 3, 0}, .linktype = 239, .wire_len = 12};
  CHECK(run(no_payload) == Status::LinkTruncated);
}

TEST_CASE("decode: every prefix of a valid frame is ok or truncated", "[decode][property]") {
  for (const auto& [name, f] : corpus()) {
    CHECK(run_tagged(name, f, true) == name + ": ok");
    for (std::size_t n = 0; n < f.bytes.size(); ++n) {
      const Frame cut = f.snap(n);  // wire_len stays the full length, as with a snaplen
      const Status st = run(cut, true);
      if (st != Status::Ok && !is_truncated(st)) {
        CHECK(tagged(name + " cut at " + std::to_string(n), st) == "ok or truncated");
      }
      // The same bytes with no wire length beyond them: lengths stated by the
      // headers still tell truncation apart (except where no header states one).
      Frame bare = cut;
      bare.wire_len = static_cast<std::uint32_t>(n);
      const Status st2 = run(bare);
      if (name != "eth4 tso" && name != "ipv6 plen 0" && name != "ipv6 jumbo" &&
          st2 != Status::Ok && !is_truncated(st2)) {
        CHECK(tagged(name + " bare cut at " + std::to_string(n), st2) == "ok or truncated");
      }
    }
  }
}

TEST_CASE("decode: mutated frames never crash or escape the packet", "[decode][property]") {
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  auto rnd = [&x](std::size_t bound) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::size_t>((x >> 33) % bound);
  };
  constexpr std::uint8_t kInteresting[] = {0,    1,    2,    4,    5,    6,    0x0f, 0x11,
                                           0x40, 0x45, 0x60, 0x7f, 0x80, 0xaa, 0xfe, 0xff};
  std::size_t ok = 0;
  std::size_t total = 0;
  for (const auto& [name, f] : corpus()) {
    for (int iter = 0; iter < 150; ++iter) {
      const std::size_t len = rnd(4) == 0 ? rnd(f.bytes.size() + 1) : f.bytes.size();
      Buf m(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(len));
      const std::size_t flips = 1 + rnd(3);
      for (std::size_t k = 0; k < flips && !m.empty(); ++k) {
        m[rnd(m.size())] = rnd(2) == 0 ? kInteresting[rnd(sizeof kInteresting)]
                                       : static_cast<std::uint8_t>(rnd(256));
      }
      const Frame g{.bytes = std::move(m), .linktype = f.linktype, .wire_len = f.wire_len};
      Segment s;
      const Status st = run(g, s, true);
      ++total;
      REQUIRE(static_cast<std::size_t>(st) < decode::kStatusCount);
      if (st != Status::Ok) continue;
      ++ok;
      CHECK(s.header_len >= 20);
      CHECK(s.header_len <= 60);
      CHECK(s.payload.size() <= s.payload_len);
      if (!s.payload.empty()) {
        CHECK(s.payload.data() >= g.bytes.data());
        CHECK(s.payload.data() + s.payload.size() <= g.bytes.data() + g.bytes.size());
      }
    }
  }
  CHECK(ok > total / 10);  // the mutations still reach TCP often enough to mean something
}

TEST_CASE("decode: decoding resets the output segment", "[decode]") {
  Segment s;
  REQUIRE(run(build(Eth{}, Vlan{.vid = 5}, Ipv4{}, Udp{}, Vxlan{}, Eth{}, Vlan{.vid = 6}, Ipv4{},
                    Tcp{.flags = flag::kSyn, .options = TcpOpts{}.mss(1).sack({{1, 2}})}),
              s, true) == Status::Ok);
  REQUIRE(s.tunnel.kind == TunnelKind::Vxlan);
  REQUIRE(s.options.sack_count == 1);
  REQUIRE(run(tcp4("10.0.0.1", "10.0.0.2", kSeg), s) == Status::Ok);
  CHECK(s.vlan_outer == decode::kNoVlan);
  CHECK(s.vlan_inner == decode::kNoVlan);
  CHECK(s.tunnel.kind == TunnelKind::None);
  CHECK(s.tunnel.depth == 0);
  CHECK(s.tunnel.outer_src == core::IpAddr{});
  CHECK_FALSE(s.options.has_mss);
  CHECK(s.options.sack_count == 0);
  CHECK(s.checksum == Checksum::NotChecked);
}

TEST_CASE("packet_builder: pcap files round-trip through libpcap", "[decode][pcap]") {
  const bool nsec = GENERATE(false, true);
  std::vector<Frame> frames{tcp4("10.0.0.1", "10.0.0.2", kSeg),
                            tcp4("10.0.0.2", "10.0.0.1", {.flags = flag::kRst}),
                            tcp4("10.0.0.1", "10.0.0.2", {.payload_len = 500}).snap(100)};
  for (std::size_t i = 0; i < frames.size(); ++i) {
    frames[i].ts =
        core::Timestamp{1'600'000'000'000'000'000 + static_cast<std::int64_t>(i) * 1'234'567'891};
  }
  const auto path =
      std::filesystem::temp_directory_path() /
      ("tcplife_decode_test_" + std::to_string(getpid()) + (nsec ? "_ns" : "_us") + ".pcap");
  REQUIRE(write_pcap(path.string(), frames, nsec));
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  REQUIRE(p != nullptr);
  CHECK(pcap_datalink(p) == DLT_EN10MB);
  for (const Frame& f : frames) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    REQUIRE(pcap_next_ex(p, &h, &data) == 1);
    CHECK(h->caplen == f.bytes.size());
    CHECK(h->len == f.wire_len);
    const std::int64_t want_frac =
        nsec ? f.ts.ns % core::kNsPerSec : f.ts.ns % core::kNsPerSec / 1000 * 1000;
    CHECK(h->ts.tv_sec == f.ts.ns / core::kNsPerSec);
    CHECK(h->ts.tv_usec == want_frac);  // nanoseconds with PCAP_TSTAMP_PRECISION_NANO
    CHECK(Buf(data, data + h->caplen) == f.bytes);
    core::PacketView v;
    v.bytes = core::Bytes(data, h->caplen);
    v.wire_len = h->len;
    v.linktype = pcap_datalink(p);
    Segment s;
    CHECK(decode::decode(v, s) == Status::Ok);
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  CHECK(pcap_next_ex(p, &h, &data) == PCAP_ERROR_BREAK);
  pcap_close(p);
  std::filesystem::remove(path);

  const Buf raw = pcap_bytes({build(Raw{}, Ipv4{}, kSeg)});
  CHECK(raw[20] == 101);  // DLT_RAW is stored as LINKTYPE_RAW
}
