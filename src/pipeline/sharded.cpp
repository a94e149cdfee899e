// SPDX-License-Identifier: MIT
// --threads N: one reader, N shards, one deterministic merge.
//
// The reading thread decodes and appends every TCP segment to a batch; batches
// go round a small ring. Each shard (a Tracker and a SeqAnalyzer on a worker
// thread) owns the 4-tuples whose flow hash falls to it, and walks every entry
// of every batch: it processes its own segments and, for the others, only
// advances its clock. So every shard's clock is the single tracker's clock at
// every packet, and each connection is expired at the packet where one
// tracker would expire it.
//
// A shard records what it finishes (and where it creates) with the key one
// tracker's order follows: (entry, phase, list, place in the list) for a
// packet's expiries, replacement, creation, eviction (tcp::EmitOrder). Once
// every shard is through a batch, the merge thread merges the shards' events by
// that key, numbers connections as one tracker would (in order of creation),
// and hands them on to the sink, which formats and writes them on that thread.
// At the end of input it finishes the shards' open connections itself, in id
// order. Same records, same order, same ids, same summary.
//
// One case needs the shards to talk: a tracker expires an expiry list from its
// head while the head is idle, so when time went backwards an idle connection
// can wait behind a busier one of another shard (see ExpiryWindows). At those
// entries the shards agree on a bound first (SyncPoint).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "pipeline/engine.hpp"
#include "tcplife/analyze/seq_analyzer.hpp"
#include "tcplife/core/huge_buffer.hpp"
#include "tcplife/core/open_ids.hpp"
#include "tcplife/flow/flow_key.hpp"

namespace tcplife::pipeline {
namespace {

using tcp::EmitPhase;
using tcp::Tracker;

constexpr std::size_t kBatch = 1024;  // entries per batch
constexpr std::size_t kRing = 32;     // batches in flight (8: 7 % slower on 2 cores, ~8 MB less)
constexpr std::size_t kLists = Tracker::kLruLists;
constexpr std::uint32_t kEveryShard = 0xffffffffu;   // an entry that only moves time on
constexpr std::uint64_t kAtEnd = ~std::uint64_t{0};  // finishing: after every entry

// Which entries need the shards to agree on expiry. A tracker expires list l
// from its head while the head is idle (now - last_ts > timeout). A list is in
// order of last_ts, so its idle connections come first, unless time went back:
// a segment at packet q with ts_q below the running maximum now_q leaves its
// connection with last_ts in [ts_q, now_q] behind connections pushed earlier
// with last_ts up to now_q. That connection is idle while an earlier one is
// not only while ts_q + timeout < now <= now_q + timeout; one tracker keeps it
// waiting then, which one shard cannot know if the earlier connection is
// another shard's. So the shards agree at exactly the entries whose `now`
// falls in such a window: none on a capture whose time only goes forward.
//
// Timestamps further apart than 2^62 ns (hostile input) would overflow the
// difference one tracker computes; from then on the shards agree at every entry,
// which is exact for any arithmetic.
class ExpiryWindows {
 public:
  explicit ExpiryWindows(const Tracker& t) {
    for (std::size_t l = 0; l < kLists; ++l) timeout_[l] = t.timeout_of(l);
  }

  // The lists the shards must agree on at an entry of capture time `ts`; a
  // segment that went back in time opens windows for the entries after it.
  std::uint8_t at(core::Timestamp ts, bool segment) {
    const bool back = have_now_ && ts.ns < now_;
    if (!have_now_) lo_ = hi_ = now_ = ts.ns;
    have_now_ = true;
    now_ = std::max(now_, ts.ns);
    lo_ = std::min(lo_, ts.ns);
    hi_ = std::max(hi_, ts.ns);
    std::int64_t span = 0;
    if (__builtin_sub_overflow(hi_, lo_, &span) || span > (std::int64_t{1} << 62)) extreme_ = true;
    if (extreme_) return (1u << kLists) - 1;
    std::uint8_t mask = 0;
    for (std::size_t l = 0; l < kLists; ++l) {
      std::deque<Lag>& q = lags_[l];
      // A window whose end has passed never opens again: `now` only grows.
      while (!q.empty() && now_ - q.front().to > timeout_[l]) q.pop_front();
      if (!q.empty() && now_ - q.front().from > timeout_[l])
        mask |= static_cast<std::uint8_t>(1u << l);
      if (back && segment) {
        // Sorted by `to` (a running maximum) and by `from`: a window that starts
        // no earlier and ends no later than the new one is never needed again.
        while (!q.empty() && q.back().from >= ts.ns) q.pop_back();
        q.push_back({ts.ns, now_});
      }
    }
    return mask;
  }

