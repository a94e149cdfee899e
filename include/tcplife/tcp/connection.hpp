// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcplife/core/time.hpp"
#include "tcplife/decode/segment.hpp"
#include "tcplife/flow/flow_key.hpp"
#include "tcplife/tcp/analysis_state.hpp"
#include "tcplife/tcp/anomaly.hpp"
#include "tcplife/tcp/seq.hpp"

namespace tcplife::tcp {

using flow::Side;

// RFC 9293 connection states, as an observer on the wire infers them.
enum class TcpState : std::uint8_t {
  Closed,
  Listen,
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
  kCount
};
inline constexpr std::size_t kTcpStates = static_cast<std::size_t>(TcpState::kCount);
std::string_view state_name(TcpState s) noexcept;  // "ESTABLISHED", ...

// Zeek's per-endpoint states (TCP_Endpoint.h), kept to compute conn_state exactly.
enum class ZeekState : std::uint8_t { Inactive, SynSent, SynAckSent, Partial, Established, Closed, Reset };

enum class RoleReason : std::uint8_t { Syn, SynAck, WellKnownPort, LowerPort, FirstPacket };
std::string_view role_reason_name(RoleReason r) noexcept;

enum class NewInstanceReason : std::uint8_t { First, NewIsn, AfterClose, AfterReset, SynInTimeWait };
std::string_view new_instance_reason_name(NewInstanceReason r) noexcept;

enum class CloseKind : std::uint8_t { None, FourWay, ThreeWay, Simultaneous, HalfClose, Reset, Refused };
std::string_view close_kind_name(CloseKind k) noexcept;

// Why a connection record was finished.
enum class EndReason : std::uint8_t { Closed, Reset, Refused, Idle, Evicted, EndOfInput, Replaced };
std::string_view end_reason_name(EndReason r) noexcept;

// What happened at one packet that matters for the lifecycle. Data segments are
// summarised: consecutive data packets in one direction fold into one event.
enum class EventKind : std::uint8_t {
  Syn, SynAck, HandshakeAck, Data, Fin, FinAck, Rst, Ack, Reopen
};
std::string_view event_name(EventKind k) noexcept;

struct Event {
  core::Timestamp ts;
  std::uint64_t frame = 0;       // 1-based
  std::int64_t rel_seq = 0;      // relative to the sender's ISN (SYN = 0)
  std::int64_t rel_ack = 0;      // relative to the receiver's ISN
  std::uint32_t len = 0;         // payload bytes (summed over a folded run)
  std::uint32_t count = 1;       // packets folded into this event
  std::uint16_t flags = 0;
  EventKind kind = EventKind::Ack;
  Side from = Side::Lo;
  TcpState state_lo = TcpState::Closed;  // both endpoints' states after the packet
  TcpState state_hi = TcpState::Closed;
};

struct Anomaly {
  core::Timestamp ts;
  std::uint64_t frame = 0;  // 1-based
  std::int64_t a = 0;       // kind-specific evidence, rendered by output
  std::int64_t b = 0;
  std::int64_t c = 0;
  AnomalyKind kind = AnomalyKind::Retransmission;
  Side from = Side::Lo;
};

// Sequence-space bookkeeping of the data one endpoint sent. Offsets are
// relative to the first data byte (ISN + 1); SYN is at -1. Holes (ranges not
// captured below the highest byte seen) live in a block allocated only when
// a gap appears, so a connection without loss costs 8 bytes for them. 24
// bytes in all: "started" is high > low (add() never records an empty range).
class DataTracker {
 public:
  static constexpr std::size_t kMaxHoles = 64;
  struct Range {
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  DataTracker() = default;
  DataTracker(const DataTracker& o);
  DataTracker& operator=(const DataTracker& o);
  DataTracker(DataTracker&&) noexcept = default;
  DataTracker& operator=(DataTracker&&) noexcept = default;
  ~DataTracker() = default;

  // Records [begin, end); returns bytes that had been seen before (retransmitted).
  std::int64_t add(std::int64_t begin, std::int64_t end);
  [[nodiscard]] std::int64_t high() const noexcept { return high_; }
  [[nodiscard]] std::int64_t low() const noexcept { return low_; }
  [[nodiscard]] bool started() const noexcept { return high_ > low_; }
  [[nodiscard]] std::int64_t hole_bytes() const noexcept;
  [[nodiscard]] bool approximate() const noexcept { return holes_ && holes_->approximate; }
  // True if [begin, end) lies entirely in ranges already seen.
  [[nodiscard]] bool all_seen(std::int64_t begin, std::int64_t end) const noexcept;

