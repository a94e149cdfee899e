// SPDX-License-Identifier: MIT
#include "tcplife/output/spool.hpp"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

using tcplife::output::RecordSpool;

namespace {

// A 300-byte record that names its id.
std::string record_text(std::uint64_t id) {
  std::string t = std::to_string(id) + ":";
  t.resize(300, static_cast<char>('a' + id % 26));
  return t;
}

}  // namespace

TEST_CASE("spool: records come back in id order, whole, from memory and from the file",
          "[output][memory]") {
  for (std::size_t budget : {std::size_t{1} << 30, std::size_t{100}, std::size_t{0}}) {
    INFO("budget " << budget);
    RecordSpool spool(budget);
    std::vector<std::uint64_t> ids(500);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = i * 3 + 1;
    std::mt19937 rng(5);
    std::shuffle(ids.begin(), ids.end(), rng);
    auto text_of = [](std::uint64_t id) {
      return "record " + std::to_string(id) + std::string(id % 37, 'x') + "\n\x1f end";
    };
    std::vector<std::uint64_t> out;
    std::vector<std::string> texts;
    std::size_t first_drain = 0;
    auto take = [&](std::string_view t) {
      texts.emplace_back(t);
      out.push_back(std::stoull(std::string(t.substr(7))));
    };
    for (std::size_t i = 0; i < ids.size(); ++i) {
      spool.put(ids[i], text_of(ids[i]));
      if (i == 250) {
        spool.drain_below(700, take, "lost");  // what has come so far below 700
        first_drain = out.size();
      }
    }
    spool.drain_below(~std::uint64_t{0}, take, "lost");
    CHECK(spool.empty());
    REQUIRE(out.size() == ids.size());
    // Each drain in order; the first only below 700.
    const auto split = out.begin() + static_cast<long>(first_drain);
    CHECK(first_drain > 50);
    CHECK(std::all_of(out.begin(), split, [](std::uint64_t id) { return id < 700; }));
    CHECK(std::is_sorted(out.begin(), split));
    CHECK(std::is_sorted(split, out.end()));
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(texts[i] == text_of(out[i]));
  }
}

TEST_CASE("spool: large records, block boundaries and budgets between blocks", "[output][memory]") {
  // Sizes around the 2 MiB block: records that fill a block, straddle none,
  // exceed it; budgets that spill after a few blocks or never.
  const std::vector<std::size_t> sizes = {10, 1u << 20, (2u << 20) - 7, 2u << 20, (2u << 20) + 1,
                                          3,  4u << 20, 1400000,        1};
  for (std::size_t budget : {std::size_t{1} << 30, std::size_t{9} << 20, std::size_t{0}}) {
    INFO("budget " << budget);
    RecordSpool spool(budget);
    auto text_of = [&](std::uint64_t id) {
      std::string t = std::to_string(id) + ":";
      t.resize(sizes[id % sizes.size()] + t.size(), static_cast<char>('a' + id % 26));
      return t;
    };
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 60; ++i) ids.push_back(i);
    std::mt19937 rng(9);
    std::shuffle(ids.begin(), ids.end(), rng);
    std::vector<std::vector<std::uint64_t>> drains;  // what each drain gave
    bool all_whole = true;
    auto take = [&](std::string_view t) {
      const std::uint64_t id = std::stoull(std::string(t.substr(0, t.find(':'))));
      all_whole = all_whole && t == text_of(id);
      drains.back().push_back(id);
    };
    for (std::size_t i = 0; i < ids.size(); ++i) {
      spool.put(ids[i], text_of(ids[i]));
      if (i % 10 == 9) {  // part of what has come, from part of the blocks
        drains.emplace_back();
        spool.drain_below(30, take, "lost");
      }
    }
    drains.emplace_back();
    spool.drain_below(~std::uint64_t{0}, take, "lost");
    CHECK(spool.empty());
    CHECK(all_whole);
    std::vector<std::uint64_t> all;
    for (std::size_t d = 0; d < drains.size(); ++d) {
      CHECK(std::is_sorted(drains[d].begin(), drains[d].end()));
      if (d + 1 < drains.size())
        CHECK(std::all_of(drains[d].begin(), drains[d].end(), [](std::uint64_t id) { return id < 30; }));
      all.insert(all.end(), drains[d].begin(), drains[d].end());
    }
    std::sort(all.begin(), all.end());
    REQUIRE(all.size() == ids.size());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == i);
  }
}

