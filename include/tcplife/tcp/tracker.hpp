// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "tcplife/core/huge_buffer.hpp"
#include "tcplife/core/open_ids.hpp"
#include "tcplife/decode/segment.hpp"
#include "tcplife/flow/flow_table.hpp"
#include "tcplife/tcp/connection.hpp"
#include "tcplife/tcp/observer.hpp"

namespace tcplife::tcp {

struct TrackerOptions {
  // After a connection has closed, reset or been refused, it lingers this long
  // (capture time) so late ACKs and retransmitted FINs still count to it.
  std::int64_t close_linger_ns = 5 * core::kNsPerSec;  // Zeek's tcp_close_delay
  // Idle timeouts by phase (capture time).
  std::int64_t idle_handshake_ns = 60 * core::kNsPerSec;      // SYN seen, not established
  std::int64_t idle_established_ns = 7200 * core::kNsPerSec;  // as Linux keepalive's default
  std::int64_t idle_closing_ns = 240 * core::kNsPerSec;       // a FIN seen (2 * MSL)
  std::size_t max_connections = 0;                            // 0 = unlimited
  // Keep a connection that has only a bare SYN (and its retransmissions and
  // SYN-ACK answers) as those few segments (Embryo, ~0.4 KB) instead of a full
  // Connection (~1.3 KB); the segments are replayed, with identical results, when
  // anything else arrives or the connection ends. Off when an observer needs
  // every segment in capture order (the tshark comparison driver).
  bool compact_handshakes = true;
  // Record each connection's event timeline (Connection::events); the
  // pipeline turns it off unless an output shows it (--timeline).
  bool keep_events = true;
};

// What an Embryo keeps of one segment: everything the engine and the
// analyzer read, less what the flow key already says (addresses, ports) and
// what an absorbed segment never has (payload, tunnel).
struct EmbryoSegment {
  core::Timestamp ts;
  std::uint64_t index = 0;
  std::uint32_t wire_len = 0, ip_total_len = 0, seq = 0, ack = 0;
  std::uint16_t ip_id = 0, flags = 0, window = 0, urgent = 0;
  std::uint16_t vlan_outer = decode::kNoVlan, vlan_inner = decode::kNoVlan;
  std::uint8_t ttl = 0, header_len = 0, ip_version = 0;
  decode::Checksum checksum = decode::Checksum::NotChecked;
  Side from = Side::Lo;
  decode::TcpOptions options;

  static EmbryoSegment from_segment(const decode::Segment& s, Side from) noexcept;
  [[nodiscard]] decode::Segment expand(const flow::FlowKey& key) const noexcept;
};

// A connection that so far is a bare SYN, perhaps retransmitted and answered.
struct Embryo {
  static constexpr std::size_t kMaxSegments = 3;
  flow::FlowKey key;
  std::uint64_t id = 0;
  core::Timestamp last_ts;
  LruHook lru;
  std::uint8_t lru_list = 0xff;  // as Connection::lru_list
  std::uint8_t count = 0;
  std::array<EmbryoSegment, kMaxSegments> segs{};
};

// Slots in fixed-size chunks: growing never moves an element (no doubling
// copies, no invalidated references), and slots are reused. A chunk holds as
// many slots as fill a huge page (2 MiB; at least 64); ids step through each
// chunk in a power-of-two range, so a lookup is a shift and a mask, and the
// ids past a chunk's last slot are never handed out.
template <class T>
class SlotStore {
 public:
  static constexpr std::uint32_t kPerChunk =
      std::max<std::uint32_t>(64, static_cast<std::uint32_t>(core::kHugePage / sizeof(T)));
  static constexpr int kShift = std::bit_width(kPerChunk - 1);
  static constexpr std::uint32_t kMask = (std::uint32_t{1} << kShift) - 1;

  T& operator[](std::uint32_t id) noexcept { return chunks_[id >> kShift][id & kMask]; }
  const T& operator[](std::uint32_t id) const noexcept { return chunks_[id >> kShift][id & kMask]; }
  // A fresh slot (reused if one is free).
  std::uint32_t acquire() {
    if (!free_.empty()) {
      const std::uint32_t id = free_.back();
      free_.pop_back();
      return id;
    }
    if ((next_ & kMask) == 0) chunks_.emplace_back(kPerChunk);
    const std::uint32_t id = next_++;
    if ((next_ & kMask) == kPerChunk) next_ = (next_ | kMask) + 1;  // on to the next chunk
    return id;
  }
  // Resets the slot (freeing what it held) and makes it reusable.
  void release(std::uint32_t id) {
    (*this)[id] = T{};
    free_.push_back(id);
  }