 private:
  struct Lag {
    std::int64_t from, to;  // (ts_q, now_q]: the window is (from + timeout, to + timeout]
  };
  std::array<std::deque<Lag>, kLists> lags_;
  std::array<std::int64_t, kLists> timeout_{};
  std::int64_t now_ = 0, lo_ = 0, hi_ = 0;
  bool have_now_ = false;
  bool extreme_ = false;
};

// What a shard reads of each entry; the segment itself only if it owns it.
struct Step {
  core::Timestamp ts;
  std::uint32_t shard = 0;      // the owner, or kEveryShard for a clock tick
  std::uint16_t sync = 0;       // with sync_lists: its SyncPoint in the batch
  std::uint8_t sync_lists = 0;  // bit l: agree on list l's expiry bound first
};

// Each shard lowers bound[l] to the stamp of its first connection in list l
// that is not idle; then all expire only below the lowest, as one tracker
// expiring one list from its head would.
struct SyncPoint {
  std::array<std::atomic<std::uint64_t>, kLists> bound{};
  std::atomic<unsigned> arrived{0};

  void reset() {
    for (std::atomic<std::uint64_t>& b : bound) b.store(Tracker::kNoStamp);
    arrived.store(0);
  }
  void lower(std::size_t l, std::uint64_t stamp) {
    std::uint64_t cur = bound[l].load();
    while (stamp < cur && !bound[l].compare_exchange_weak(cur, stamp)) {
    }
  }
};

// A shard's creation or emission, with its key in one tracker's order.
struct Event {
  std::uint64_t at = 0;  // entry number in the input; kAtEnd when finishing
  EmitPhase phase = EmitPhase::Create;
  std::uint8_t list = 0;
  std::uint64_t stamp = 0;   // Expire, Evict: the tracker's stamp
  std::uint32_t record = 0;  // emissions: index in ShardOut::records
};

struct ShardOut {
  std::vector<Event> events;  // in the shard's order, which is key order
  std::vector<tcp::Connection> records;
};

struct Batch {
  Step* steps = nullptr;            // kBatch; `used` filled
  decode::Segment* segs = nullptr;  // by step
  SyncPoint* syncs = nullptr;       // kBatch
  std::size_t used = 0;
  std::uint16_t syncs_used = 0;
  std::vector<ShardOut> out;  // by shard
  unsigned pending = 0;       // shards still on it (under ShardedEngine::mu_)
  bool last = false;          // end of input: after it the merge finishes what is open
};

class Shard final : public tcp::ConnectionSink {
 public:
  Shard(const tcp::TrackerOptions& opts, std::uint32_t index, unsigned shards)
      : index_(index), shards_(shards), tracker_(opts, *this, &analyzer_) {}

  // Walks every entry of `b`, whose first entry is number `first` in the input.
  void run(Batch& b, std::uint64_t first) {
    out_ = &b.out[index_];
    for (std::size_t i = 0; i < b.used; ++i) {
      const Step& s = b.steps[i];
      at_ = first + i;
      if (s.sync_lists != 0) agree(b.syncs[s.sync], s);
      if (failure_) continue;  // still at every SyncPoint, so no other shard waits for ever
      try {
        if (s.shard == index_)
          process(b.segs[i]);
        else
          tracker_.advance_time(s.ts);
        if (s.sync_lists != 0) tracker_.set_expiry_bound(Tracker::kNoBound);
      } catch (...) {
        failure_ = std::current_exception();
      }
    }
  }

  // End of input, called by the merge thread once this shard is through the
  // last batch: finishes its open connection with the lowest id into `out`.
  bool finish_one(ShardOut& out) {
    out_ = &out;
    at_ = kAtEnd;
    return tracker_.finish_one();
  }
  [[nodiscard]] std::uint64_t next_to_finish() { return tracker_.next_to_finish(); }

  void on_connection(const tcp::Connection&) override {}  // the tracker calls take_connection
  void take_connection(tcp::Connection&& c) override {
    const tcp::EmitOrder& o = tracker_.emit_order();
    out_->events.push_back(
        {at_, o.phase, o.list, o.stamp, static_cast<std::uint32_t>(out_->records.size())});
    out_->records.push_back(std::move(c));
  }

  [[nodiscard]] const Tracker& tracker() const noexcept { return tracker_; }
  [[nodiscard]] const std::exception_ptr& failure() const noexcept { return failure_; }

