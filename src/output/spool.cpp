// SPDX-License-Identifier: MIT
#include "tcplife/output/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tcplife::output {
namespace {

// An unlinked file in `dir`, open for reading and writing, or -1.
int temporary_in(const std::string& dir) {
#ifdef O_TMPFILE
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  // A file system without O_TMPFILE: make a file and unlink it at once.
  std::string name = dir + "/tcplife-spool-XXXXXX";
  const int named = ::mkostemp(name.data(), O_CLOEXEC);
  if (named >= 0) ::unlink(name.c_str());
  return named;
}

}  // namespace

std::FILE* open_temporary() {
  const char* env = std::getenv("TMPDIR");
  int fd = env != nullptr && *env != '\0' ? temporary_in(env) : -1;
  if (fd < 0) fd = temporary_in("/tmp");
  if (fd < 0) return nullptr;
  std::FILE* f = ::fdopen(fd, "w+b");
  if (f == nullptr) ::close(fd);
  return f;
}

RecordSpool::~RecordSpool() {
  if (file_ != nullptr) std::fclose(file_);
}

// Room for `len` bytes in the current block (a new one if it is full).
char* RecordSpool::place(std::size_t len, std::uint32_t& block, std::uint64_t& where) {
  if (current_ == kNoBlock || blocks_[current_].cap - blocks_[current_].used < len) {
    if (current_ != kNoBlock && blocks_[current_].live == 0) release(current_);
    if (free_blocks_.empty()) {
      free_blocks_.push_back(static_cast<std::uint32_t>(blocks_.size()));
      blocks_.emplace_back();
    }
    current_ = free_blocks_.back();
    free_blocks_.pop_back();
    Block& b = blocks_[current_];
    // A freed block keeps its memory for the next (fresh pages cost a fault
    // each); only an oversized record's block is given back.
    if (!b.data || b.cap < std::max(kBlock, len)) {
      b.cap = std::max(kBlock, len);
      b.data = core::huge_buffer(b.cap);
    }
    b.used = b.live = 0;
    in_memory_ += b.cap;
  }
  Block& b = blocks_[current_];
  block = current_;
  where = b.used;
  b.used += len;
  ++b.live;
  return b.data.get() + where;
}

// Frees a block whose records are all gone (drained or spilled). A block of
// kBlock bytes keeps its memory for place(): the spool never holds more than
// the budget and one block, reused or not.
void RecordSpool::release(std::uint32_t block) {
  Block& b = blocks_[block];
  in_memory_ -= b.cap;
  if (b.cap != kBlock) {
    b.data.reset();
    b.cap = 0;
  }
  b.used = b.live = 0;
  free_blocks_.push_back(block);
  if (block == current_) current_ = kNoBlock;
}

void RecordSpool::put(std::uint64_t id, std::string_view text) {
  Entry e{id, 0, static_cast<std::uint32_t>(text.size()), 0};
  std::memcpy(place(text.size(), e.block, e.where), text.data(), text.size());
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), later<Entry>);
  if (in_memory_ > budget_) spill();
}

void RecordSpool::drain_below(std::uint64_t below, const std::function<void(std::string_view)>& f,
                              std::string_view lost, std::size_t limit) {
  for (std::size_t n = 0; n < limit && ready_below(below);) {
    if (!runs_.empty() && (heap_.empty() || runs_.front().id < heap_.front().id)) {
      n += drain_run(f, lost);
      continue;
    }
    std::pop_heap(heap_.begin(), heap_.end(), later<Entry>);
    const Entry e = heap_.back();
    heap_.pop_back();
    n += e.len;
    Block& b = blocks_[e.block];
    f(std::string_view(b.data.get() + e.where, e.len));
    if (--b.live == 0 && e.block != current_) release(e.block);
  }
}