TEST_CASE("spool: drained blocks are reused, memory stays within the budget and a block",
          "[output][memory]") {
  // Many rounds of records that wait and are drained: the blocks' memory is
  // kept for reuse, never more than the budget plus the block being filled.
  constexpr std::size_t kBudget = std::size_t{8} << 20;
  RecordSpool spool(kBudget);
  const std::string text(3000, 'r');
  std::uint64_t id = 0, drained = 0;
  std::size_t peak = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 2000; ++i) spool.put(id++, text);  // 6 MB a round, under the budget
    peak = std::max(peak, spool.held());
    spool.drain_below(
        id, [&](std::string_view t) { drained += t.size() == text.size(); }, "lost");
  }
  CHECK(drained == id);
  CHECK(spool.empty());
  CHECK(peak <= kBudget + (std::size_t{2} << 20));
  // Kept for the next records, not given back and faulted in again.
  CHECK(spool.held() == peak);
  // A spill gives the file the records and keeps the blocks too; each
  // budget's worth spills once (every block it emptied is free again).
  for (int i = 0; i < 12000; ++i) spool.put(id++, text);  // 36 MB: spills 4 times
  CHECK(spool.held() <= kBudget + (std::size_t{2} << 20));
  CHECK(spool.spills() >= 4);
  CHECK(spool.spills() <= 5);
  spool.drain_below(
      id, [&](std::string_view t) { drained += t == text; }, "lost");
  CHECK(drained == id);
}

TEST_CASE("spool: behind a record that comes last, memory keeps no index of the spilled ones",
          "[output][memory]") {
  // A JSON document behind a connection open from the first packet to the
  // last: id 0 comes last, so nothing drains before it. The spilled records'
  // ids and places stay in the file; memory indexes only what it holds.
  constexpr std::size_t kBudget = std::size_t{4} << 20;
  constexpr std::uint64_t kRecords = 150000;  // 300 B each: 45 MB, ~10 runs
  RecordSpool spool(kBudget);
  // Ids in a local shuffle, so that runs overlap at their ends.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 1; i <= kRecords; ++i) ids.push_back(i);
  std::mt19937 rng(3);
  for (std::size_t at = 0; at < ids.size(); at += 20000)
    std::shuffle(ids.begin() + static_cast<long>(at),
                 ids.begin() + static_cast<long>(std::min(ids.size(), at + 20000)), rng);
  std::size_t most = 0;
  for (std::uint64_t id : ids) {
    spool.put(id, record_text(id));
    most = std::max(most, spool.index_entries());
  }
  CHECK(!spool.ready_below(1));
  CHECK(spool.spills() >= 8);
  // What fits in the budget and the block being filled, and one entry a run.
  CHECK(most <= (kBudget + (std::size_t{2} << 20)) / 300 + spool.spills() + 1);
  spool.put(0, record_text(0));
  std::uint64_t expect = 0;
  bool in_order = true;
  spool.drain_below(
      ~std::uint64_t{0},
      [&](std::string_view t) { in_order = in_order && t == record_text(expect++); }, "lost");
  CHECK(in_order);
  CHECK(expect == kRecords + 1);
  CHECK(spool.empty());
  CHECK(spool.index_entries() == 0);
}

