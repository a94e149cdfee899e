// SPDX-License-Identifier: MIT
#include "tcplife/output/spool.hpp"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace tcplife::output {

RecordSpool::~RecordSpool() {
  if (file_ != nullptr) std::fclose(file_);
}

void RecordSpool::put(std::uint64_t id, std::string text) {
  // The buffer never grows past the budget (growing copies it: twice the
  // memory for a moment): spill first, and reserve the budget at once (the
  // pages are touched only as records fill them).
  if (in_memory_ > 0 && memory_.size() + text.size() > budget_) spill();
  if (memory_.capacity() < budget_) memory_.reserve(std::min(budget_, kMaxReserve));
  Pending p;
  p.id = id;
  p.offset = memory_.size();
  p.len = static_cast<std::uint32_t>(text.size());
  memory_ += text;
  ++in_memory_;
  push(p);
  // The buffer's size counts, drained records included: it is what memory
  // holds. Over the budget here: the file failed, or one record is larger.
  if (memory_.size() > budget_) spill();
}

void RecordSpool::drain_below(std::uint64_t below, const std::function<void(std::string&)>& f,
                              std::string_view lost) {
  std::string text;
  while (count_ > 0 && at(0).id < below) {
    const Pending p = pop();
    if (p.spilled) {
      // One pread per record at its offset: records come back in id order,
      // not in the order they were spilled, and a seek on the stream would
      // throw its buffer away every time.
      text.resize(p.len);
      if (!read_back(p, text.data())) text = lost;  // the temporary file failed us
    } else {
      text.assign(memory_, static_cast<std::size_t>(p.offset), p.len);
      if (--in_memory_ == 0) memory_.clear();
    }
    f(text);
  }
  if (count_ == 0) std::string().swap(memory_);
}

void RecordSpool::push(const Pending& p) {
  if ((count_ >> kChunkShift) == chunks_.size())
    chunks_.push_back(std::make_unique<Pending[]>(kChunk));
  std::size_t i = count_++;
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (at(parent).id <= p.id) break;
    at(i) = at(parent);
    i = parent;
  }
  at(i) = p;
}

RecordSpool::Pending RecordSpool::pop() noexcept {
  const Pending top = at(0);
  const Pending last = at(--count_);
  if (count_ > 0) {
    std::size_t i = 0;
    for (;;) {
      const std::size_t l = 2 * i + 1;
      if (l >= count_) break;
      const std::size_t m = l + 1 < count_ && at(l + 1).id < at(l).id ? l + 1 : l;
      if (last.id <= at(m).id) break;
      at(i) = at(m);
      i = m;
    }
    at(i) = last;
  }
  // Keep one spare chunk beyond the ones in use.
  while (chunks_.size() > (count_ >> kChunkShift) + 2) chunks_.pop_back();
  return top;
}

bool RecordSpool::read_back(const Pending& p, char* to) {
  if (unflushed_) {
    if (std::fflush(file_) != 0) return false;
    unflushed_ = false;
  }
  std::size_t done = 0;
  while (done < p.len) {
    const ssize_t n = ::pread(fileno(file_), to + done, p.len - done,
                              static_cast<off_t>(p.offset + done));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void RecordSpool::spill() {
  if (broken_) return;  // the file failed once: keep records in memory from then on
  if (file_ == nullptr) {
    file_ = std::tmpfile();
    if (file_ == nullptr) return;  // no temporary file: keep them in memory
    // Big sequential writes (glibc ignores the size unless given the buffer).
    file_buffer_ = std::make_unique<char[]>(kFileBuffer);
    std::setvbuf(file_, file_buffer_.get(), _IOFBF, kFileBuffer);
  }
  for (std::size_t i = 0; i < count_; ++i) {
    Pending& p = at(i);
    if (p.spilled) continue;
    const char* text = memory_.data() + p.offset;
    if (std::fwrite(text, 1, p.len, file_) != p.len) {
      broken_ = true;  // where the file ends is unknown now
      return;
    }
    p.offset = file_end_;
    file_end_ += p.len;
    unflushed_ = true;
    p.spilled = true;
    --in_memory_;
  }
  std::string().swap(memory_);  // every record is in the file
}

}  // namespace tcplife::output
