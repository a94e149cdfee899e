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
  if (pending_.empty() || pending_.back().id < id) {
    pending_.push_back(p);
  } else if (id < pending_.front().id) {
    pending_.push_front(p);
  } else {
    const auto at = std::upper_bound(pending_.begin(), pending_.end(), id,
                                     [](std::uint64_t v, const Pending& e) { return v < e.id; });
    pending_.insert(at, p);
  }
  // The buffer's size counts, drained records included: it is what memory
  // holds. Over the budget here: the file failed, or one record is larger.
  if (memory_.size() > budget_) spill();
}

void RecordSpool::drain_below(std::uint64_t below, const std::function<void(std::string_view)>& f,
                              std::string_view lost) {
  std::string text;
  while (!pending_.empty() && pending_.front().id < below) {
    const Pending p = pending_.front();
    pending_.pop_front();
    if (p.spilled) {
      // One pread per record at its offset: records come back in id order,
      // not in the order they were spilled, and a seek on the stream would
      // throw its buffer away every time.
      text.resize(p.len);
      f(read_back(p, text.data()) ? std::string_view(text) : lost);  // the file may fail us
    } else {
      f(std::string_view(memory_).substr(static_cast<std::size_t>(p.offset), p.len));
      if (--in_memory_ == 0) memory_.clear();
    }
  }
  if (pending_.empty()) std::string().swap(memory_);
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
  for (Pending& p : pending_) {
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