 private:
  std::vector<core::HugeArray<T>> chunks_;
  std::vector<std::uint32_t> free_;
  std::uint32_t next_ = 0;  // the next id never handed out
};
using ConnectionStore = SlotStore<Connection>;

// Receives each connection instance exactly once, when it is finished.
class ConnectionSink {
 public:
  virtual ~ConnectionSink() = default;
  virtual void on_connection(const Connection& c) = 0;
  // What the tracker calls: it drops `c` right after, so a sink that keeps
  // the record may move it out. By default, on_connection(c).
  virtual void take_connection(Connection&& c) { on_connection(c); }
};

// Where, within the packet that caused it, a connection was finished. One
// tracker finishes connections in this order; a sharded run (--threads)
// merges several trackers' emissions back into it.
enum class EmitPhase : std::uint8_t {
  Expire,   // advance_time: idle or done lingering; by list, then by place in the list
  Replace,  // a new instance took over its 4-tuple
  Create,   // not an emission: where the packet's new connection (if any) falls
  Evict,    // --max-connections
  Finish,   // finish(): end of input, by id
};

struct EmitOrder {
  EmitPhase phase = EmitPhase::Finish;
  std::uint8_t list = 0;    // Expire, Evict: the expiry list it left
  std::uint64_t stamp = 0;  // Expire, Evict: its place there (see Tracker: stamps)
};

struct TrackerStats {
  std::uint64_t segments = 0;
  std::uint64_t connections = 0;       // instances created
  std::uint64_t emitted = 0;
  std::uint64_t evicted = 0;           // by --max-connections
  std::uint64_t expired_idle = 0;
  std::uint64_t peak_open = 0;
  std::uint64_t time_went_backwards = 0;  // packets older than the newest seen
  friend bool operator==(const TrackerStats&, const TrackerStats&) = default;
};

// The per-4-tuple connection engine: finds (or starts) the connection instance
// of each segment, runs both endpoints' state machines, and hands finished
// connections to the sink. Memory is bounded by concurrent connections.
class Tracker {
 public:
  // Expiry lists: handshake, established, closing, ended (lingering).
  static constexpr std::size_t kLruLists = 4;
  static constexpr std::uint64_t kNoStamp = ~std::uint64_t{0};
  using ExpiryBound = std::array<std::uint64_t, kLruLists>;
  static constexpr ExpiryBound kNoBound{kNoStamp, kNoStamp, kNoStamp, kNoStamp};

  // `observer` (optional) sees every segment before the engine applies it.
  Tracker(const TrackerOptions& opts, ConnectionSink& sink, SegmentObserver* observer = nullptr);

  void process(const decode::Segment& seg);
  // Expires idle and lingering connections up to capture time `now`.
  void advance_time(core::Timestamp now);
  // End of input: finishes every open connection, in order of first packet.
  void finish();
  // The same one connection at a time: finishes the open connection with the
  // lowest id, or returns false if none is open. Until it does, nothing else
  // may be called but next_to_finish().
  bool finish_one();
  // The id of the connection finish_one() would finish next (0: none).
  [[nodiscard]] std::uint64_t next_to_finish();

  [[nodiscard]] const TrackerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t open_connections() const noexcept { return live_; }
  // The lowest id of a connection not yet finished (the next id if none is open):
  // every connection with a lower id has been handed to the sink.
  [[nodiscard]] std::uint64_t lowest_open_id() const noexcept { return open_ids_.lowest(); }

  // For a sharded run (pipeline/sharded.cpp). A connection's stamp is the
  // index of the packet that last moved it to the tail of its expiry list, so
  // stamps grow along each list.
  //
  // During ConnectionSink::take_connection: why the connection is finished now.
  [[nodiscard]] const EmitOrder& emit_order() const noexcept { return order_; }
  // The stamp of the first connection in expiry list `list` that is not idle
  // at capture time max(now, the tracker's time), or kNoStamp.
  [[nodiscard]] std::uint64_t first_unexpired(std::size_t list, core::Timestamp now) const;
  // Until the next call, advance_time expires in list l only connections
  // stamped below bound[l] (kNoBound: all idle ones, the default).
  void set_expiry_bound(const ExpiryBound& bound) noexcept { bound_ = bound; }
  // Idle timeout of expiry list `list` (capture time, ns).
  [[nodiscard]] std::int64_t timeout_of(std::size_t list) const;

