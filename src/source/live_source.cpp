// SPDX-License-Identifier: MIT
// Live capture through pcap_create/pcap_activate.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "tcplife/source/live.hpp"

namespace tcplife::source {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const noexcept { pcap_dump_close(d); }
};

std::string activation_error(const std::string& itf, int rc, pcap_t* p) {
  const std::string detail = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return itf + ": no such capture device (see tcplife -D for the list)" +
             (detail.empty() ? "" : " (" + detail + ")");
    case PCAP_ERROR_PERM_DENIED:
      return itf + ": permission denied: capturing needs root or the CAP_NET_RAW capability "
                   "(setcap cap_net_raw,cap_net_admin=eip on the binary)" +
             (detail.empty() ? "" : " (" + detail + ")");
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return itf + ": permission denied for promiscuous mode (try --no-promisc)";
    case PCAP_ERROR_IFACE_NOT_UP:
      return itf + ": the interface is down (bring it up with: ip link set " + itf + " up)";
    case PCAP_ERROR_RFMON_NOTSUP:
      return itf + ": monitor mode is not supported";
    default:
      return itf + ": cannot start the capture: " + (detail.empty() ? pcap_statustostr(rc) : detail);
  }
}

class LivePcap final : public LiveSource {
 public:
  LivePcap(std::string itf, pcap_t* p, int timeout_ms)
      : itf_(std::move(itf)), pcap_(p), timeout_ms_(timeout_ms) {
    linktypes_.push_back(pcap_datalink(p));
    fd_ = pcap_get_selectable_fd(p);
  }

  // Non-blocking reads, woken by poll() on the capture's descriptor: libpcap's
  // own read timeout is not honoured in immediate mode, and a signal must be
  // able to interrupt the wait (poll returns EINTR; the caller checks its flag).
  ReadStatus next(core::PacketView& out) override {
    if (broken_) return ReadStatus::End;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    if (rc == 0 && fd_ >= 0) {
      pollfd pfd{fd_, POLLIN, 0};
      const int pr = poll(&pfd, 1, timeout_ms_);
      if (broken_) return ReadStatus::End;
      if (pr <= 0) return ReadStatus::Timeout;
      rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    }
    if (rc == 1) {
      out.ts = core::Timestamp{static_cast<std::int64_t>(hdr->ts.tv_sec) * core::kNsPerSec +
                               static_cast<std::int64_t>(hdr->ts.tv_usec) * nsec_scale_};
      out.bytes = core::Bytes(data, hdr->caplen);
      out.wire_len = hdr->len;
      out.index = index_++;
      out.linktype = linktypes_.front();
      if (dumper_) pcap_dump(reinterpret_cast<u_char*>(dumper_.get()), hdr, data);
      return ReadStatus::Packet;
    }
    if (rc == 0) return ReadStatus::Timeout;
    if (rc == PCAP_ERROR_BREAK) return ReadStatus::End;
    error_ = itf_ + ": " + pcap_geterr(pcap_.get());
    return ReadStatus::Error;
  }

  const std::string& error() const override { return error_; }
  std::vector<int> linktypes() const override { return linktypes_; }
  std::int64_t position() const override { return -1; }
  std::string format() const override { return "live"; }