 private:
  void process(const decode::Segment& seg) {
    const std::uint64_t created = tracker_.stats().connections;
    const std::size_t before = out_->events.size();
    tracker_.process(seg);
    if (tracker_.stats().connections == created) return;
    // A new connection comes after the packet's expiries and replacement,
    // before its eviction.
    auto pos = out_->events.end();
    if (out_->events.size() > before && out_->events.back().phase == EmitPhase::Evict) --pos;
    out_->events.insert(pos, Event{at_, EmitPhase::Create, 0, 0, 0});
  }

  void agree(SyncPoint& p, const Step& s) {
    if (!failure_)
      for (std::size_t l = 0; l < kLists; ++l)
        if ((s.sync_lists & (1u << l)) != 0) p.lower(l, tracker_.first_unexpired(l, s.ts));
    const unsigned arrived = p.arrived.fetch_add(1) + 1;
    if (arrived == shards_) {
      p.arrived.notify_all();
    } else {
      for (unsigned a = arrived; a < shards_; a = p.arrived.load()) p.arrived.wait(a);
    }
    Tracker::ExpiryBound bound = Tracker::kNoBound;
    for (std::size_t l = 0; l < kLists; ++l)
      if ((s.sync_lists & (1u << l)) != 0) bound[l] = p.bound[l].load();
    tracker_.set_expiry_bound(bound);
  }

  std::uint32_t index_;
  unsigned shards_;
  analyze::SeqAnalyzer analyzer_;
  Tracker tracker_;
  ShardOut* out_ = nullptr;
  std::uint64_t at_ = 0;
  std::exception_ptr failure_;
};

class ShardedEngine final : public Engine {
 public:
  ShardedEngine(const tcp::TrackerOptions& opts, unsigned shards, tcp::ConnectionSink& out,
                output::Sink& sink)
      : out_(out), sink_(sink), ids_(shards > 1 ? shards : 0) {
    tcp::TrackerOptions per_shard = opts;
    if (opts.max_connections != 0)
      per_shard.max_connections = (opts.max_connections + shards - 1) / shards;
    for (std::uint32_t i = 0; i < shards; ++i)
      shards_.push_back(std::make_unique<Shard>(per_shard, i, shards));
    windows_.emplace(shards_.front()->tracker());
    for (Batch& b : ring_) b.out.resize(shards);
    first_use(0);
    // SIGINT and SIGTERM go to the reading thread (request_stop), whose read
    // they interrupt: the other threads are started with them blocked.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    try {
      for (std::unique_ptr<Shard>& s : shards_)
        threads_.emplace_back([this, shard = s.get()] { work(*shard); });
      merger_ = std::thread([this] { merge_all(); });
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      stop();
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  ShardedEngine(const ShardedEngine&) = delete;
  ShardedEngine& operator=(const ShardedEngine&) = delete;
  ~ShardedEngine() override { stop(); }

  decode::Segment& slot() override {
    Batch& b = ring_[filling_ % kRing];
    return b.segs[b.used];
  }
  void process(const decode::Segment& seg) override {
    Batch& b = ring_[filling_ % kRing];
    std::uint32_t shard = 0;
    if (shards_.size() > 1) {
      const std::uint64_t h =
          flow::hash(flow::make_key(seg.src, seg.sport, seg.dst, seg.dport).key);
      // The high half of the hash: the flow table indexes by the low bits.
      shard = static_cast<std::uint32_t>(((h >> 32) * shards_.size()) >> 32);
    }
    // Decoded in place (slot()) or copied; its payload view dangles from here: see append()
    if (&seg != &b.segs[b.used]) b.segs[b.used] = seg;
    append(b, seg.ts, shard, true);
  }

  void advance_time(core::Timestamp now) override {
    append(ring_[filling_ % kRing], now, kEveryShard, false);
  }

  void finish() override {
    publish(true);
    merger_.join();  // returns once the last batch is merged, or on a failure
    stop();          // the shards return after the last batch
    if (merge_failure_) std::rethrow_exception(merge_failure_);
    final_stats_ = merged_stats_;
    for (const std::unique_ptr<Shard>& s : shards_) {
      const tcp::TrackerStats& t = s->tracker().stats();
      final_stats_.segments += t.segments;
      final_stats_.evicted += t.evicted;
      final_stats_.expired_idle += t.expired_idle;
      final_stats_.time_went_backwards += t.time_went_backwards;
    }
  }

  [[nodiscard]] tcp::TrackerStats stats() const override { return final_stats_; }
  [[nodiscard]] std::size_t open_connections() const override { return live_.load(); }

 private:
  // The segment (if any) is in b.segs[b.used] already. Its `payload` view
  // points into the reader's packet buffer, reused long before a shard reads
  // the copy; nothing after decoding reads payload bytes, only the size
  // (tcp/zeek.cpp), so the view is kept as it is and must never be read.
  void append(Batch& b, core::Timestamp ts, std::uint32_t shard, bool segment) {
    Step& s = b.steps[b.used];
    s.ts = ts;
    s.shard = shard;
    s.sync_lists = shards_.size() > 1 ? windows_->at(ts, segment) : 0;
    if (s.sync_lists != 0) {
      s.sync = b.syncs_used++;
      b.syncs[s.sync].reset();
    }
    if (++b.used == kBatch) publish(false);
  }

  // Hands the batch being filled to the shards, then waits until the merge
  // is through with the batch that held the next slot.
  void publish(bool last) {
    Batch& b = ring_[filling_ % kRing];
    b.last = last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      b.pending = static_cast<unsigned>(shards_.size());
      published_ = ++filling_;
    }
    published_cv_.notify_all();
    if (last) return;
    std::exception_ptr failure;
    {
      std::unique_lock<std::mutex> lock(mu_);
      merged_cv_.wait(lock, [this] { return merged_ + kRing > filling_ || merge_failure_; });
      failure = merge_failure_;
    }
    if (failure) std::rethrow_exception(failure);
    if (filling_ < kRing) first_use(filling_);
    Batch& next = ring_[filling_ % kRing];
    next.used = 0;
    next.syncs_used = 0;
  }