// Hands over the lowest run's next record and reads the header after it.
// If the file fails, the rest of that run can no longer be found: each of
// its records is handed over as `lost` now. Returns the bytes handed over.
std::size_t RecordSpool::drain_run(const std::function<void(std::string_view)>& f,
                                   std::string_view lost) {
  std::pop_heap(runs_.begin(), runs_.end(), later<Run>);
  Run& r = runs_.back();
  const std::size_t len = r.len;
  const char* text = read_back(r.next + kHeader, len);
  f(text != nullptr ? std::string_view(text, len) : lost);
  r.next += kHeader + len;
  --r.left;
  const char* header = text != nullptr && r.left > 0 ? read_back(r.next, kHeader) : nullptr;
  if (header == nullptr) {
    for (; r.left > 0; --r.left) f(lost);
    runs_.pop_back();
    return len;
  }
  std::memcpy(&r.id, header, sizeof r.id);
  std::memcpy(&r.len, header + sizeof r.id, sizeof r.len);
  std::push_heap(runs_.begin(), runs_.end(), later<Run>);
  return len;
}

// `len` bytes of the file from `offset`: in one of the windows (read in if
// need be), or in scratch_ if bigger than a window. Null if the file failed.
const char* RecordSpool::read_back(std::uint64_t offset, std::size_t len) {
  if (len > kWindow) {
    scratch_.resize(len);
    return read_at(offset, scratch_.data(), len) ? scratch_.data() : nullptr;
  }
  Window* w = nullptr;
  for (Window& x : windows_)
    if (x.data && offset >= x.from && offset + len <= x.to) w = &x;
  if (w == nullptr) {  // the least recently used window reads on from here
    w = &windows_[0];
    for (Window& x : windows_)
      if (!x.data || x.used < w->used) w = &x;
    if (!w->data) w->data = std::make_unique_for_overwrite<char[]>(kWindow);
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(kWindow, file_end_ - offset));
    w->from = w->to = 0;
    if (n < len || !read_at(offset, w->data.get(), n)) return nullptr;
    w->from = offset;
    w->to = offset + n;
  }
  w->used = ++window_clock_;
  return w->data.get() + (offset - w->from);
}

bool RecordSpool::read_at(std::uint64_t offset, char* to, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n =
        ::pread(fileno(file_), to + done, len - done, static_cast<off_t>(offset + done));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Moves every record still in memory to the file as one run, then frees
// every block. The run counts only once it is wholly in the file (flushed):
// if the file fails, every record stays in memory, none is lost.
void RecordSpool::spill() {
  if (broken_) return;  // the file failed once: keep records in memory from then on
  if (file_ == nullptr) {
    file_ = open_temporary();
    if (file_ == nullptr) {
      failure_ = std::string("no temporary file could be made in $TMPDIR or /tmp (") +
                 std::strerror(errno) + ")";
      broken_ = true;  // no temporary file: keep them in memory
      return;
    }
    // Big sequential writes (glibc ignores the size unless given the buffer).
    file_buffer_ = std::make_unique_for_overwrite<char[]>(kFileBuffer);
    std::setvbuf(file_, file_buffer_.get(), _IOFBF, kFileBuffer);
  }
  if (heap_.empty()) return;
  // In id order, so that they come back as a run read forward. (Sorted
  // ascending, what stays in memory after a failure is still a heap.)
  std::sort(heap_.begin(), heap_.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  std::uint64_t end = file_end_;
  bool ok = true;
  for (const Entry& e : heap_) {
    char header[kHeader];
    std::memcpy(header, &e.id, sizeof e.id);
    std::memcpy(header + sizeof e.id, &e.len, sizeof e.len);
    const char* text = blocks_[e.block].data.get() + e.where;
    ok = std::fwrite(header, 1, kHeader, file_) == kHeader &&
         std::fwrite(text, 1, e.len, file_) == e.len;
    if (!ok) break;
    end += kHeader + e.len;
  }
  if (!ok || std::fflush(file_) != 0) {
    // Where the file ends is unknown now, and what stdio still buffers may
    // never get there: the earlier runs (flushed) stay readable, the rest
    // stays in memory.
    failure_ = std::string("writing the temporary file failed (") + std::strerror(errno) + ")";
    broken_ = true;
    return;
  }
  runs_.push_back({file_end_, heap_.size(), heap_.front().id, heap_.front().len});
  std::push_heap(runs_.begin(), runs_.end(), later<Run>);
  file_end_ = end;
  for (const Entry& e : heap_)
    if (--blocks_[e.block].live == 0 && e.block != current_) release(e.block);
  heap_.clear();
  if (current_ != kNoBlock) release(current_);  // its records are all in the file too
  ++spills_;
}

}  // namespace tcplife::output
