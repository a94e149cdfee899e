// SPDX-License-Identifier: MIT
// Built-in pcapng reader, used only where libpcap 1.10 refuses a valid file:
// interfaces with different link types or snap lengths, or sections with
// different byte orders (all allowed by the pcapng specification).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "tcplife/source/packet_source.hpp"

namespace tcplife::source {

class PcapngReader {
 public:
  // Takes ownership of `f` (closed by the destructor).
  explicit PcapngReader(std::FILE* f) noexcept : f_(f) {}
  ~PcapngReader();
  PcapngReader(const PcapngReader&) = delete;
  PcapngReader& operator=(const PcapngReader&) = delete;

  // Reads the first section header. False (and `why` set) if it is missing or
  // unusable: the file is not a readable pcapng. Call once, before next().
  bool start(std::string& why);
  ReadStatus next(core::PacketView& out);
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::vector<int> linktypes() const { return seen_linktypes_; }
  [[nodiscard]] std::int64_t position() const;

 private:
  struct Interface {
    int linktype = 0;
    std::uint32_t snaplen = 0;
    bool tsresol_pow2 = false;
    std::uint8_t tsresol_exp = 6;  // 10^-6 by default
    std::int64_t tsoffset_s = 0;
  };

  ReadStatus read_block(std::uint32_t& type, std::size_t& body_len);
  bool parse_shb(std::size_t body_len);
  bool parse_idb(std::size_t body_len);
  std::uint16_t u16(std::size_t off) const;
  std::uint32_t u32(std::size_t off) const;
  core::Timestamp to_ts(const Interface& itf, std::uint64_t units) const;
  ReadStatus fail(ReadStatus s, std::string msg);

  std::FILE* f_;
  bool swapped_ = false;
  bool have_section_ = false;
  std::vector<std::uint8_t> buf_;  // reused block buffer: grows, never per packet
  std::vector<Interface> ifaces_;
  std::vector<int> seen_linktypes_;
  std::uint64_t index_ = 0;
  core::Timestamp last_ts_{};
  std::string error_;
};

}  // namespace tcplife::source