  // The ring's arrays (~9 MB) are on huge pages: a few page faults, not
  // 2,300. A batch's entries are constructed (their pages first touched) when
  // it is first filled, so that the first packets do not wait for all of
  // them: fresh pages are dear in a virtual machine (~15 ms for these here).
  void first_use(std::size_t i) {
    Batch& b = ring_[i];
    b.steps = ring_steps_.construct(i * kBatch, kBatch);
    b.segs = ring_segs_.construct(i * kBatch, kBatch);
    // SyncPoints are only ever used between shards.
    if (shards_.size() > 1) b.syncs = ring_syncs_.construct(i * kBatch, kBatch);
  }

  // The merge thread: each batch in turn once every shard is through with it.
  void merge_all() {
    for (std::uint64_t n = 0;; ++n) {
      Batch& b = ring_[n % kRing];
      {
        std::unique_lock<std::mutex> lock(mu_);
        done_cv_.wait(lock, [&] { return (published_ > n && b.pending == 0) || stopping_; });
        if (stopping_) return;
      }
      const bool last = b.last;
      try {
        for (const std::unique_ptr<Shard>& s : shards_)
          if (s->failure()) std::rethrow_exception(s->failure());
        merge(b);
        if (last) finish_all();
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        merge_failure_ = std::current_exception();
        merged_cv_.notify_all();
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        merged_ = n + 1;
      }
      merged_cv_.notify_all();
      if (last) return;
    }
  }

  using Key = std::tuple<std::uint64_t, EmitPhase, std::uint8_t, std::uint64_t>;
  [[nodiscard]] static Key key_of(const Event& e) { return {e.at, e.phase, e.list, e.stamp}; }

  // The shards' events of one batch, in one tracker's order.
  void merge(Batch& b) {
    const std::size_t n = shards_.size();
    pos_.assign(n, 0);
    for (;;) {
      std::size_t best = n;
      Key best_key{};
      for (std::size_t s = 0; s < n; ++s) {
        if (pos_[s] == b.out[s].events.size()) continue;
        const Key k = key_of(b.out[s].events[pos_[s]]);
        if (best == n || k < best_key) {
          best = s;
          best_key = k;
        }
      }
      if (best == n) break;
      replay(best, b.out[best], b.out[best].events[pos_[best]++]);
    }
    for (ShardOut& o : b.out) {
      o.events.clear();
      o.records.clear();
      // A time jump can finish a great many connections in one batch: give that memory back.
      if (o.records.capacity() > 4 * kBatch) std::vector<tcp::Connection>().swap(o.records);
      if (o.events.capacity() > 4 * kBatch) std::vector<Event>().swap(o.events);
    }
    flush_ready();
  }

  // Tells the sink once the lowest open id has moved: what waited for the
  // connections before it may be written now.
  void flush_ready() {
    if (done_.lowest() == flushed_below_) return;
    flushed_below_ = done_.lowest();
    sink_.flush_before(flushed_below_);
  }

