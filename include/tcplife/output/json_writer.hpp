// SPDX-License-Identifier: MIT
#pragma once
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tcplife/core/time.hpp"

namespace tcplife::output {

// Minimal streaming JSON writer appending to a string: no DOM, keys in the
// order written, numbers printed from integers (timestamps and durations are
// fixed-point seconds with 9 decimals; no floating point anywhere).
//
// It is the hottest code of JSON output (a record has ~100 keys), so it writes
// through a raw pointer into a buffer of its own (never zero-filled) and
// appends that to `out` on commit() and at the end of its life: until then
// `out` does not have the text yet.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) { take_spare(); }
  ~JsonWriter() {
    commit();
    give_spare();
  }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // Appends what was written so far to `out`; writing may go on afterwards.
  void commit() {
    out_.append(buf_.get(), used_);
    used_ = 0;
  }

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // `k` is one of our own identifiers: never escaped.
  JsonWriter& key(std::string_view k) {
    char* p = room(k.size() + 4);
    if (need_comma_) *p++ = ',';
    *p++ = '"';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = '"';
    *p++ = ':';
    used_ = static_cast<std::size_t>(p - buf_.get());
    need_comma_ = false;
    return *this;
  }
  JsonWriter& str(std::string_view v);
  JsonWriter& num(std::int64_t v) {
    char* p = comma(24);
    used_ = static_cast<std::size_t>(std::to_chars(p, p + 24, v).ptr - buf_.get());
    return *this;
  }
  JsonWriter& unum(std::uint64_t v) {
    char* p = comma(24);
    used_ = static_cast<std::size_t>(std::to_chars(p, p + 24, v).ptr - buf_.get());
    return *this;
  }
  JsonWriter& boolean(bool v) { return raw_value(v ? std::string_view{"true"} : std::string_view{"false"}); }
  JsonWriter& null() { return raw_value("null"); }
  // Seconds with nanosecond precision, e.g. 1700000000.123456789 or 0.000120000.
  JsonWriter& seconds(std::int64_t ns);
  JsonWriter& time(core::Timestamp t) { return seconds(t.ns); }
  // A fixed-point number: `scaled` / 10^decimals, e.g. fixed(12345, 3) -> 12.345.
  JsonWriter& fixed(std::int64_t scaled, int decimals);
  // Text that is already JSON (a value or a fragment), written as it is.
  JsonWriter& raw(std::string_view json) {
    std::memcpy(room(json.size()), json.data(), json.size());
    used_ += json.size();
    return *this;
  }

  // key + value shorthands
  JsonWriter& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, const char* v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonWriter& kv_num(std::string_view k, std::int64_t v) { return key(k).num(v); }
  JsonWriter& kv_unum(std::string_view k, std::uint64_t v) { return key(k).unum(v); }

 private:
  // A pointer to at least `n` writable bytes at the end of what was written.
  char* room(std::size_t n) {
    if (cap_ - used_ < n) grow(n);
    return buf_.get() + used_;
  }
  void grow(std::size_t n);
  // Room for a value of at most `n` bytes, after the comma it may need.
  char* comma(std::size_t n) {
    char* p = room(n + 1);
    if (need_comma_) {
      *p++ = ',';
      ++used_;
    }
    need_comma_ = true;
    return p;
  }
  JsonWriter& raw_value(std::string_view v) {
    std::memcpy(comma(v.size()), v.data(), v.size());
    used_ += v.size();
    return *this;
  }
  JsonWriter& open(char ch) {
    *comma(1) = ch;
    ++used_;
    need_comma_ = false;
    return *this;
  }
  JsonWriter& close(char ch) {
    *room(1) = ch;
    ++used_;
    need_comma_ = true;
    return *this;
  }

  // The buffer outlives the writer: each thread keeps one spare (up to
  // kSpareMax) for its next writer, so writing a record allocates nothing.
  void take_spare();
  void give_spare() noexcept;
  static constexpr std::size_t kInitial = 8192;
  static constexpr std::size_t kSpareMax = std::size_t{1} << 20;
  std::string& out_;
  std::unique_ptr<char[]> buf_;  // what was written since the last commit
  std::size_t cap_ = 0;
  std::size_t used_ = 0;
  bool need_comma_ = false;
};

// Appends fixed-point seconds ("%lld.%09lld", sign-aware) to `out`, keeping
// `decimals` (0..9) digits (truncated).
void append_seconds(std::string& out, std::int64_t ns, int decimals = 9);
// Appends `scaled` / 10^scale with all `scale` (0..18) decimals.
void append_fixed(std::string& out, std::int64_t scaled, int scale);

}  // namespace tcplife::output
