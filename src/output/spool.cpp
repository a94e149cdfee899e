// SPDX-License-Identifier: MIT
#include "tcplife/output/spool.hpp"

#include <unistd.h>

#include <utility>

namespace tcplife::output {

RecordSpool::~RecordSpool() {
  if (file_ != nullptr) std::fclose(file_);
}

void RecordSpool::put(std::uint64_t id, std::string text) {
  in_memory_ += text.size();
  Pending p;
  p.text = std::move(text);
  pending_.emplace(id, std::move(p));
  if (in_memory_ > budget_) spill();
}

void RecordSpool::drain_below(std::uint64_t below, const std::function<void(std::string&)>& f,
                              std::string_view lost) {
  std::string text;
  while (!pending_.empty() && pending_.begin()->first < below) {
    Pending& p = pending_.begin()->second;
    if (p.spilled) {
      // One pread per record at its offset: records come back in id order,
      // not in the order they were spilled, and a seek on the stream would
      // throw its buffer away every time.
      text.resize(p.len);
      if (!read_back(p, text.data())) text = lost;  // the temporary file failed us
    } else {
      in_memory_ -= p.text.size();
      text = std::move(p.text);
    }
    pending_.erase(pending_.begin());
    f(text);
  }
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
  for (auto& [id, p] : pending_) {
    if (p.spilled) continue;
    p.offset = file_end_;
    p.len = static_cast<std::uint32_t>(p.text.size());
    if (std::fwrite(p.text.data(), 1, p.text.size(), file_) != p.text.size()) {
      broken_ = true;  // where the file ends is unknown now
      return;
    }
    file_end_ += p.len;
    unflushed_ = true;
    p.spilled = true;
    in_memory_ -= p.text.size();
    std::string().swap(p.text);
  }
}

}  // namespace tcplife::output
