// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcplife/core/packet.hpp"

namespace tcplife::source {

enum class ReadStatus : std::uint8_t {
  Packet,     // `out` holds the next packet
  End,        // clean end of input
  Truncated,  // the input ended in the middle of a record; error() says where
  Error,      // the input is corrupt past this point (or a live capture failed); see error()
  Timeout,    // live only: no packet within the read timeout (check stop flags, flush)
};

// Where packets come from. One interface over the built-in classic pcap reader,
// libpcap's offline reader (pcapng files, and pcap with --reader libpcap; "-"
// for stdin), the built-in pcapng reader used where libpcap refuses a valid
// file, and live capture.
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  PacketSource() = default;
  PacketSource(const PacketSource&) = delete;
  PacketSource& operator=(const PacketSource&) = delete;

  // Reads the next packet. `out.bytes` stays valid only until the next call.
  virtual ReadStatus next(core::PacketView& out) = 0;

  // Human-readable reason for the last Truncated/Error status.
  [[nodiscard]] virtual const std::string& error() const = 0;

  // Link types (DLT_*) of the interfaces seen so far, in order of appearance.
  [[nodiscard]] virtual std::vector<int> linktypes() const = 0;

  // Byte offset in the input reached so far (for progress and truncation reports);
  // -1 when unknown (pipes, live).
  [[nodiscard]] virtual std::int64_t position() const = 0;

  // "pcap", "pcapng" or "live".
  [[nodiscard]] virtual std::string format() const = 0;

  // Installs a BPF filter (tcpdump syntax). Returns false and sets `err` if it does not compile.
  virtual bool set_filter(const std::string& expr, std::string& err) = 0;

  // Packets the filter rejected (the caller never sees them).
  [[nodiscard]] virtual std::uint64_t filtered_out() const { return 0; }
};

struct OpenError {
  enum class Kind : std::uint8_t {
    None,
    NotFound,        // no such file
    Permission,      // cannot read it
    Empty,           // zero bytes
    NotCapture,      // not a pcap or pcapng file
    Corrupt,         // a capture header that cannot be read
    UnsupportedLinkType,
    Other
  };
  Kind kind = Kind::None;
  std::string message;  // one line, names the file and the problem
};

// What reads classic pcap files: tcplife's own reader (views into one large
// read(2) buffer; the default), the same reader mapping a regular file in
// windows instead (`--reader mmap`), or libpcap's pcap_next_ex (`--reader
// libpcap`). All give the same packets and errors. pcapng always starts with
// libpcap.
enum class PcapReaderKind : std::uint8_t { Builtin, BuiltinMapped, Libpcap };

// Opens a saved capture ("-" = standard input), classic pcap read by `kind`.
// On failure returns nullptr and fills `err`.
std::unique_ptr<PacketSource> open_file(const std::string& path, OpenError& err,
                                        PcapReaderKind kind = PcapReaderKind::Builtin);

}  // namespace tcplife::source