 private:
  struct Holes {
    std::vector<Range> ranges;  // unordered; at most kMaxHoles
    bool approximate = false;   // some gap was not tracked exactly (too many holes)
  };
  void add_hole(std::int64_t begin, std::int64_t end);
  std::int64_t fill_holes(std::int64_t in_begin, std::int64_t in_end);

  std::int64_t low_ = 0;
  std::int64_t high_ = 0;
  std::unique_ptr<Holes> holes_;  // null: no hole yet
};

struct EndpointOptions {
  bool seen : 1 = false;     // a SYN from this side carried these
  bool mss_present : 1 = false;
  bool wscale_present : 1 = false;
  bool sack_permitted : 1 = false;
  bool timestamps : 1 = false;
  bool tfo : 1 = false;
  std::uint16_t mss = 0;
  std::uint8_t wscale = 0;
  std::uint8_t tfo_cookie_len = 0;
};

// Members are grouped by size (8, 4, 2, 1 bytes, then bits) so that a
// connection, which holds two, carries no padding.
struct Endpoint {
  SeqSpace seq;                 // base = ISN + 1 (first data byte)
  DataTracker data;

  std::int64_t max_ack_rel = 0;  // highest ack sent, relative to the peer's data space
  std::uint64_t packets = 0;
  core::Timestamp unanswered_since; // time of the first packet since the peer's last
  core::Timestamp last_ts;          // this side's last packet
  std::uint64_t ip_bytes = 0;
  std::uint64_t wire_payload = 0;   // sum of payload lengths, retransmissions included
  std::uint64_t retransmitted_bytes = 0;

  std::uint32_t last_ack = 0;   // last ack value sent
  std::uint32_t last_window_scaled = 0;
  std::uint32_t unanswered = 0;  // packets sent since the peer's last packet

  std::uint16_t last_window = 0;  // raw window field last sent
  EndpointOptions opts;
  TcpState state = TcpState::Closed;  // time spent in each: ConnectionCold::state_ns

  // identity of the sequence space
  bool syn_seen : 1 = false;        // sent a SYN (or SYN-ACK)
  bool sent_bare_syn : 1 = false;   // sent a SYN without ACK
  bool sent_synack : 1 = false;     // sent a SYN with ACK
  bool synced : 1 = false;          // its sequence space is known (SYN seen, or inferred midstream)
  bool isn_known : 1 = false;       // isn is real (false: midstream, base guessed)
  bool ack_seen : 1 = false;        // sent an acknowledgment (last_ack, max_ack_rel)
  // lifecycle facts (states are derived from these)
  bool syn_acked : 1 = false;       // the peer acknowledged this side's SYN
  bool fin_seen : 1 = false;
  bool fin_acked : 1 = false;
  bool fin_active : 1 = false;      // sent its FIN before receiving the peer's
  bool rst_sent : 1 = false;
  bool half_close_data : 1 = false; // sent data after the peer's FIN