namespace {

// TMPDIR set to `dir` (or unset with nullptr) for a scope.
class TmpDir {
 public:
  explicit TmpDir(const char* dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    if (dir != nullptr) {
      ::setenv("TMPDIR", dir, 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }
  ~TmpDir() {
    if (old_) {
      ::setenv("TMPDIR", old_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;

 private:
  std::optional<std::string> old_;
};

// The directories of this process's open files that were unlinked.
std::vector<std::string> unlinked_file_dirs() {
  std::vector<std::string> dirs;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    const std::string deleted = " (deleted)";
    if (ec || target.size() <= deleted.size() ||
        target.compare(target.size() - deleted.size(), deleted.size(), deleted) != 0)
      continue;
    dirs.push_back(std::filesystem::path(target).parent_path().string());
  }
  return dirs;
}

}  // namespace

TEST_CASE("spool: the temporary file goes to $TMPDIR, else to /tmp", "[output][memory]") {
  char made[] = "/tmp/tcplife-tmpdir-XXXXXX";
  REQUIRE(::mkdtemp(made) != nullptr);
  const std::string dir = std::filesystem::canonical(made).string();
  const std::string missing = dir + "/missing";
  for (const char* tmpdir : {dir.c_str(), missing.c_str(), static_cast<const char*>(nullptr)}) {
    INFO("TMPDIR " << (tmpdir != nullptr ? tmpdir : "unset"));
    const TmpDir scope(tmpdir);
    RecordSpool spool(0);  // every record goes to the file
    for (std::uint64_t id = 1; id <= 100; ++id) spool.put(id, std::to_string(id) + " text");
    REQUIRE(spool.spills() > 0);
    const std::vector<std::string> dirs = unlinked_file_dirs();
    const bool in_dir = std::find(dirs.begin(), dirs.end(), dir) != dirs.end();
    const bool want_dir = tmpdir == dir.c_str();
    CHECK(in_dir == want_dir);
    const bool in_tmp = std::find(dirs.begin(), dirs.end(), "/tmp") != dirs.end();
    CHECK((in_tmp || in_dir));
    std::uint64_t expect = 1;
    bool whole = true;
    spool.drain_below(
        ~std::uint64_t{0},
        [&](std::string_view t) { whole = whole && t == std::to_string(expect++) + " text"; },
        "lost");
    CHECK(whole);
    CHECK(expect == 101);
  }
  std::filesystem::remove_all(dir);
}

namespace {

// A resource limit lowered for a scope (the soft limit only).
class Limit {
 public:
  Limit(int resource, rlim_t soft) : resource_(resource) {
    REQUIRE(::getrlimit(resource, &old_) == 0);
    rlimit lowered = old_;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(resource, &lowered) == 0);
  }
  ~Limit() { ::setrlimit(resource_, &old_); }
  Limit(const Limit&) = delete;
  Limit& operator=(const Limit&) = delete;

 private:
  int resource_;
  rlimit old_{};
};

// Puts `count` records of 300 bytes in a shuffled order and drains them all;
// true if every one came back whole and in order.
bool round_trip(RecordSpool& spool, std::uint64_t count) {
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 1; i <= count; ++i) ids.push_back(i);
  std::mt19937 rng(9);
  std::shuffle(ids.begin(), ids.end(), rng);
  for (std::uint64_t id : ids) spool.put(id, record_text(id));
  std::uint64_t expect = 1;
  bool whole = true;
  spool.drain_below(
      ~std::uint64_t{0}, [&](std::string_view t) { whole = whole && t == record_text(expect++); },
      "lost");
  return whole && expect == count + 1 && spool.empty();
}

}  // namespace

TEST_CASE("spool: a temporary file that fails loses no record and says why", "[output][memory]") {
  SECTION("the file fills up part-way (disk full, file size limit)") {
    // Writes past 3 MB fail (EFBIG, with SIGXFSZ ignored): the first spills
    // of 1 MB get there, a later one fails part-way through stdio's buffer.
    void (*old)(int) = std::signal(SIGXFSZ, SIG_IGN);
    {
      const Limit limit(RLIMIT_FSIZE, rlim_t{3} << 20);
      RecordSpool spool(std::size_t{1} << 20);
      CHECK(round_trip(spool, 40000));  // 12 MB
      CHECK(spool.spills() >= 1);
      CHECK(spool.failure().find("writing the temporary file failed") != std::string::npos);
    }
    std::signal(SIGXFSZ, old);
  }
  SECTION("no file can be opened") {
    // The lowest free descriptor becomes the limit: the next open fails (EMFILE).
    int lowest = ::dup(0);
    REQUIRE(lowest >= 0);
    ::close(lowest);
    const Limit limit(RLIMIT_NOFILE, static_cast<rlim_t>(lowest));
    RecordSpool spool(std::size_t{1} << 20);
    CHECK(round_trip(spool, 20000));
    CHECK(spool.spills() == 0);
    CHECK(spool.failure().find("no temporary file could be made") != std::string::npos);
  }
  SECTION("a file that works says nothing") {
    RecordSpool spool(std::size_t{1} << 20);
    CHECK(round_trip(spool, 20000));
    CHECK(spool.spills() >= 4);
    CHECK(spool.failure().empty());
  }
}
