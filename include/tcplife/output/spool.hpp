// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tcplife/core/huge_buffer.hpp"

namespace tcplife::output {

// An unlinked temporary file in $TMPDIR (if set and usable), else in /tmp;
// nullptr if neither can have one.
std::FILE* open_temporary();

// Finished records (their output text) waiting to be written in id order.
// They are kept in memory up to `budget` bytes, then moved to an unlinked
// temporary file (open_temporary()) as one run, sorted by id, each record
// behind its id and length. Memory keeps no index of the records in the
// file, only 40 bytes a run (one run per budget's worth, 32 MB by default).
// If the file cannot be made or written, they stay in memory (failure()
// says why): none is lost. This keeps the sinks
// that print in first-packet order (the JSON document, the text table)
// bounded by the connections open at once, not by the capture, even behind
// a connection that stays open from the first packet to the last.
//
// Texts are copied into 2 MiB blocks (no allocation per record; huge pages
// where the kernel has them, and kept for reuse once drained) and indexed
// by a binary heap on id (no node per record): the JSON document puts one
// record per connection through here. Draining merges that heap with the
// runs' heads.
class RecordSpool {
 public:
  explicit RecordSpool(std::size_t budget = std::size_t{32} << 20) : budget_(budget) {}
  ~RecordSpool();
  RecordSpool(const RecordSpool&) = delete;
  RecordSpool& operator=(const RecordSpool&) = delete;

  void put(std::uint64_t id, std::string_view text);
  // Hands every record with an id below `below` to `f`, in id order, and
  // forgets it. The view is valid during the call. A record the temporary
  // file failed to give back is handed over as `lost` instead. Stops early
  // once the records handed over reach `limit` bytes.
  void drain_below(std::uint64_t below, const std::function<void(std::string_view)>& f,
                   std::string_view lost, std::size_t limit = SIZE_MAX);
  [[nodiscard]] bool empty() const noexcept { return heap_.empty() && runs_.empty(); }
  // Whether a record with an id below `below` is waiting.
  [[nodiscard]] bool ready_below(std::uint64_t below) const noexcept {
    return (!heap_.empty() && heap_.front().id < below) ||
           (!runs_.empty() && runs_.front().id < below);
  }
  // Why records stayed in memory beyond the budget (the temporary file could
  // not be made or written), as a sentence for a warning; or empty.
  [[nodiscard]] std::string failure() const {
    return failure_.empty() ? failure_
                            : failure_ +
                                  ": records waiting for earlier connections were kept "
                                  "in memory beyond " +
                                  std::to_string(budget_ >> 20) + " MB";
  }
  // Times the records in memory went to the temporary file (once per budget's worth).
  [[nodiscard]] std::uint64_t spills() const noexcept { return spills_; }
  // What memory holds to find the waiting records: an entry per record in
  // memory and one per run in the file.
  [[nodiscard]] std::size_t index_entries() const noexcept { return heap_.size() + runs_.size(); }
  // Bytes of block memory held, in use or kept for reuse.
  [[nodiscard]] std::size_t held() const noexcept {
    std::size_t n = 0;
    for (const Block& b : blocks_) n += b.data ? b.cap : 0;
    return n;
  }

 private:
  static constexpr std::uint32_t kNoBlock = 0xffffffff;
  struct Entry {  // a record in memory
    std::uint64_t id;
    std::uint64_t where;  // offset in its block
    std::uint32_t len;
    std::uint32_t block;  // index in blocks_
  };
  // The records one spill wrote, in id order, each as kHeader bytes (id,
  // then length, in this machine's byte order) and the text. Only the next
  // record's header is held here.
  static constexpr std::size_t kHeader = 12;
  struct Run {
    std::uint64_t next;  // file offset of the next record's header
    std::uint64_t left;  // records not yet drained, the next one included
    std::uint64_t id;    // the next record's id
    std::uint32_t len;   // and length
  };
  struct Block {
    core::HugeBuffer data;  // kept when freed if it is kBlock bytes
    std::size_t cap = 0, used = 0;
    std::size_t live = 0;  // records in it not yet drained
  };
  template <class T>
  static bool later(const T& a, const T& b) noexcept {
    return a.id > b.id;
  }
  char* place(std::size_t len, std::uint32_t& block, std::uint64_t& where);
  void release(std::uint32_t block);
  void spill();
  std::size_t drain_run(const std::function<void(std::string_view)>& f, std::string_view lost);
  const char* read_back(std::uint64_t offset, std::size_t len);
  bool read_at(std::uint64_t offset, char* to, std::size_t len);

  // Runs are read back through a few windows on the file: records drained in
  // id order come from a few runs read forward. One pread per window, not
  // per record.
  struct Window {
    std::unique_ptr<char[]> data;
    std::uint64_t from = 0, to = 0;  // file range held
    std::uint64_t used = 0;          // for least-recently-used replacement
  };
  static constexpr std::size_t kWindow = std::size_t{256} << 10;
  static constexpr std::size_t kWindows = 4;
  std::array<Window, kWindows> windows_{};
  std::uint64_t window_clock_ = 0;

  static constexpr std::size_t kBlock = core::kHugePage;
  static constexpr std::size_t kFileBuffer = std::size_t{1} << 20;
  std::size_t budget_;
  std::vector<Entry> heap_;  // min-heap on id
  std::vector<Run> runs_;    // min-heap on the next record's id; a run leaves once drained
  std::vector<Block> blocks_;
  std::vector<std::uint32_t> free_blocks_;  // indices in blocks_ whose memory was freed
  std::uint32_t current_ = kNoBlock;        // the block being filled
  std::size_t in_memory_ = 0;               // bytes of allocated blocks
  std::string scratch_;                     // a record read back from the file
  std::unique_ptr<char[]> file_buffer_;     // file_'s stdio buffer: outlives it (closed first)
  std::FILE* file_ = nullptr;
  bool broken_ = false;
  std::string failure_;         // why broken_
  std::uint64_t file_end_ = 0;  // bytes in file_ (the flushed runs)
  std::uint64_t spills_ = 0;
};

}  // namespace tcplife::output