  // End of input: the shards' open connections in id order, one at a time,
  // as one tracker's finish() (the shards are through; their trackers are
  // this thread's now), so they are never all held at once.
  void finish_all() {
    sink_.input_end();
    ShardOut one;
    for (;;) {
      std::size_t best = shards_.size();
      std::uint64_t best_id = 0;
      for (std::size_t s = 0; s < shards_.size(); ++s) {
        const std::uint64_t next = shards_[s]->next_to_finish();
        if (next == 0) continue;
        const std::uint64_t id = ids_.empty() ? next : ids_[s].peek(next);
        if (best == shards_.size() || id < best_id) {
          best = s;
          best_id = id;
        }
      }
      if (best == shards_.size()) return;
      shards_[best]->finish_one(one);
      replay(best, one, one.events.front());
      one.events.clear();
      one.records.clear();
      // The JSON document writes on its own thread while these are finished.
      flush_ready();
    }
  }

  // What one tracker does at this event: number a new connection, or finish one.
  void replay(std::size_t shard, ShardOut& o, const Event& e) {
    if (e.phase == EmitPhase::Create) {
      ++merged_stats_.connections;
      if (!ids_.empty()) ids_[shard].add(merged_stats_.connections);
      done_.add(merged_stats_.connections);
      merged_stats_.peak_open = std::max<std::uint64_t>(merged_stats_.peak_open, ++live_);
      return;
    }
    tcp::Connection& c = o.records[e.record];
    if (!ids_.empty()) c.id = ids_[shard].take(c.id);
    done_.take(c.id);
    --live_;
    ++merged_stats_.emitted;
    out_.on_connection(c);
  }

  // Every shard walks every published batch, so no shard waits at a SyncPoint
  // for one that left; after the last batch, or once stop() is called, they return.
  void work(Shard& s) {
    for (std::uint64_t n = 0;; ++n) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        published_cv_.wait(lock, [this, n] { return published_ > n || stopping_; });
        if (published_ <= n) return;
      }
      Batch& b = ring_[n % kRing];
      const bool last = b.last;
      s.run(b, n * kBatch);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--b.pending == 0) done_cv_.notify_all();
      }
      if (last) return;
    }
  }

  // Joins every thread. They return by themselves after the last batch; on an
  // error path, the merge at once and the shards after the batches already published.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    published_cv_.notify_all();
    done_cv_.notify_all();
    if (merger_.joinable()) merger_.join();
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }

  tcp::ConnectionSink& out_;
  output::Sink& sink_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  core::HugeStorage<Step> ring_steps_{kRing * kBatch};
  core::HugeStorage<decode::Segment> ring_segs_{kRing * kBatch};
  core::HugeStorage<SyncPoint> ring_syncs_{kRing * kBatch};
  std::array<Batch, kRing> ring_;
  std::optional<ExpiryWindows> windows_;

  std::mutex mu_;
  std::condition_variable published_cv_;  // shards: a batch to walk, or stopping_
  std::condition_variable done_cv_;       // merge: a batch walked by every shard, or stopping_
  std::condition_variable merged_cv_;     // reader: a slot free, or merge_failure_
  // Under mu_.
  std::uint64_t published_ = 0;  // batches handed to the shards
  std::uint64_t merged_ = 0;     // batches merged
  bool stopping_ = false;
  std::exception_ptr merge_failure_;  // the merge stopped: this is why

  // Reading thread.
  std::uint64_t filling_ = 0;  // the batch being filled (= batches published; written under mu_)
  tcp::TrackerStats final_stats_;  // set by finish()
  // Merge thread.
  std::thread merger_;
  // By shard: the shard's connection id -> id; none with one shard, whose
  // ids are the ids (8 bytes less per open connection).
  std::vector<core::OpenIdMap<std::uint64_t>> ids_;
  core::OpenIdSet done_;  // the ids not yet finished (lowest() = lowest open id)
  std::vector<std::size_t> pos_;
  std::uint64_t flushed_below_ = 1;
  std::atomic<std::size_t> live_{0};
  tcp::TrackerStats merged_stats_;  // connections, emitted, peak_open
};

}  // namespace

std::unique_ptr<Engine> make_sharded_engine(const tcp::TrackerOptions& opts, unsigned shards,
                                            tcp::ConnectionSink& out, output::Sink& sink) {
  return std::make_unique<ShardedEngine>(opts, shards, out, sink);
}

}  // namespace tcplife::pipeline