  bool set_filter(const std::string& expr, std::string& err) override {
    bpf_program prog{};
    if (pcap_compile(pcap_.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      err = pcap_geterr(pcap_.get());
      return false;
    }
    const bool ok = pcap_setfilter(pcap_.get(), &prog) == 0;
    if (!ok) err = pcap_geterr(pcap_.get());
    pcap_freecode(&prog);
    return ok;
  }

  void break_loop() noexcept override {
    broken_ = true;
    pcap_breakloop(pcap_.get());
  }

  LiveStats stats() const override {
    pcap_stat st{};
    LiveStats s;
    if (pcap_stats(pcap_.get(), &st) == 0) {
      s.valid = true;
      s.received = st.ps_recv;
      s.dropped = st.ps_drop;
      s.if_dropped = st.ps_ifdrop;
    }
    return s;
  }

  bool dump_to(const std::string& path, std::string& err) override {
    pcap_dumper_t* d = pcap_dump_open(pcap_.get(), path.c_str());
    if (d == nullptr) {
      err = path + ": cannot write: " + pcap_geterr(pcap_.get());
      return false;
    }
    dumper_.reset(d);
    return true;
  }

  const std::string& warning() const override { return warning_; }

  void set_warning(std::string w) { warning_ = std::move(w); }
  void set_nsec(bool nsec) { nsec_scale_ = nsec ? 1 : 1000; }

  ~LivePcap() override {
    if (dumper_) pcap_dump_flush(dumper_.get());
  }

 private:
  std::string itf_;
  std::unique_ptr<pcap_t, PcapCloser> pcap_;
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper_;
  std::vector<int> linktypes_;
  std::uint64_t index_ = 0;
  std::int64_t nsec_scale_ = 1000;
  int timeout_ms_;
  int fd_ = -1;
  volatile sig_atomic_t broken_ = 0;
  std::string error_;
  std::string warning_;
};

}  // namespace

std::unique_ptr<LiveSource> open_live(const LiveOptions& o, OpenError& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(o.interface.c_str(), errbuf);
  if (p == nullptr) {
    err = {OpenError::Kind::Other, o.interface + ": cannot open: " + errbuf};
    return nullptr;
  }
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, o.promisc ? 1 : 0);
  pcap_set_timeout(p, o.timeout_ms);
  if (o.immediate) pcap_set_immediate_mode(p, 1);
  // libpcap's 2 MiB ring drops packets as soon as the reader falls behind
  // for a moment on a busy machine; 32 MiB rides out a burst.
  pcap_set_buffer_size(p, o.buffer_bytes > 0 ? o.buffer_bytes : kDefaultLiveBuffer);
  const bool nsec = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
  const int rc = pcap_activate(p);
  std::string warning;
  if (rc < 0) {
    err = {rc == PCAP_ERROR_NO_SUCH_DEVICE
               ? OpenError::Kind::NotFound
               : (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED
                      ? OpenError::Kind::Permission
                      : OpenError::Kind::Other),
           activation_error(o.interface, rc, p)};
    pcap_close(p);
    return nullptr;
  }
  if (rc > 0) {
    warning = o.interface + ": warning: " +
              (rc == PCAP_WARNING_PROMISC_NOTSUP ? std::string("promiscuous mode not supported")
                                                 : std::string(pcap_geterr(p)));
  }
  char nb_err[PCAP_ERRBUF_SIZE] = {};
  if (pcap_setnonblock(p, 1, nb_err) != 0) {
    err = {OpenError::Kind::Other, o.interface + ": cannot read without blocking: " + nb_err};
    pcap_close(p);
    return nullptr;
  }
  auto src = std::make_unique<LivePcap>(o.interface, p, o.timeout_ms);
  src->set_warning(std::move(warning));
  src->set_nsec(nsec);
  return src;
}

std::vector<InterfaceInfo> list_interfaces(std::string& err) {
  std::vector<InterfaceInfo> out;
  pcap_if_t* all = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (pcap_findalldevs(&all, errbuf) != 0) {
    err = errbuf;
    return out;
  }
  for (pcap_if_t* d = all; d != nullptr; d = d->next) {
    InterfaceInfo i;
    i.name = d->name;
    if (d->description != nullptr) i.description = d->description;
    i.up = (d->flags & PCAP_IF_UP) != 0;
    i.running = (d->flags & PCAP_IF_RUNNING) != 0;
    i.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0;
    for (pcap_addr_t* a = d->addresses; a != nullptr; a = a->next) {
      if (a->addr == nullptr) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      if (a->addr->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(a->addr);
        inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
        i.addresses.emplace_back(buf);
      } else if (a->addr->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->addr);
        inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
        i.addresses.emplace_back(buf);
      }
    }
    out.push_back(std::move(i));
  }
  pcap_freealldevs(all);
  return out;
}

bool drop_privileges(const std::string& user, std::string& err) {
  errno = 0;
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    err = "-Z " + user + ": no such user";
    return false;
  }
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
      setuid(pw->pw_uid) != 0) {
    err = "-Z " + user + ": cannot switch to that user: " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace tcplife::source
