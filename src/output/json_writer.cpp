// SPDX-License-Identifier: MIT
#include "tcplife/output/json_writer.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace tcplife::output {
namespace {

constexpr std::size_t kFixedMax = 48;  // sign, 20 digits, point, 18 decimals

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

constexpr std::array<std::uint64_t, 19> kPow10 = [] {
  std::array<std::uint64_t, 19> t{};
  std::uint64_t v = 1;
  for (std::uint64_t& x : t) {
    x = v;
    v *= 10;
  }
  return t;
}();

// The nine decimals of a nanosecond fraction (0..999999999) at `p`: with the
// divisors constant, the compiler turns every division into a multiplication.
void put_nine(char* p, std::uint64_t frac) {
  const std::uint64_t hi = frac / 100000;  // first four digits
  std::uint64_t lo = frac % 100000;        // last five
  std::memcpy(p, &kDigitPairs[(hi / 100) * 2], 2);
  std::memcpy(p + 2, &kDigitPairs[(hi % 100) * 2], 2);
  p[4] = static_cast<char>('0' + lo / 10000);
  lo %= 10000;
  std::memcpy(p + 5, &kDigitPairs[(lo / 100) * 2], 2);
  std::memcpy(p + 7, &kDigitPairs[(lo % 100) * 2], 2);
}

// Writes `scaled` / 10^scale with `scale` decimals at `p`; returns the end.
char* put_fixed(char* p, std::int64_t scaled, int scale) {
  scale = std::clamp(scale, 0, 18);
  const auto u = static_cast<std::uint64_t>(scaled);
  const std::uint64_t v = scaled < 0 ? 0 - u : u;  // |scaled|, INT64_MIN included
  if (scaled < 0) *p++ = '-';
  if (scale == 9) {  // seconds from nanoseconds: nearly every call
    p = std::to_chars(p, p + 21, v / 1000000000).ptr;
    *p++ = '.';
    put_nine(p, v % 1000000000);
    return p + 9;
  }
  const std::uint64_t div = kPow10[static_cast<std::size_t>(scale)];
  p = std::to_chars(p, p + 21, v / div).ptr;
  if (scale == 0) return p;
  *p++ = '.';
  std::uint64_t frac = v % div;
  int i = scale;
  while (i >= 2) {  // two digits at a time
    i -= 2;
    const auto two = static_cast<std::size_t>(frac % 100) * 2;
    frac /= 100;
    p[i] = kDigitPairs[two];
    p[i + 1] = kDigitPairs[two + 1];
  }
  if (i == 1) p[0] = static_cast<char>('0' + frac % 10);
  return p + scale;
}

std::int64_t seconds_scale(int decimals) {
  std::int64_t div = 1;
  for (int i = decimals; i < 9; ++i) div *= 10;
  return div;
}

struct Spare {
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;
};
thread_local Spare t_spare;

}  // namespace

void JsonWriter::take_spare() {
  if (t_spare.buf) {
    buf_ = std::move(t_spare.buf);
    cap_ = t_spare.cap;
    t_spare.cap = 0;
  } else {
    buf_.reset(new char[kInitial]);  // not zero-filled
    cap_ = kInitial;
  }
}

void JsonWriter::give_spare() noexcept {
  if (cap_ > kSpareMax || (t_spare.buf && t_spare.cap >= cap_)) return;
  t_spare.buf = std::move(buf_);
  t_spare.cap = cap_;
}

void append_fixed(std::string& out, std::int64_t scaled, int scale) {
  char buf[kFixedMax];
  out.append(buf, put_fixed(buf, scaled, scale));
}

void append_seconds(std::string& out, std::int64_t ns, int decimals) {
  decimals = std::clamp(decimals, 0, 9);
  append_fixed(out, ns / seconds_scale(decimals), decimals);  // truncates toward zero
}

void JsonWriter::grow(std::size_t n) {
  const std::size_t cap = std::max(used_ + n + 4096, cap_ * 2);
  std::unique_ptr<char[]> bigger(new char[cap]);  // not zero-filled
  std::memcpy(bigger.get(), buf_.get(), used_);
  buf_ = std::move(bigger);
  cap_ = cap;
}

