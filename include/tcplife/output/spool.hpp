// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tcplife::output {

// Finished records (their output text) waiting to be written in id order.
// Their text is kept in memory (one buffer) up to `budget` bytes, then moved
// to an unlinked temporary file; memory then holds 24 bytes per waiting
// record (a heap entry: id, place, length). This keeps the sinks that print in
// first-packet order (the JSON document, the text table) bounded by the
// connections open at once, not by the capture, beyond those 24 bytes.
class RecordSpool {
 public:
  explicit RecordSpool(std::size_t budget = std::size_t{32} << 20) : budget_(budget) {}
  ~RecordSpool();
  RecordSpool(const RecordSpool&) = delete;
  RecordSpool& operator=(const RecordSpool&) = delete;

  void put(std::uint64_t id, std::string text);
  // Hands every record with an id below `below` to `f`, in id order, and
  // forgets it. A record the temporary file failed to give back is handed
  // over as `lost` instead. The text is valid only during the call.
  void drain_below(std::uint64_t below, const std::function<void(std::string_view)>& f,
                   std::string_view lost);
  [[nodiscard]] bool empty() const noexcept { return pending_.empty(); }

 private:
  struct Pending {
    std::uint64_t id = 0;
    std::uint64_t offset = 0;  // in the file (spilled) or in memory_
    std::uint32_t len = 0;
    bool spilled = false;
  };
  void spill();
  bool read_back(const Pending& p, char* to);

  static constexpr std::size_t kFileBuffer = std::size_t{1} << 20;
  static constexpr std::size_t kMaxReserve = std::size_t{32} << 20;  // memory_ reserved at most
  std::size_t budget_;
  // The waiting records by id. Records mostly finish in id order, so most
  // go at the back; a deque: growing never copies it.
  std::deque<Pending> pending_;
  std::string memory_;                   // the text of records not spilled, one after another
  std::size_t in_memory_ = 0;            // records whose text is in memory_
  std::unique_ptr<char[]> file_buffer_;  // file_'s stdio buffer: outlives it (closed first)
  std::FILE* file_ = nullptr;
  bool broken_ = false;
  std::uint64_t file_end_ = 0;  // bytes written to file_ (buffered or not)
  bool unflushed_ = false;      // file_'s buffer may hold records not yet in the file
};

}  // namespace tcplife::output
