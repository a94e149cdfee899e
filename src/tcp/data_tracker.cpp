// SPDX-License-Identifier: MIT
#include <algorithm>

#include "tcplife/tcp/connection.hpp"

namespace tcplife::tcp {

DataTracker::DataTracker(const DataTracker& o)
    : low_(o.low_),
      high_(o.high_),
      holes_(o.holes_ ? std::make_unique<Holes>(*o.holes_) : nullptr) {}

DataTracker& DataTracker::operator=(const DataTracker& o) {
  if (this != &o) *this = DataTracker(o);
  return *this;
}

std::int64_t DataTracker::hole_bytes() const noexcept {
  std::int64_t n = 0;
  if (holes_)
    for (const Range& h : holes_->ranges) n += h.end - h.begin;
  return n;
}

bool DataTracker::all_seen(std::int64_t begin, std::int64_t end) const noexcept {
  if (!started() || begin < low_ || end > high_) return false;
  if (holes_)
    for (const Range& h : holes_->ranges)
      if (h.begin < end && begin < h.end) return false;
  return true;
}

void DataTracker::add_hole(std::int64_t begin, std::int64_t end) {
  if (!holes_) holes_ = std::make_unique<Holes>();
  if (holes_->ranges.size() < kMaxHoles) {
    holes_->ranges.push_back({begin, end});
  } else {
    holes_->approximate = true;  // too many holes at once: this gap is counted as seen
  }
}

// Fills the holes [in_begin, in_end) covers; returns the bytes filled.
std::int64_t DataTracker::fill_holes(std::int64_t in_begin, std::int64_t in_end) {
  std::vector<Range>& holes = holes_->ranges;
  std::int64_t filled = 0;
  std::size_t i = 0;
  while (i < holes.size()) {
    Range& h = holes[i];
    const std::int64_t ob = std::max(h.begin, in_begin);
    const std::int64_t oe = std::min(h.end, in_end);
    if (ob >= oe) {
      ++i;
      continue;
    }
    filled += oe - ob;
    if (ob == h.begin && oe == h.end) {  // filled completely
      h = holes.back();
      holes.pop_back();
      continue;
    }
    if (ob == h.begin) {
      h.begin = oe;
    } else if (oe == h.end) {
      h.end = ob;
    } else if (holes.size() < kMaxHoles) {  // split in two
      const Range right{oe, h.end};
      h.end = ob;
      holes.push_back(right);
    } else {
      // No room to split: keep the larger part as the hole; the smaller
      // part's bytes are no longer tracked exactly.
      holes_->approximate = true;
      if (ob - h.begin >= h.end - oe) {
        h.end = ob;
      } else {
        h.begin = oe;
      }
    }
    ++i;
  }
  return filled;
}

std::int64_t DataTracker::add(std::int64_t begin, std::int64_t end) {
  if (end <= begin) return 0;
  if (!started()) {
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
    // Overlap with what was seen: whatever is not a hole was seen before.
    const std::int64_t filled = holes_ ? fill_holes(in_begin, in_end) : 0;
    seen_before = (in_end - in_begin) - filled;
  }
  if (end > high_) {
    if (begin > high_) add_hole(high_, begin);
    high_ = end;
  }
  return seen_before;
}

}  // namespace tcplife::tcp