  // The ISN, if isn_known: the first SYN's sequence number, one before `seq`'s
  // base (the base moves only before a SYN is seen).
  [[nodiscard]] std::uint32_t isn() const noexcept { return seq.base() - 1; }
};

struct Handshake {
  core::Timestamp syn_ts, synack_ts, ack_ts;
  std::uint64_t syn_frame = 0, synack_frame = 0, ack_frame = 0;
  // SYN and SYN-ACK retransmissions are counted as anomalies
  // (Connection::count_of: SynRetransmit, SynackRetransmit), not here.
  std::uint32_t syn_data_bytes = 0;
  bool syn_seen : 1 = false;
  bool synack_seen : 1 = false;
  bool ack_seen : 1 = false;
  bool synack_valid : 1 = true;  // SYN-ACK's ack == client ISN + 1
  bool ack_valid : 1 = true;     // final ACK's ack == server ISN + 1
  bool simultaneous : 1 = false;
  bool syn_data_acked : 1 = false;
};

struct RstInfo {
  core::Timestamp ts;
  std::uint64_t frame = 0;
  std::uint32_t count = 0;
  Side by = Side::Lo;
  TcpState sender_state = TcpState::Closed;    // states when the (first believed) RST was sent
  TcpState receiver_state = TcpState::Closed;
  bool seen : 1 = false;        // a RST was believed (exact or in window); see `undone`
  bool undone : 1 = false;      // ... then traffic showed the receiver ignored it (RFC 5961)
  bool refused : 1 = false;     // it answered a SYN: the connection was refused
  bool in_window : 1 = false;
  bool exact : 1 = false;
};

struct Teardown {
  core::Timestamp first_fin_ts;
  std::uint64_t first_fin_frame = 0;
  core::Timestamp last_half_close_data_ts;
  std::uint32_t fin_retransmits = 0;
  Side first_fin_by = Side::Lo;
  bool fin_seen : 1 = false;
  bool fins_crossed : 1 = false;    // the second FIN did not acknowledge the first
  bool fin_carried_ack : 1 = false; // the second FIN acknowledged the first with no separate ACK before
  bool separate_ack : 1 = false;    // the first FIN was acknowledged by a pure ACK before the second FIN
};

// A part allocated on first use that is copied with its owner (a
// unique_ptr that copies deeply). Reading an absent part reads nullptr.
template <class T>
class LazyPart {
 public:
  LazyPart() = default;
  LazyPart(const LazyPart& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  LazyPart& operator=(const LazyPart& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  LazyPart(LazyPart&&) noexcept = default;
  LazyPart& operator=(LazyPart&&) noexcept = default;
  ~LazyPart() = default;

  [[nodiscard]] const T* get() const noexcept { return p_.get(); }
  [[nodiscard]] T* get() noexcept { return p_.get(); }
  T& need() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }

 private:
  std::unique_ptr<T> p_;
};

// Zeek's view of one endpoint (TCP_Endpoint): its own sequence bookkeeping,
// kept apart from tcplife's because Zeek's rules differ in places (fake ISN
// for partial connections, RST acks not trusted, ...). Sequence values are
// unwrapped 64-bit numbers in this endpoint's own space. What only a FIN, a
// RST, a content gap, a zero window or a bad checksum sets is in ZeekRare.
struct ZeekEndpoint {
  SeqSpace space;               // unwraps this endpoint's sequence numbers
  std::int64_t start = 0, last = 0, ack = 0;
  std::int64_t hist_last_syn = 0;
  std::int64_t reassem = 1, trim = 1;  // relative: contiguous point and ack trim
  DataTracker data;                    // payload Zeek's reassembler received (relative)
  // Zeek's log-scale history letter T (retransmissions): the count, and the
  // next count that appends the letter as a power of ten (10 stands for
  // 2^32 - 1). C, G and W are counted the same way in ZeekRare.
  std::uint32_t cnt_t = 0;
  std::uint8_t thr_t = 0;
  ZeekState state = ZeekState::Inactive;
  ZeekState prev_state = ZeekState::Inactive;
  bool did_close : 1 = false;
  bool anchored : 1 = false;        // `space` has a reference point
  bool first_was_syn : 1 = false;   // its first packet carried SYN (for is_partial)
  bool seen : 1 = false;
};

// The part of Zeek's view a connection needs only once it sends a FIN or a
// RST, misses content, closes its window or fails a checksum (out of line:
// an open connection without trouble has none).
struct ZeekRare {
  struct Endpoint {
    std::int64_t fin_seq = 0;  // relative
    std::int64_t hist_last_fin = 0, hist_last_rst = 0;
    std::uint64_t missed = 0;  // content gaps in this endpoint's data (bytes)
    // Packets Zeek dropped for a bad checksum, and their IP bytes (not in
    // *_pkts, *_ip_bytes; see ZeekRowCounts).
    std::uint64_t bad_pkts = 0, bad_ip_bytes = 0;
    std::uint32_t fin_cnt = 0, rst_cnt = 0;
    std::uint32_t cnt_c = 0, cnt_g = 0, cnt_w = 0;  // as ZeekEndpoint::cnt_t
    std::uint8_t thr_c = 0, thr_g = 0, thr_w = 0;
  };
  // Zeek's timers that end a connection (network time, ns; 0 = not armed).
  std::int64_t delete_at = 0, partial_close_at = 0, expire_at = 0;
  std::array<Endpoint, 2> ep{};  // by key side
};

// Zeek's history letters of one conn.log row, at most kCapacity: up to 15
// inline, a longer history in one heap block. 16 bytes (a std::string is 32).
class ZeekHistory {
 public:
  static constexpr std::size_t kCapacity = 64;
  ZeekHistory() = default;
  ZeekHistory(const ZeekHistory& o) { assign(o.view()); }
  ZeekHistory& operator=(const ZeekHistory& o);
  ZeekHistory(ZeekHistory&& o) noexcept;
  ZeekHistory& operator=(ZeekHistory&& o) noexcept;
  ~ZeekHistory() { release(); }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::string_view view() const noexcept { return {data(), size_}; }
  // Appends a letter; ignored at kCapacity.
  void push_back(char ch);
  // Replaces the letters (at most kCapacity are kept).
  void assign(std::string_view s);
  friend bool operator==(const ZeekHistory& h, std::string_view s) noexcept {
    return h.view() == s;
  }

