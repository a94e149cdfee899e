// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "tcplife/core/time.hpp"

namespace tcplife::output {

// Minimal streaming JSON writer into a string buffer: no DOM, keys in the
// order written, numbers printed from integers (timestamps and durations are
// fixed-point seconds with 9 decimals; no floating point anywhere).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& str(std::string_view v);
  JsonWriter& num(std::int64_t v);
  JsonWriter& unum(std::uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Seconds with nanosecond precision, e.g. 1700000000.123456789 or 0.000120000.
  JsonWriter& seconds(std::int64_t ns);
  JsonWriter& time(core::Timestamp t) { return seconds(t.ns); }
  // A fixed-point number: `scaled` / 10^decimals, e.g. fixed(12345, 3) -> 12.345.
  JsonWriter& fixed(std::int64_t scaled, int decimals);

  // key + value shorthands
  JsonWriter& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, const char* v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonWriter& kv_num(std::string_view k, std::int64_t v) { return key(k).num(v); }
  JsonWriter& kv_unum(std::string_view k, std::uint64_t v) { return key(k).unum(v); }

 private:
  void comma();
  std::string& out_;
  bool need_comma_ = false;
};

// Appends fixed-point seconds ("%lld.%09lld", sign-aware) to `out`, keeping
// `decimals` (0..9) digits (truncated).
void append_seconds(std::string& out, std::int64_t ns, int decimals = 9);
// Appends `scaled` / 10^scale with all `scale` (0..18) decimals.
void append_fixed(std::string& out, std::int64_t scaled, int scale);

}  // namespace tcplife::output
