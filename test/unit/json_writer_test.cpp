// SPDX-License-Identifier: MIT
#include "tcplife/output/json_writer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using tcplife::output::JsonWriter;

namespace {

std::string seconds(std::int64_t ns) {
  std::string s;
  JsonWriter(s).seconds(ns);
  return s;
}

std::string fixed(std::int64_t v, int scale) {
  std::string s;
  JsonWriter(s).fixed(v, scale);
  return s;
}

}  // namespace

TEST_CASE("json writer: fixed-point numbers, every digit and sign", "[output][json]") {
  CHECK(seconds(0) == "0.000000000");
  CHECK(seconds(1) == "0.000000001");
  CHECK(seconds(-1) == "-0.000000001");
  CHECK(seconds(1'795'255'870'284'535'000) == "1795255870.284535000");
  CHECK(seconds(123'456'789) == "0.123456789");
  CHECK(seconds(std::numeric_limits<std::int64_t>::min()) == "-9223372036.854775808");
  CHECK(seconds(std::numeric_limits<std::int64_t>::max()) == "9223372036.854775807");
  CHECK(fixed(12345, 3) == "12.345");
  CHECK(fixed(5, 1) == "0.5");
  CHECK(fixed(-5, 2) == "-0.05");
  CHECK(fixed(7, 0) == "7");
  CHECK(fixed(987654321, 18) == "0.000000000987654321");
  for (int scale = 0; scale <= 12; ++scale) {  // against printf for every scale
    const std::int64_t v = 9'081'726'354'123;
    std::int64_t div = 1;
    for (int i = 0; i < scale; ++i) div *= 10;
    char want[64];
    if (scale == 0)
      std::snprintf(want, sizeof want, "%lld", static_cast<long long>(v));
    else
      std::snprintf(want, sizeof want, "%lld.%0*lld", static_cast<long long>(v / div), scale,
                    static_cast<long long>(v % div));
    CHECK(fixed(v, scale) == want);
  }
}

TEST_CASE("json writer: a document past its first buffer, escaped strings, commit",
          "[output][json]") {
  std::string out = "prefix:";
  {
    JsonWriter w(out);
    w.begin_object();
    for (int i = 0; i < 2000; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "k%d", i);
      w.kv_unum(key, static_cast<unsigned>(i));
    }
    w.kv("esc", std::string("a\"b\\c\n\x01", 7)).kv("yes", true).key("nothing").null();
    w.key("list").begin_array().num(-3).unum(4).end_array();
    w.end_object();
    CHECK(out == "prefix:");  // nothing reaches `out` before commit
    w.commit();
    CHECK(out.size() > 20000);
    w.raw("!");
  }
  REQUIRE(out.back() == '!');
  const auto j = nlohmann::json::parse(out.substr(7, out.size() - 8));
  CHECK(j["k1999"] == 1999);
  CHECK(j["esc"] == std::string("a\"b\\c\n\x01", 7));
  CHECK(j["nothing"].is_null());
  CHECK(j["list"] == nlohmann::json::array({-3, 4}));
}

namespace {

// One record's worth of JSON, the same with or without packed keys: names
// that are literals, names in one buffer whose content changes (the same
// address), names too long to pack, marks' bytes inside a string.
void record(JsonWriter& w, const std::vector<std::string>& many, int n) {
  w.begin_object();
  w.kv_unum("id", static_cast<unsigned>(n)).kv("complete", n % 2 == 0);
  w.key("handshake").begin_object().key("syn_ts").null().kv_unum("rtt", 12).end_object();
  for (int i = 0; i < 40; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%d", (i * 7 + n) % 30);
    w.kv_unum(key, static_cast<unsigned>(i));
  }
  for (const std::string& name : many) w.kv_num(name, -n);
  w.kv("marks", std::string("\x01\x02 in a string \x01", 17));
  w.key("a_name_of_exactly_28_chars__").boolean(true);
  w.key("a_name_of_29_chars_is_written").boolean(false);
  w.key("list").begin_array().begin_object().key("x").num(1).end_object().end_array();
  w.end_object();
}

}  // namespace

TEST_CASE("json writer: packed keys unpack to the same bytes", "[output][json]") {
  using tcplife::output::KeyPacker;
  std::vector<std::string> many;  // more names than the packer holds
  for (int i = 0; i < 300; ++i) many.push_back("name_" + std::to_string(i));
  KeyPacker keys;
  KeyPacker::Buffer buffer;
  for (int n = 0; n < 3; ++n) {  // later records use the names the first ones taught
    INFO("record " << n);
    std::string plain, packed;
    {
      JsonWriter w(plain);
      record(w, many, n);
    }
    {
      JsonWriter w(packed, &keys);
      record(w, many, n);
    }
    CHECK(packed.size() < plain.size() * 2 / 3);
    CHECK(keys.unpack(packed, buffer) == plain);
    // Cut anywhere between two keys, each piece unpacks on its own.
    for (std::size_t cut = 0; cut < packed.size(); cut += 97) {
      if (cut > 0 &&
          (packed[cut - 1] == KeyPacker::kKey || packed[cut - 1] == KeyPacker::kCommaKey))
        continue;
      std::string joined(keys.unpack(std::string_view(packed).substr(0, cut), buffer));
      joined += keys.unpack(std::string_view(packed).substr(cut), buffer);
      CHECK(joined == plain);
    }
  }
  CHECK(keys.unpack("null", buffer) == "null");
  CHECK(keys.unpack("", buffer).empty());
}
