// SPDX-License-Identifier: MIT
// Live capture on the loopback interface with real kernel sockets (needs root
// or CAP_NET_RAW; CI runs as root). Every loop is bounded in count and time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "tcplife/decode/decode.hpp"
#include "tcplife/output/sink.hpp"
#include "tcplife/source/live.hpp"
#include "tcplife/tcp/tracker.hpp"

using namespace tcplife;

namespace {

bool can_capture() { return geteuid() == 0; }

// A listening socket on 127.0.0.1 with a kernel-chosen port.
int listen_any(std::uint16_t& port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(s, 4) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return s;
}

int connect_to(std::uint16_t port) {
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(c >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  REQUIRE(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return c;
}

class Collect final : public tcp::ConnectionSink {
 public:
  void on_connection(const tcp::Connection& c) override {
    std::string s;
    output::write_connection_json(s, c, {});
    records.push_back(nlohmann::json::parse(s));
  }
  std::vector<nlohmann::json> records;
};

}  // namespace

TEST_CASE("live: a real connection on lo is captured and its lifecycle rebuilt", "[live]") {
  if (!can_capture()) {
    WARN("not root: live capture test skipped");
    return;
  }
  std::uint16_t port = 0;
  const int lst = listen_any(port);
  source::OpenError oerr;
  source::LiveOptions lo;
  lo.interface = "lo";
  auto src = source::open_live(lo, oerr);
  REQUIRE(src != nullptr);
  std::string ferr;
  REQUIRE(src->set_filter("tcp port " + std::to_string(port), ferr));

  const int cl = connect_to(port);
  const int sv = accept(lst, nullptr, nullptr);
  REQUIRE(sv >= 0);
  const char msg[] = "hello, tcplife";
  REQUIRE(write(cl, msg, sizeof msg) == static_cast<ssize_t>(sizeof msg));
  char buf[64];
  REQUIRE(read(sv, buf, sizeof buf) == static_cast<ssize_t>(sizeof msg));
  close(cl);  // client closes first
  REQUIRE(read(sv, buf, sizeof buf) == 0);
  close(sv);
  close(lst);

  Collect sink;
  tcp::Tracker tracker({}, sink);
  core::PacketView pkt;
  decode::Segment seg;
  int packets = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  bool closed = false;
  int fins = 0;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    const auto st = src->next(pkt);
    if (st == source::ReadStatus::Timeout) continue;
    REQUIRE(st == source::ReadStatus::Packet);
    REQUIRE(decode::decode(pkt, seg) == decode::Status::Ok);
    tracker.process(seg);
    ++packets;
    // Both FINs, then the ACK of the second: the connection is over.
    if (seg.has(decode::flag::kFin)) {
      ++fins;
    } else if (fins == 2) {
      closed = true;
    }
  }
  tracker.finish();
  CHECK(packets >= 7);  // handshake (3), data, its ACK, two FINs and their ACKs
  REQUIRE(sink.records.size() == 1);
  const auto& r = sink.records[0];
  CHECK(r["server"]["port"] == port);
  CHECK(r["handshake"]["validated"] == true);
  CHECK(r["data"]["client"]["payload_bytes"] == sizeof msg);
  CHECK(r["teardown"]["first_fin_by"] == "client");
  CHECK(r["outcome"] == "closed");
  const auto stats = src->stats();
  CHECK(stats.valid);
  CHECK(stats.dropped == 0);
}

TEST_CASE("live: a missing interface and a bad filter are clear errors", "[live]") {
  if (!can_capture()) {
    WARN("not root: live capture test skipped");
    return;
  }
  source::OpenError oerr;
  source::LiveOptions lo;
  lo.interface = "tcplife-no-such0";
  CHECK(source::open_live(lo, oerr) == nullptr);
  CHECK(oerr.kind == source::OpenError::Kind::NotFound);
  CHECK(oerr.message.find("no such capture device") != std::string::npos);

  lo.interface = "lo";
  auto src = source::open_live(lo, oerr);
  REQUIRE(src != nullptr);
  std::string ferr;
  CHECK_FALSE(src->set_filter("tcp port ((", ferr));
  CHECK_FALSE(ferr.empty());
}

TEST_CASE("live: the interface list includes the loopback", "[live]") {
  std::string err;
  const auto list = source::list_interfaces(err);
  bool lo = false;
  for (const auto& i : list) lo = lo || (i.name == "lo" && i.loopback);
  CHECK(lo);
}
