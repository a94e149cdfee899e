// SPDX-License-Identifier: MIT
#include <algorithm>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

std::int64_t DataTracker::hole_bytes() const noexcept {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < nholes_; ++i) n += holes_[i].end - holes_[i].begin;
  return n;
}

bool DataTracker::all_seen(std::int64_t begin, std::int64_t end) const noexcept {
  if (!started_ || begin < low_ || end > high_) return false;
  for (std::size_t i = 0; i < nholes_; ++i)
    if (holes_[i].begin < end && begin < holes_[i].end) return false;
  return true;
}

std::int64_t DataTracker::add(std::int64_t begin, std::int64_t end) noexcept {
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
    if (end < low_) {
      // A disjoint range below: the space between becomes a hole.
      if (nholes_ < kMaxHoles) {
        holes_[nholes_++] = {end, low_};
      } else {
        approximate_ = true;
      }
    }
    low_ = begin;
  }
  const std::int64_t in_begin = std::max(begin, old_low);
  const std::int64_t in_end = std::min(end, high_);
  std::int64_t seen_before = 0;
  if (in_begin < in_end) {
    // Overlap with [low_, high_): whatever is not a hole was seen before; fill holes.
    std::int64_t filled = 0;
    std::size_t i = 0;
    while (i < nholes_) {
      Range& h = holes_[i];
      const std::int64_t ob = std::max(h.begin, in_begin);
      const std::int64_t oe = std::min(h.end, in_end);
      if (ob >= oe) {
        ++i;
        continue;
      }
      filled += oe - ob;
      if (ob == h.begin && oe == h.end) {
        holes_[i] = holes_[--nholes_];  // hole filled completely
        continue;
      }
      if (ob == h.begin) {
        h.begin = oe;
      } else if (oe == h.end) {
        h.end = ob;
      } else if (nholes_ < kMaxHoles) {  // split in two
        const Range right{oe, h.end};
        h.end = ob;
        holes_[nholes_++] = right;
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
    if (begin > high_) {
      if (nholes_ < kMaxHoles) {
        holes_[nholes_++] = {high_, begin};
      } else {
        approximate_ = true;  // too many holes: this gap is counted as seen
      }
    }
    high_ = end;
  }
  return seen_before;
}

}  // namespace tcplife::tcp
