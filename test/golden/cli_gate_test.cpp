// SPDX-License-Identifier: MIT
// The binary's selection and CI gates, through the shell: --only, --conn,
// --fail-on (exit 4), tcplife diff / --baseline (exit 5), --color; each
// exit code both ways.
#include <sys/wait.h>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/run_capture.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tcplife::test::testdata;

namespace {

struct Shell {
  int rc = 0;
  std::string out, err;
};

// Runs `tcplife ARGS` through the shell; captures stdout and stderr.
Shell tcplife_cmd(const std::string& args) {
  const std::string err_file = (fs::temp_directory_path() / ("tcplife_cli_gate_stderr_" + std::to_string(getpid()) + ".txt")).string();
  const std::string cmd = std::string(TCPLIFE_BINARY) + " " + args + " 2>" + err_file;
  Shell s;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) s.out.append(buf, n);
  const int st = pclose(p);
  s.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream e(err_file);
  s.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  return s;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = (fs::temp_directory_path() / ("tcplife_cli_gate_" + std::to_string(getpid()) + "_" + name)).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string json_of(const std::string& capture) {
  return tcplife_cmd("--json " + testdata(capture)).out;
}

}  // namespace

TEST_CASE("cli: --fail-on exits 4 and names what tripped it, 0 otherwise", "[cli][gate]") {
  auto s = tcplife_cmd("--fail-on reset " + testdata("kernel_rst_abort_client.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err == "tcplife: --fail-on reset: 1 connection (#1)\n");
  CHECK(s.out.find("reset") != std::string::npos);  // the report is still written
  s = tcplife_cmd("--fail-on reset " + testdata("kernel_client_close_first.pcap"));
  CHECK(s.rc == 0);
  CHECK(s.err.empty());
  s = tcplife_cmd("--fail-on reset,refused " + testdata("kernel_refused.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err == "tcplife: --fail-on refused: 1 connection (#1)\n");
  // An outcome and an anomaly kind at once: the unanswered SYN has handshake_incomplete.
  s = tcplife_cmd("--fail-on handshake_incomplete --fail-on no_close " +
                  testdata("kernel_syn_dropped.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err.find("--fail-on handshake_incomplete: 1 connection (#1)") != std::string::npos);
  CHECK(s.err.find("--fail-on no_close: 1 connection (#1)") != std::string::npos);
  s = tcplife_cmd("--fail-on half-open,refused " + testdata("kernel_port_reuse.pcap"));
  CHECK(s.rc == 0);
  s = tcplife_cmd("--fail-on anomalous " + testdata("kernel_refused.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  s = tcplife_cmd("--fail-on closed " + testdata("kernel_port_reuse.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err == "tcplife: --fail-on closed: 3 connections (#1, #2, #3)\n");
}

TEST_CASE("cli: --fail-on looks at the reported connections only", "[cli][gate]") {
  auto s = tcplife_cmd("--fail-on closed --conn 2 " + testdata("kernel_port_reuse.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err == "tcplife: --fail-on closed: 1 connection (#2)\n");
  s = tcplife_cmd("--fail-on reset --only closed " + testdata("kernel_rst_abort_client.pcap"));
  CHECK(s.rc == 0);
}

TEST_CASE("cli: --fail-on wins over exit 3 when both apply", "[cli][gate]") {
  auto s = tcplife_cmd("--fail-on closed " + testdata("crafted_truncated_mid_record.pcap"));
  CHECK(s.rc == tcplife::kExitFailOn);
  CHECK(s.err.find("truncated") != std::string::npos);
  s = tcplife_cmd("--fail-on reset " + testdata("crafted_truncated_mid_record.pcap"));
  CHECK(s.rc == tcplife::kExitPartial);
}

TEST_CASE("cli: unknown kinds and bad selections are usage errors (2)", "[cli][gate]") {
  auto s = tcplife_cmd("--fail-on exploded " + testdata("kernel_refused.pcap"));
  CHECK(s.rc == tcplife::kExitUsage);
  CHECK(s.err.find("unknown kind 'exploded'") != std::string::npos);
  CHECK(s.out.empty());
  CHECK(tcplife_cmd("--only syn_flood " + testdata("kernel_refused.pcap")).rc ==
        tcplife::kExitUsage);
  CHECK(tcplife_cmd("--conn 10.0.0.1-10.0.0.2 " + testdata("kernel_refused.pcap")).rc ==
        tcplife::kExitUsage);
  CHECK(tcplife_cmd("--conn 0 " + testdata("kernel_refused.pcap")).rc == tcplife::kExitUsage);
  CHECK(tcplife_cmd("--color purple " + testdata("kernel_refused.pcap")).rc == tcplife::kExitUsage);
}

TEST_CASE("cli: --only and --conn select the reported connections", "[cli][select]") {
  auto d = json::parse(
      tcplife_cmd("--json --only reset " + testdata("kernel_rst_abort_client.pcap")).out);
  CHECK(d["connections"].size() == 1);
  d = json::parse(
      tcplife_cmd("--json --only reset,refused " + testdata("kernel_client_close_first.pcap")).out);
  CHECK(d["connections"].empty());
  CHECK(d["summary"]["connections"] == 1);  // the summary still counts everything analysed
  CHECK(d["summary"]["reported"] == 0);
  d = json::parse(
      tcplife_cmd("--json --only half-open " + testdata("kernel_syn_dropped.pcap")).out);
  CHECK(d["connections"].size() == 1);
  d = json::parse(tcplife_cmd("--json --only open " + testdata("kernel_syn_dropped.pcap")).out);
  CHECK(d["connections"].empty());
  d = json::parse(tcplife_cmd("--json --conn 2 " + testdata("kernel_port_reuse.pcap")).out);
  REQUIRE(d["connections"].size() == 1);
  CHECK(d["connections"][0]["id"] == 2);
  // A 4-tuple, in either direction, selects every instance on it.
  for (const char* spec : {"10.77.0.1:45012-10.77.0.2:5012", "10.77.0.2:5012-10.77.0.1:45012"}) {
    d = json::parse(
        tcplife_cmd(std::string("--json --conn ") + spec + " " + testdata("kernel_port_reuse.pcap"))
            .out);
    CHECK(d["connections"].size() == 3);
  }
  d = json::parse(tcplife_cmd("--json --conn [fd77::1]:45101-[fd77::2]:5101 " +
                              testdata("kernel_v6_client_close_first.pcap"))
                      .out);
  CHECK(d["connections"].size() == 1);
  const auto ndjson =
      tcplife_cmd("-f ndjson --only closed " + testdata("kernel_rst_abort_client.pcap"));
  CHECK(std::count(ndjson.out.begin(), ndjson.out.end(), '\n') == 1);  // the summary line only
}

TEST_CASE("cli: --timeline draws the chosen connection packet by packet", "[cli][text]") {
  const auto s = tcplife_cmd("--timeline --conn 3 " + testdata("kernel_port_reuse.pcap"));
  REQUIRE(s.rc == 0);
  CHECK(s.out.find("\n 3  10.77.0.1:45012") != std::string::npos);
  CHECK(s.out.find("\n 1  ") == std::string::npos);
  // 12 packets, each an arrow one way or the other.
  CHECK(std::count(s.out.begin(), s.out.end(), '>') + std::count(s.out.begin(), s.out.end(), '<') >=
        12);
  const auto capped =
      tcplife_cmd("--timeline --timeline-max 5 " + testdata("kernel_half_close.pcap"));
  CHECK(capped.out.find("... 13 more packets not drawn (--timeline-max 5)") != std::string::npos);
}

TEST_CASE("cli: --color always colours, never and auto (not a terminal) do not", "[cli][text]") {
  CHECK(tcplife_cmd("--color always " + testdata("kernel_refused.pcap")).out.find("\033[") !=
        std::string::npos);
  CHECK(
      tcplife_cmd("--color never --timeline " + testdata("kernel_refused.pcap")).out.find('\033') ==
      std::string::npos);
  CHECK(tcplife_cmd("--timeline " + testdata("kernel_refused.pcap")).out.find('\033') ==
        std::string::npos);
}

TEST_CASE("diff: a report against itself changes nothing (exit 0)", "[cli][diff]") {
  const std::string a = write_temp("self.json", json_of("kernel_port_reuse.pcap"));
  auto s = tcplife_cmd("diff " + a + " " + a);
  CHECK(s.rc == 0);
  CHECK(s.out.find("no lifecycle changed") != std::string::npos);
  // An NDJSON stream of the same run compares equal to the document.
  const std::string nd =
      write_temp("self.ndjson", tcplife_cmd("-f ndjson " + testdata("kernel_port_reuse.pcap")).out);
  CHECK(tcplife_cmd("diff " + nd + " " + a).rc == 0);
}

TEST_CASE("diff: changed lifecycles are listed and exit 5", "[cli][diff]") {
  const std::string base_text = json_of("kernel_client_close_first.pcap");
  json cur = json::parse(base_text);
  json& c = cur["connections"][0];
  c["outcome"] = "reset";
  c["conn_state"] = "RSTO";
  c["handshake"]["complete"] = false;
  c["anomaly_counts"]["rst_in_window"] = 1;
  c["handshake"]["rtt"]["total"] = c["handshake"]["rtt"]["total"].get<double>() + 0.010;
  const std::string base = write_temp("base.json", base_text);
  const std::string changed = write_temp("changed.json", cur.dump());
  auto s = tcplife_cmd("diff " + base + " " + changed);
  CHECK(s.rc == tcplife::kExitChanged);
  CHECK(s.out.find("~ #1 -> #1  10.77.0.1:45001 > 10.77.0.2:5001") != std::string::npos);
  CHECK(s.out.find("new reset: outcome closed -> reset") != std::string::npos);
  CHECK(s.out.find("handshake no longer completes") != std::string::npos);
  CHECK(s.out.find("new anomaly kinds: rst_in_window") != std::string::npos);
  CHECK(s.out.find("conn_state SF -> RSTO") != std::string::npos);
  CHECK(s.out.find("handshake RTT ") != std::string::npos);
  CHECK(s.out.find("changed: 1 connection (5 changes)") != std::string::npos);
  // Reversed, the improvements are changes too.
  CHECK(tcplife_cmd("diff " + changed + " " + base).rc == tcplife::kExitChanged);
}

TEST_CASE("diff: RTT moves within --rtt-tolerance are not changes", "[cli][diff]") {
  const std::string base_text = json_of("kernel_client_close_first.pcap");
  json cur = json::parse(base_text);
  json& rtt = cur["connections"][0]["handshake"]["rtt"]["total"];
  rtt = rtt.get<double>() + 0.002;  // +2 ms on a ~0.04 ms RTT
  const std::string base = write_temp("rtt_base.json", base_text);
  const std::string moved = write_temp("rtt_moved.json", cur.dump());
  CHECK(tcplife_cmd("diff " + base + " " + moved).rc == 0);  // default 5 ms
  CHECK(tcplife_cmd("diff --rtt-tolerance 1ms " + base + " " + moved).rc == tcplife::kExitChanged);
  CHECK(tcplife_cmd("diff --rtt-tolerance 3ms " + base + " " + moved).rc == 0);
  CHECK(tcplife_cmd("diff --rtt-tolerance 50% " + base + " " + moved).rc == tcplife::kExitChanged);
  CHECK(tcplife_cmd("diff --rtt-tolerance 10000% " + base + " " + moved).rc == 0);
}

TEST_CASE("diff: connections only in one report are changes; ports may differ", "[cli][diff]") {
  const std::string a = write_temp("a.json", json_of("kernel_client_close_first.pcap"));
  const std::string b = write_temp("b.json", json_of("kernel_server_close_first.pcap"));
  const auto s = tcplife_cmd("diff " + a + " " + b);
  CHECK(s.rc == tcplife::kExitChanged);
  CHECK(s.out.find("+ #1  10.77.0.1:45002 > 10.77.0.2:5002  only in") != std::string::npos);
  CHECK(s.out.find("- #1  10.77.0.1:45001 > 10.77.0.2:5001  only in") != std::string::npos);
  // A rerun with another client port pairs by client, server and server port.
  json moved = json::parse(json_of("kernel_client_close_first.pcap"));
  moved["connections"][0]["client"]["port"] = 45999;
  const std::string m = write_temp("moved.json", moved.dump());
  CHECK(tcplife_cmd("diff " + a + " " + m).rc == 0);
}

TEST_CASE("diff: unreadable reports exit 1, bad usage 2", "[cli][diff]") {
  const std::string a = write_temp("ok.json", json_of("kernel_refused.pcap"));
  const std::string junk = write_temp("junk.json", "not json at all\n");
  auto s = tcplife_cmd("diff " + a + " /nonexistent/report.json");
  CHECK(s.rc == tcplife::kExitInputError);
  CHECK(s.err.find("/nonexistent/report.json") != std::string::npos);
  CHECK(tcplife_cmd("diff " + a + " " + junk).rc == tcplife::kExitInputError);
  CHECK(tcplife_cmd("diff " + a).rc == tcplife::kExitUsage);
  CHECK(tcplife_cmd("diff --rtt-tolerance fast " + a + " " + a).rc == tcplife::kExitUsage);
}

TEST_CASE("diff: --baseline compares a capture with a saved report", "[cli][diff]") {
  const std::string own = write_temp("own.json", json_of("kernel_rst_abort_client.pcap"));
  auto s = tcplife_cmd("--baseline " + own + " " + testdata("kernel_rst_abort_client.pcap"));
  CHECK(s.rc == 0);
  CHECK(s.out.find("no lifecycle changed") != std::string::npos);
  const std::string other = write_temp("other.json", json_of("kernel_rst_abort_server.pcap"));
  s = tcplife_cmd("--baseline " + other + " " + testdata("kernel_rst_abort_client.pcap"));
  CHECK(s.rc == tcplife::kExitChanged);
  CHECK(tcplife_cmd("--baseline /nonexistent.json " + testdata("kernel_refused.pcap")).rc ==
        tcplife::kExitInputError);
}

TEST_CASE("cli: a failed write of the output is reported, exit 1", "[cli]") {
  // /dev/full fails every write with ENOSPC: the report is lost, and the
  // exit code and stderr must say so rather than claim success.
  const Shell s = tcplife_cmd("--json " + testdata("kernel_half_close.pcap") + " >/dev/full");
  CHECK(s.rc == tcplife::kExitInputError);
  CHECK(s.err == "tcplife: writing the output failed: No space left on device\n");
}

TEST_CASE("cli: JSON records are lean by default, --timeline adds events and state times",
          "[cli][output]") {
  const auto lean = nlohmann::json::parse(json_of("kernel_half_close.pcap"));
  const auto full = nlohmann::json::parse(
      tcplife_cmd("--json --timeline " + testdata("kernel_half_close.pcap")).out);
  const auto& l = lean["connections"][0];
  const auto& f = full["connections"][0];
  CHECK_FALSE(l.contains("events"));
  CHECK_FALSE(l.contains("state_durations"));
  REQUIRE(f.contains("events"));
  CHECK(f["events"].size() == 9);
  CHECK(f["state_durations"]["client"].contains("FIN_WAIT_2"));
  // Everything else is the same record.
  auto g = f;
  g.erase("events");
  g.erase("events_dropped");
  g.erase("state_durations");
  CHECK(g == l);
}