JsonWriter& JsonWriter::str(std::string_view v) {
  // Most strings are our own names or addresses: one copy when nothing needs escaping.
  char* p = comma(v.size() + 2);
  bool plain = true;
  for (char ch : v) {
    if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) {
    *p++ = '"';
    std::memcpy(p, v.data(), v.size());
    p[v.size()] = '"';
    used_ += v.size() + 2;
    return *this;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  p = room(v.size() * 6 + 2);  // the worst case: every byte as \u00XX
  char* const start = p;
  *p++ = '"';
  for (char ch : v) {
    const auto u = static_cast<unsigned char>(ch);
    char esc = 0;
    switch (ch) {
      case '"': esc = '"'; break;
      case '\\': esc = '\\'; break;
      case '\n': esc = 'n'; break;
      case '\r': esc = 'r'; break;
      case '\t': esc = 't'; break;
      default: break;
    }
    if (esc != 0) {
      *p++ = '\\';
      *p++ = esc;
    } else if (u < 0x20) {
      std::memcpy(p, "\\u00", 4);
      p[4] = kHex[u >> 4];
      p[5] = kHex[u & 15];
      p += 6;
    } else {
      *p++ = ch;
    }
  }
  *p++ = '"';
  used_ += static_cast<std::size_t>(p - start);
  return *this;
}

JsonWriter& JsonWriter::fixed(std::int64_t scaled, int decimals) {
  char* p = comma(kFixedMax);
  used_ = static_cast<std::size_t>(put_fixed(p, scaled, decimals) - buf_.get());
  return *this;
}

JsonWriter& JsonWriter::seconds(std::int64_t ns) { return fixed(ns, 9); }

int KeyPacker::add(std::string_view name, std::size_t s) {
  if (count_ == kMaxNames || name.size() > kMaxName) return -1;
  Name& n = names_[count_];
  char* p = n.text.data();
  *p++ = ',';
  *p++ = '"';
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = '"';
  *p++ = ':';
  n.len = static_cast<std::size_t>(p - n.text.data());
  slots_[s] = {name.data(), static_cast<std::uint32_t>(name.size()),
               static_cast<std::uint32_t>(count_)};
  return static_cast<int>(count_++);
}

std::string_view KeyPacker::unpack(std::string_view packed, Buffer& to) const {
  // Each two bytes give at most kSlot; 8 and kSlot bytes are copied at once.
  const std::size_t need = packed.size() / 2 * kSlot + packed.size() % 2 + kSlot + 8;
  if (to.cap < need) {
    to.data.reset(new char[need]);  // not zero-filled
    to.cap = need;
  }
  const char* p = packed.data();
  const char* const end = p + packed.size();
  char* o = to.data.get();
  const auto token = [&] {  // at p: a mark and its index
    const Name& n = names_[static_cast<unsigned char>(p[1])];
    const std::size_t skip = p[0] == kKey ? 1 : 0;  // no comma
    std::memcpy(o, n.text.data() + skip, kSlot);    // within text
    o += n.len - skip;
    p += 2;
  };
  const auto one = [&] {  // at p: a mark and its index, or a byte as it is
    if ((*p == kKey || *p == kCommaKey) && end - p >= 2) {
      token();
    } else {
      *o++ = *p++;
    }
  };
  if constexpr (std::endian::native == std::endian::little) {
    // Eight bytes at a time: copy them, then keep those before the first
    // mark (a byte below 3).
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      std::memcpy(o, &w, 8);
      const std::uint64_t marks = (w - 3 * kOnes) & ~w & (0x80 * kOnes);
      if (marks == 0) {
        p += 8;
        o += 8;
        continue;
      }
      const auto k = static_cast<std::size_t>(std::countr_zero(marks) / 8);
      p += k;
      o += k;
      one();
    }
  }
  while (p < end) one();
  return {to.data.get(), static_cast<std::size_t>(o - to.data.get())};
}

}  // namespace tcplife::output
