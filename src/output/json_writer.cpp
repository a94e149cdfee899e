// SPDX-License-Identifier: MIT
#include "tcplife/output/json_writer.hpp"

#include <charconv>

namespace tcplife::output {

void append_fixed(std::string& out, std::int64_t scaled, int scale) {
  scale = scale < 0 ? 0 : (scale > 18 ? 18 : scale);
  const auto u = static_cast<std::uint64_t>(scaled);
  const std::uint64_t v = scaled < 0 ? 0 - u : u;  // |scaled|, INT64_MIN included
  if (scaled < 0) out.push_back('-');
  std::uint64_t div = 1;
  for (int i = 0; i < scale; ++i) div *= 10;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v / div);
  out.append(buf, r.ptr);
  if (scale <= 0) return;
  out.push_back('.');
  std::uint64_t frac = v % div;
  char digits[18];
  for (int i = scale - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(digits, static_cast<std::size_t>(scale));
}

void append_seconds(std::string& out, std::int64_t ns, int decimals) {
  decimals = decimals < 0 ? 0 : (decimals > 9 ? 9 : decimals);
  std::int64_t div = 1;
  for (int i = decimals; i < 9; ++i) div *= 10;
  append_fixed(out, ns / div, decimals);  // truncates toward zero, as before
}

void JsonWriter::comma() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

JsonWriter& JsonWriter::begin_object() {
  comma();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  comma();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}
// The hottest calls of the writer (a record has ~150 keys): one append each
// where the text needs no escaping.
JsonWriter& JsonWriter::key(std::string_view k) {
  char buf[72];
  if (k.size() + 4 <= sizeof buf) {
    std::size_t n = 0;
    if (need_comma_) buf[n++] = ',';
    buf[n++] = '"';
    for (char ch : k) buf[n++] = ch;  // keys are our own identifiers: no escaping needed
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
  } else {
    comma();
    out_.push_back('"');
    out_.append(k);
    out_.append("\":");
  }
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::str(std::string_view v) {
  comma();
  out_.push_back('"');
  bool plain = true;
  for (char ch : v) {
    if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out_.append(v);
    out_.push_back('"');
    return *this;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : v) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      default:
        if (u < 0x20) {
          out_.append("\\u00");
          out_.push_back(kHex[u >> 4]);
          out_.push_back(kHex[u & 15]);
        } else {
          out_.push_back(ch);
        }
    }
  }
  out_.push_back('"');
  return *this;
}
JsonWriter& JsonWriter::num(std::int64_t v) {
  comma();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}
JsonWriter& JsonWriter::unum(std::uint64_t v) {
  comma();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}
JsonWriter& JsonWriter::boolean(bool v) {
  comma();
  out_.append(v ? "true" : "false");
  return *this;
}
JsonWriter& JsonWriter::null() {
  comma();
  out_.append("null");
  return *this;
}
JsonWriter& JsonWriter::fixed(std::int64_t scaled, int decimals) {
  comma();
  append_fixed(out_, scaled, decimals);
  return *this;
}
JsonWriter& JsonWriter::seconds(std::int64_t ns) {
  comma();
  append_seconds(out_, ns);
  return *this;
}

}  // namespace tcplife::output