 private:
  static constexpr std::size_t kInline = 15;
  [[nodiscard]] bool on_heap() const noexcept { return size_ > kInline; }
  [[nodiscard]] char* heap() const noexcept;
  [[nodiscard]] const char* data() const noexcept { return on_heap() ? heap() : buf_.data(); }
  void release() noexcept;

  std::array<char, kInline> buf_{};  // the letters, or (on the heap) the block's address
  std::uint8_t size_ = 0;
};

struct ZeekShadow {
  // Zeek's attempt timer (network time, ns; 0 = not armed); the others are in `rare`.
  std::int64_t attempt_at = 0;
  core::Timestamp last_packet;
  core::Timestamp last_time;    // the row's start time is in ZeekRowCounts
  ZeekHistory history;          // at most Connection::kMaxHistory letters
  std::uint32_t hist_seen = 0;  // once-per-direction masks: orig low 16 bits, resp high 16
  Side orig = Side::Lo;
  bool created = false;
  bool attempt_armed_once = false;
  bool is_partial = false;
  LazyPart<ZeekRare> rare;
  std::array<ZeekEndpoint, 2> ep{};

  // The rare part of endpoint s, or nullptr if none was needed yet.
  [[nodiscard]] const ZeekRare::Endpoint* find_rare(Side s) const noexcept {
    const ZeekRare* r = rare.get();
    return r != nullptr ? &r->ep[flow::idx(s)] : nullptr;
  }
  // The same, allocated if need be.
  ZeekRare::Endpoint& rare_ep(Side s) { return rare.need().ep[flow::idx(s)]; }
};

// The figures of one conn.log row that count packets: its start and each
// side's packets and IP bytes (by key side). The whole connection's view
// (Connection::zk) does not store them: they are the connection's own
// (first_ts, Endpoint::packets, ip_bytes) less the packets Zeek dropped for a
// bad checksum (Connection::zk_counts). A row that Zeek's timers split off
// (ConnectionCold::zk_rows) counts its own.
struct ZeekRowCounts {
  core::Timestamp start_time;
  std::array<std::uint64_t, 2> pkts{}, ip_bytes{};
};

struct ZeekRow {
  ZeekShadow z;
  ZeekRowCounts n;
};

// One conn.log row as the outputs read it (no copy of Zeek's view).
struct ZeekRowView {
  const ZeekShadow& z;
  ZeekRowCounts n;
};

// What a connection needs only once a FIN or a RST is seen, out of line
// (Connection::ending): an open connection has none.
struct ConnectionEnd {
  struct Side {
    std::uint64_t bytes_after_peer_fin = 0;
    std::uint32_t fin_seq = 0;  // sequence number of the FIN (Endpoint::fin_seen)
    std::uint32_t fin_count = 0;
    std::uint32_t rst_count = 0;
  };
  Teardown td;
  RstInfo rst;
  std::array<Side, 2> ep{};  // by key side
};

struct AnomalyCount {
  AnomalyKind kind;
  Side from;
  std::uint32_t count;
};

// What few connections need, kept out of line (Connection::cold) and allocated
// on first use, so an ordinary open connection does not carry it.
struct ConnectionCold {
  // The event timeline and the time spent in each state (by key side), both
  // recorded only with Connection::keep_events (outputs show them with --timeline).
  std::vector<Event> events;       // bounded by Connection::kMaxEvents
  std::uint32_t events_dropped = 0;
  std::array<core::Timestamp, 2> state_since{};
  std::array<std::array<std::int64_t, kTcpStates>, 2> state_ns{};
  decode::TunnelInfo tunnel;       // tunnelled connections only
  // The previous instance on this 4-tuple (has_prev): where each side's
  // sequence space ended, so its late segments are recognised (old_duplicate).
  bool has_prev = false;
  std::array<std::uint32_t, 2> prev_base{};
  std::array<std::uint32_t, 2> prev_next{};
  // Zeek's own timers can end its connection while tcplife's goes on (an
  // unanswered SYN after 5 s, 3-5 s after a close, ...); later packets then
  // start a new Zeek row. conn.log output reproduces those rows: the finished
  // ones, then the current one (zk_row once a split happened, else zk).
  std::vector<ZeekRow> zk_rows;
  std::unique_ptr<ZeekRow> zk_row;
};

// The anomalies of one connection, out of line: most connections have none.
struct AnomalyLog {
  std::vector<AnomalyCount> counts;  // every anomaly, counted by kind and side
  std::vector<Anomaly> listed;       // bounded: Connection::kMaxListedAnomalies per kind
};

// A place in one of the tracker's expiry lists (indexes into its stores).
// Which list is a byte of the owner (Connection::lru_list), where it fills
// padding, and the owner's stamp (the index of the packet that last pushed it
// to its list's tail) is its last packet's index: 8 bytes here, not 24.
struct LruHook {
  std::uint32_t prev = 0xffffffffu, next = 0xffffffffu;
};

// One connection instance on a 4-tuple. Owned by value in the ConnectionStore.
struct Connection {
  static constexpr std::size_t kMaxEvents = 32;
  static constexpr std::size_t kMaxListedAnomalies = 5;  // listed per kind; all are counted
  static constexpr std::size_t kMaxHistory = ZeekHistory::kCapacity;
  static constexpr std::size_t kMaxZeekRows = 64;  // conn.log rows one connection may split into

