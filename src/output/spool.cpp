// SPDX-License-Identifier: MIT
#include "tcplife/output/spool.hpp"

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
      text.resize(p.len);
      if (std::fseek(file_, static_cast<long>(p.offset), SEEK_SET) != 0 ||
          std::fread(text.data(), 1, p.len, file_) != p.len)
        text = lost;  // the temporary file failed us
    } else {
      in_memory_ -= p.text.size();
      text = std::move(p.text);
    }
    pending_.erase(pending_.begin());
    f(text);
  }
}

void RecordSpool::spill() {
  if (file_ == nullptr) file_ = std::tmpfile();
  if (file_ == nullptr) return;  // no temporary file: keep them in memory
  std::fseek(file_, 0, SEEK_END);
  for (auto& [id, p] : pending_) {
    if (p.spilled) continue;
    p.offset = static_cast<std::uint64_t>(std::ftell(file_));
    p.len = static_cast<std::uint32_t>(p.text.size());
    if (std::fwrite(p.text.data(), 1, p.text.size(), file_) != p.text.size()) return;
    p.spilled = true;
    in_memory_ -= p.text.size();
    std::string().swap(p.text);
  }
}

}  // namespace tcplife::output
