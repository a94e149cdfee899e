// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tcplife/core/time.hpp"

namespace tcplife::output {

// Keys written as two bytes instead of `"name":` (with the comma before
// them, instead of three or more), for records that wait before they are
// written: keys are about 64 % of a connection record's bytes, and the JSON
// document holds every record behind a connection still open (in memory up
// to a budget, then in a temporary file). A JsonWriter's text never has a
// byte below 0x20 of its own (str() escapes them), so the two marks below
// are unambiguous.
//
// index() is called on the one thread that writes the records; unpack() may
// run on another, for records handed over after they were written (under a
// lock): a name, once given its index, is never changed.
class KeyPacker {
 public:
  static constexpr char kKey = '\x01';       // kKey, index: `"name":`
  static constexpr char kCommaKey = '\x02';  // kCommaKey, index: `,"name":`

  // The index of `name`, or -1 to write it in full (a name longer than
  // kMaxName, or the table holds kMaxNames names already).
  int index(std::string_view name) {
    const auto at = reinterpret_cast<std::uintptr_t>(name.data());
    for (std::size_t s = (at * 0x9e3779b97f4a7c15ULL) >> 54;; s = (s + 1) % kSlots) {  // 10 bits
      const Slot& slot = slots_[s];
      if (slot.at == nullptr) return add(name, s);
      if (slot.at == name.data() && slot.len == name.size())
        return std::memcmp(names_[slot.name].text.data() + 2, name.data(), name.size()) == 0
                   ? static_cast<int>(slot.name)
                   : -1;
    }
  }
  // `packed` with every key in full, in `to` (grown as needed).
  struct Buffer {
    std::unique_ptr<char[]> data;
    std::size_t cap = 0;
  };
  [[nodiscard]] std::string_view unpack(std::string_view packed, Buffer& to) const;

  static constexpr std::size_t kMaxNames = 255;
  static constexpr std::size_t kSlot = 32;  // `,"name":`, copied as 32 bytes
  static constexpr std::size_t kMaxName = kSlot - 4;

 private:
  int add(std::string_view name, std::size_t slot);
  // Names found by the address of their text (our keys are literals), and
  // checked by their bytes (an address may hold another name by now).
  static constexpr std::size_t kSlots = 1024;  // at most a quarter used
  struct Slot {
    const char* at = nullptr;
    std::uint32_t len = 0;
    std::uint32_t name = 0;
  };
  struct Name {
    std::array<char, kSlot + 1> text{};  // `,"name":`; unpack copies kSlot bytes from text + 1
    std::size_t len = 0;             // of `,"name":`
  };
  std::array<Slot, kSlots> slots_{};
  std::array<Name, kMaxNames> names_{};
  std::size_t count_ = 0;
};

// Minimal streaming JSON writer appending to a string: no DOM, keys in the
// order written, numbers printed from integers (timestamps and durations are
// fixed-point seconds with 9 decimals; no floating point anywhere).
//
// It is the hottest code of JSON output (a record has ~100 keys), so it writes
// through a raw pointer into a buffer of its own (never zero-filled) and
// appends that to `out` on commit() and at the end of its life: until then
// `out` does not have the text yet. With a KeyPacker, keys are written packed.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, KeyPacker* keys = nullptr) : out_(out), keys_(keys) {
    take_spare();
  }
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
    if (keys_ != nullptr) {
      const int i = keys_->index(k);
      if (i >= 0) {
        char* p = room(2);
        p[0] = need_comma_ ? KeyPacker::kCommaKey : KeyPacker::kKey;
        p[1] = static_cast<char>(i);
        used_ += 2;
        need_comma_ = false;
        return *this;
      }
    }
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
  KeyPacker* keys_;
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