  flow::FlowKey key;
  std::uint32_t instance = 1;      // 1 for the first connection on this 4-tuple, then 2, ...
  std::uint64_t id = 0;            // 1-based, in order of first packet

  core::Timestamp first_ts, last_ts;
  std::uint64_t first_frame = 0, last_frame = 0;
  std::array<Endpoint, 2> ep{};    // by key side

  Handshake hs;
  std::uint16_t vlan = decode::kNoVlan;
  NewInstanceReason new_reason = NewInstanceReason::First;
  Side client = Side::Lo;
  RoleReason role_reason = RoleReason::Syn;
  EndReason end_reason = EndReason::EndOfInput;
  bool roles_guessed : 1 = false;
  bool ended : 1 = false;          // closed, reset or refused: lingers until emitted
  bool keep_events : 1 = true;     // record the timeline (off unless an output shows it)
  bool reset_believed : 1 = false;  // rst().seen && !rst().undone, kept here for the packet path
  std::uint8_t lru_list = 0xff;     // the expiry list `lru` is in (0xff: none)

  std::unique_ptr<AnomalyLog> anomaly_log;  // null: no anomaly yet
  std::unique_ptr<ConnectionCold> cold;     // null: none of it needed yet
  LazyPart<ConnectionEnd> ending;           // null: no FIN or RST yet
  ZeekShadow zk;                    // Zeek's view of the whole connection (conn_state, history)
  std::array<SegAnalysisEndpoint, 2> analysis{};  // per-segment analysis state, by key side

  // live bookkeeping (flow table / expiry lists)
  LruHook lru;

  [[nodiscard]] Side server() const noexcept { return flow::other(client); }
  [[nodiscard]] Endpoint& at(Side s) noexcept { return ep[flow::idx(s)]; }
  [[nodiscard]] const Endpoint& at(Side s) const noexcept { return ep[flow::idx(s)]; }
  // The FIN and RST parts (Connection::ending); all zero before any FIN or RST.
  [[nodiscard]] const Teardown& td() const noexcept;
  [[nodiscard]] const RstInfo& rst() const noexcept;
  [[nodiscard]] const ConnectionEnd::Side& end_of(Side s) const noexcept;
  // Read access to the out-of-line parts; empty (or zero) when not allocated.
  [[nodiscard]] std::span<const Event> events() const noexcept;
  [[nodiscard]] std::uint32_t events_dropped() const noexcept;
  [[nodiscard]] std::int64_t state_ns(Side s, TcpState st) const noexcept;
  [[nodiscard]] const decode::TunnelInfo& tunnel() const noexcept;
  [[nodiscard]] std::span<const ZeekRow> zk_rows() const noexcept;
  // The last conn.log row: the split-off current one, or the whole view with zk_counts().
  [[nodiscard]] ZeekRowView zk_current() const noexcept;
  // The counts of the whole connection's Zeek view (zk).
  [[nodiscard]] ZeekRowCounts zk_counts() const noexcept;
  [[nodiscard]] std::span<const Anomaly> anomalies() const noexcept;
  [[nodiscard]] std::span<const AnomalyCount> anomaly_counts() const noexcept;
  // The out-of-line part, allocated if need be.
  ConnectionCold& cold_part();
  [[nodiscard]] std::uint32_t anomaly_total() const noexcept;
  [[nodiscard]] std::uint32_t count_of(AnomalyKind k) const noexcept;
};

// Counts an anomaly of `kind` sent by `from` at `seg`, and lists it with its
// evidence (a, b, d: kind-specific numbers) unless that kind is listed enough.
void add_anomaly(Connection& c, AnomalyKind kind, Side from, const decode::Segment& seg,
                 std::int64_t a = 0, std::int64_t b = 0, std::int64_t d = 0);

// The kind of close, from the FINs and RSTs seen.
CloseKind close_kind(const Connection& c);

}  // namespace tcplife::tcp