 private:
  static constexpr std::uint32_t kNil = 0xffffffffu;
  enum List : std::uint8_t { kHandshake = 0, kEstablished, kClosing, kEnded, kLists };
  static_assert(kLists == kLruLists);
  struct Lru {
    std::uint32_t head = kNil, tail = kNil;
  };

  // Indexes in the flow table and the expiry lists: a ConnectionStore slot,
  // or an Embryo slot with kEmbryo set.
  static constexpr std::uint32_t kEmbryo = 0x80000000u;
  static bool is_embryo(std::uint32_t ix) noexcept { return ix != kNil && (ix & kEmbryo) != 0; }

  void init_connection(Connection& c, const flow::KeyedPacket& kp, const decode::Segment& seg,
                       std::uint64_t id, std::uint32_t instance, NewInstanceReason why);
  std::uint32_t create(const flow::KeyedPacket& kp, const decode::Segment& seg,
                       std::uint32_t instance, NewInstanceReason why);
  std::uint32_t create_embryo(const flow::KeyedPacket& kp, const decode::Segment& seg);
  [[nodiscard]] bool absorbs(const Embryo& e, Side from, const decode::Segment& seg) const;
  // Replays an Embryo into a full Connection that takes its place everywhere.
  std::uint32_t promote(std::uint32_t ix);
  void apply(Connection& c, Side from, const decode::Segment& seg);
  void evict_if_needed(std::uint32_t keep);
  void emit(std::uint32_t ix, EndReason why);
  LruHook& hook(std::uint32_t ix) noexcept;
  struct HookAndList {
    LruHook& hook;
    std::uint8_t& list;  // the expiry list it is in (0xff: none)
  };
  HookAndList hook_and_list(std::uint32_t ix) noexcept;
  [[nodiscard]] const LruHook& hook(std::uint32_t ix) const noexcept;
  [[nodiscard]] core::Timestamp last_ts_of(std::uint32_t ix) const noexcept;
  // Its stamp: the index of its last packet, the one that pushed it to its
  // list's tail (every packet of a slot is pushed, so none is stored).
  [[nodiscard]] std::uint64_t stamp_of(std::uint32_t ix) const noexcept;
  [[nodiscard]] std::uint64_t id_of(std::uint32_t ix) const noexcept;
  // The 4-tuple of a slot (Connection or Embryo); the flow table reads keys here.
  [[nodiscard]] const flow::FlowKey& key_of(std::uint32_t ix) const noexcept;
  [[nodiscard]] auto keys() const noexcept {
    return [this](std::uint32_t ix) -> const flow::FlowKey& { return key_of(ix); };
  }
  [[nodiscard]] EndReason end_reason_of(std::uint32_t ix, EndReason if_open) const noexcept;
  void collect_open();
  void lru_unlink(std::uint32_t id);
  void lru_push(std::uint32_t id, List l);  // after the slot's packet is applied
  [[nodiscard]] List list_for(const Connection& c) const;
  bool should_start_new(const Connection& c, Side from, const decode::Segment& seg,
                        NewInstanceReason& why) const;

  TrackerOptions opts_;
  ConnectionSink& sink_;
  SegmentObserver* observer_;
  flow::FlowTable table_;
  ConnectionStore conns_;
  SlotStore<Embryo> embryos_;
  std::array<Lru, kLists> lru_{};
  // A list's head is not idle while now_ <= idle_at_[l] (its last_ts plus the
  // list's timeout). kRecheck: the head changed, look at it again. This keeps
  // advance_time from reading four heads (four cache misses) on every packet.
  static constexpr std::int64_t kRecheck = INT64_MIN;
  std::array<std::int64_t, kLists> idle_at_{kRecheck, kRecheck, kRecheck, kRecheck};
  std::array<std::int64_t, kLists> timeout_{};
  ExpiryBound bound_ = kNoBound;
  EmitOrder order_;
  std::vector<std::uint32_t> finishing_;  // finish_one(): open slots, highest id first
  std::size_t live_ = 0;
  std::uint64_t next_id_ = 1;
  core::OpenIdSet open_ids_;  // ids of the connections not yet finished
  core::Timestamp now_{};
  bool have_now_ = false;
  TrackerStats stats_;
};

// Applies one segment to a connection: counters, handshake, data, FIN/RST,
// derived states, timeline, anomalies. Exposed for unit tests.
void update_connection(Connection& c, Side from, const decode::Segment& seg);
// Final bookkeeping when a connection is finished (state durations, end anomalies).
void finalize_connection(Connection& c, EndReason why, core::Timestamp now);

}  // namespace tcplife::tcp
