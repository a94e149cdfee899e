// SPDX-License-Identifier: MIT
#include <algorithm>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

std::int64_t DataTracker::hole_bytes() const noexcept {
  std::int64_t n = 0;
  for (const Range& h : holes_) n += h.end - h.begin;
  return n;
}

bool DataTracker::all_seen(std::int64_t begin, std::int64_t end) const noexcept {
  if (!started_ || begin < low_ || end > high_) return false;
  for (const Range& h : holes_)
    if (h.begin < end && begin < h.end) return false;
  return true;
}

void DataTracker::add_hole(std::int64_t begin, std::int64_t end) {
  if (holes_.size() < kMaxHoles) {
    holes_.push_back({begin, end});
  } else {
    approximate_ = true;  // too many holes at once: this gap is counted as seen
  }
}

std::int64_t DataTracker::add(std::int64_t begin, std::int64_t end) {
  if (end <= begin) return 0;
  if (!started_) {
    started_ = true;
    low_ = begin;
    high_ = end;
    return 0;
  }
  // Bytes below everything seen so far are new (data before the capture's
  // first segment of this side, arriving late).
  const std::int64_t old_low = low_;
  if (begin < low_) {
    if (end < low_) add_hole(end, low_);  // a disjoint range below: the space between is a hole
    low_ = begin;
  }
  const std::int64_t in_begin = std::max(begin, old_low);
  const std::int64_t in_end = std::min(end, high_);
  std::int64_t seen_before = 0;
  if (in_begin < in_end) {
    // Overlap with what was seen: whatever is not a hole was seen before; fill holes.
    std::int64_t filled = 0;
    std::size_t i = 0;
    while (i < holes_.size()) {
      Range& h = holes_[i];
      const std::int64_t ob = std::max(h.begin, in_begin);
      const std::int64_t oe = std::min(h.end, in_end);
      if (ob >= oe) {
        ++i;
        continue;
      }
      filled += oe - ob;
      if (ob == h.begin && oe == h.end) {  // filled completely
        h = holes_.back();
        holes_.pop_back();
        continue;
      }
      if (ob == h.begin) {
        h.begin = oe;
      } else if (oe == h.end) {
        h.end = ob;
      } else if (holes_.size() < kMaxHoles) {  // split in two
        const Range right{oe, h.end};
        h.end = ob;
        holes_.push_back(right);
      } else {
        // No room to split: keep the larger part as the hole; the smaller
        // part's bytes are no longer tracked exactly.
        approximate_ = true;
        if (ob - h.begin >= h.end - oe) {
          h.end = ob;
        } else {
          h.begin = oe;
        }
      }
      ++i;
    }
    seen_before = (in_end - in_begin) - filled;
  }
  if (end > high_) {
    if (begin > high_) add_hole(high_, begin);
    high_ = end;
  }
  return seen_before;
}

}  // namespace tcplife::tcp
