#include "netns/link_emulator.hpp"

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "netns/link.hpp"
#include "netns/linkemu/schedule.hpp"

namespace sockchaos::netns {

const char* to_string(Direction d) { return d == Direction::kAToB ? "a_to_b" : "b_to_a"; }

namespace {

using linkemu::Decision;
using linkemu::DirectionSchedule;
using linkemu::Fate;
using linkemu::FrameInfo;

constexpr const char* kWireA = "wa";  // W's end facing ns_a
constexpr const char* kWireB = "wb";
constexpr size_t kSendBatch = 64;
constexpr int kDrainBatches = 16;
constexpr int kSetTimeoutMs = 2000;

// ethtool's legacy per-feature commands (net/ethtool/ioctl.c ethtool_get_feature_mask()):
// STXCSUM clears NETIF_F_CSUM_MASK (and with it, netdev_fix_features() drops the TSO
// features), STSO clears NETIF_F_ALL_TSO.
Status set_feature(int sock, const std::string& ifname, uint32_t cmd, uint32_t on, const char* what) {
  ethtool_value ev{};
  ev.cmd = cmd;
  ev.data = on;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
  ifr.ifr_data = reinterpret_cast<char*>(&ev);
  if (::ioctl(sock, SIOCETHTOOL, &ifr) != 0) return Error::system(std::string("ethtool ") + what + " on " + ifname);
  return {};
}

// A host's transmit offloads off: the stack then checksums and segments every packet itself
// before the veth, so the wire carries real frames (a checksummed, MTU-sized frame is what a
// forwarder can delay, drop or corrupt one by one; with offloads it would get 64 KiB TSO
// super-frames whose checksum nobody has computed yet).
//
// Then the end goes up: the same ioctl socket does it (SIOCSIFFLAGS), one trip into the
// namespace for both.
Status configure_host_end(const NetNs& ns, const std::string& ifname) {
  return within(ns.fd(), [&]() -> Status {
    // Any socket of the namespace serves these ioctls; not AF_PACKET, whose close() waits for
    // an RCU grace period.
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Error::system("socket for ethtool in the namespace of " + ifname);
    if (auto st = set_feature(s.get(), ifname, ETHTOOL_STXCSUM, 0, "tx-checksumming off"); !st.ok()) return st;
    if (auto st = set_feature(s.get(), ifname, ETHTOOL_STSO, 0, "tcp-segmentation-offload off"); !st.ok()) return st;
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::system("SIOCGIFFLAGS " + ifname);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::system("set " + ifname + " up");
    return {};
  });
}

Result<int> ifindex_here(const std::string& ifname) {
  unsigned idx = ::if_nametoindex(ifname.c_str());
  if (idx == 0) return Error::system("if_nametoindex(" + ifname + ")");
  return static_cast<int>(idx);
}

// Fixed-size frame buffers, allocated in chunks as the held traffic grows, up to a cap.
class FramePool {
 public:
  FramePool(size_t slot_bytes, uint64_t cap_bytes) : slot_bytes_(slot_bytes), max_slots_(cap_bytes / slot_bytes) {}
  std::optional<uint32_t> take() {
    if (free_.empty()) {
      if (chunks_.size() * kChunk >= max_slots_) return std::nullopt;
      chunks_.push_back(std::make_unique<uint8_t[]>(kChunk * slot_bytes_));
      for (size_t i = kChunk; i-- > 0;) free_.push_back(static_cast<uint32_t>((chunks_.size() - 1) * kChunk + i));
    }
    uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void give(uint32_t slot) { free_.push_back(slot); }
  uint8_t* at(uint32_t slot) { return chunks_[slot / kChunk].get() + (slot % kChunk) * slot_bytes_; }
  size_t slot_bytes() const { return slot_bytes_; }

 private:
  static constexpr size_t kChunk = 256;
  size_t slot_bytes_;
  size_t max_slots_;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  std::vector<uint32_t> free_;
};

struct Counters {
  std::atomic<uint64_t> received{0}, forwarded{0}, bytes_forwarded{0}, dropped_loss{0}, dropped_queue{0},
      dropped_mtu{0}, dropped_overflow{0}, dropped_socket{0}, send_errors{0}, unstamped{0}, duplicated{0}, corrupted{0},
      reordered{0}, held{0};
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// One direction: reads W's ingress end, writes W's egress end.
//
// Plain AF_PACKET sockets, no PACKET_RX_RING: setting a ring up and closing a packet socket
// each wait for an RCU grace period (synchronize_net() in packet_set_ring() and
// packet_release(), net/packet/af_packet.c), 8-20 ms apiece on this kernel, against a set-up
// budget of 3 ms. A bound socket without a ring starts at once; recvmmsg() reads frames
// straight into the frame pool, a batch per system call under load. The sockets are closed by
// the forwarder thread after the owner has let go of it, so the grace periods of tear-down are
// nobody's wait either.
class Pipe {
 public:
  Pipe(Direction dir, const Impairment& imp, uint64_t seed, size_t frame_capacity)
      : dir_(dir),
        schedule_(imp, seed),
        current_(imp),
        pool_((frame_capacity + 4 + 63) / 64 * 64, LinkEmulator::kMaxHeldBytes) {}
  ~Pipe() { stop(); }

  // Called with the thread inside W: the packet sockets belong to the namespace they are made in.
  Status open_sockets(const std::string& ingress, const std::string& egress) {
    auto in_idx = ifindex_here(ingress);
    if (!in_idx.ok()) return in_idx.error();
    auto out_idx = ifindex_here(egress);
    if (!out_idx.ok()) return out_idx.error();

    // Receive: protocol 0 until bound to the one end, so nothing else is ever captured.
    rx_ = Fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!rx_.valid()) return Error::system("AF_PACKET socket in the wire namespace (needs CAP_NET_RAW there)");
    int one = 1;
    // A VLAN tag the driver lifted into skb metadata comes back in PACKET_AUXDATA.
    if (::setsockopt(rx_.get(), SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0)
      return Error::system("PACKET_AUXDATA");
    // A frame's arrival is the kernel's receive stamp (taken as W's end hands it over, before
    // the forwarder wakes up), not the time the forwarder gets round to reading it.
    (void)::setsockopt(rx_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    // Frames sent out of this end by the other direction bypass the taps (qdisc bypass), and
    // are not ours to forward in any case.
    (void)::setsockopt(rx_.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    // The kernel queues frames here while the forwarder sleeps or is busy: as much as allowed
    // (net.core.rmem_max, which SO_RCVBUFFORCE may exceed with CAP_NET_ADMIN over the host).
    int rcvbuf = 8 << 20;
    if (::setsockopt(rx_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
      (void)::setsockopt(rx_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = *in_idx;
    if (::bind(rx_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
      return Error::system("bind the receive socket to " + ingress);

    // Send: protocol 0 (never receives), straight to the driver (no qdisc: a veth's default is
    // noqueue anyway, and a qdisc would add its own queue behind the emulated one).
    tx_ = Fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!tx_.valid()) return Error::system("AF_PACKET send socket in the wire namespace");
    (void)::setsockopt(tx_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    int sndbuf = 8 << 20;  // frames stay charged to it until the receiver's IP layer orphans them
    if (::setsockopt(tx_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
      (void)::setsockopt(tx_.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    sockaddr_ll out{};
    out.sll_family = AF_PACKET;
    out.sll_protocol = 0;
    out.sll_ifindex = *out_idx;
    if (::bind(tx_.get(), reinterpret_cast<sockaddr*>(&out), sizeof out) != 0)
      return Error::system("bind the send socket to " + egress);

    timer_ = Fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timer_.valid()) return Error::system("timerfd_create");
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.valid()) return Error::system("eventfd");
    return {};
  }

  void start() {
    auto left = left_;
    thread_ = std::thread([this, left] { run(left); });
  }

  // Returns as soon as the thread has left its loop and taken its sockets; the thread closes
  // them on its own (each close waits for a grace period) and ends.
  void stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    poke();
    left_->wait(false);
    cpu_at_exit_ = cpu_now();
    thread_.detach();
  }

  Status set(const Impairment& imp) {
    std::unique_lock lock(control_mu_);
    pending_ = imp;
    uint64_t mine = ++requested_;
    pending_flag_.store(true, std::memory_order_release);
    poke();
    if (!control_cv_.wait_for(lock, std::chrono::milliseconds(kSetTimeoutMs), [&] { return applied_ >= mine; }))
      return Error::plain(std::string("the ") + to_string(dir_) +
                          " forwarder did not take the new impairment within 2 s");
    current_ = imp;
    return {};
  }

  Impairment impairment() const {
    std::lock_guard lock(control_mu_);
    return current_;
  }

  LinkDirectionStats stats() {
    LinkDirectionStats s;
    s.received = c_.received.load(std::memory_order_relaxed);
    s.forwarded = c_.forwarded.load(std::memory_order_relaxed);
    s.bytes_forwarded = c_.bytes_forwarded.load(std::memory_order_relaxed);
    s.dropped_loss = c_.dropped_loss.load(std::memory_order_relaxed);
    s.dropped_queue = c_.dropped_queue.load(std::memory_order_relaxed);
    s.dropped_mtu = c_.dropped_mtu.load(std::memory_order_relaxed);
    s.dropped_overflow = c_.dropped_overflow.load(std::memory_order_relaxed);
    s.dropped_socket = c_.dropped_socket.load(std::memory_order_relaxed);
    s.send_errors = c_.send_errors.load(std::memory_order_relaxed);
    s.duplicated = c_.duplicated.load(std::memory_order_relaxed);
    s.corrupted = c_.corrupted.load(std::memory_order_relaxed);
    s.reordered = c_.reordered.load(std::memory_order_relaxed);
    s.held = c_.held.load(std::memory_order_relaxed);
    s.unstamped = c_.unstamped.load(std::memory_order_relaxed);
    s.cpu = thread_.joinable() ? cpu_now() : cpu_at_exit_;
    return s;
  }

 private:
  static constexpr size_t kVlanRoom = 4;  // frames are received this far into their slot

  Nanos cpu_now() {
    clockid_t cid;
    timespec ts{};
    if (!thread_.joinable() || ::pthread_getcpuclockid(thread_.native_handle(), &cid) != 0 ||
        ::clock_gettime(cid, &ts) != 0)
      return cpu_at_exit_;
    return Nanos(static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec);
  }

  void poke() {
    uint64_t one = 1;
    if (wake_.valid()) (void)!::write(wake_.get(), &one, sizeof one);
  }

  void apply_pending() {
    if (!pending_flag_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(control_mu_);
    if (pending_) schedule_.set(*pending_);
    pending_.reset();
    applied_ = requested_;
    pending_flag_.store(false, std::memory_order_relaxed);
    control_cv_.notify_all();
  }

  // Decides the fate of one received frame (in its slot, kVlanRoom bytes in) and queues it.
  void take_frame(uint32_t slot, size_t len, const msghdr& hdr, int64_t now, int64_t realtime_offset) {
    Counters::bump(c_.received);
    uint8_t* buf = pool_.at(slot);
    size_t offset = kVlanRoom;
    int64_t arrival = now;
    bool stamped = false;
    if (hdr.msg_flags & MSG_TRUNC) {  // larger than the link was made for
      Counters::bump(c_.dropped_mtu);
      schedule_.on_arrival(FrameInfo{now, UINT32_MAX, 0, 0, 0});  // keeps the replay counter in step
      pool_.give(slot);
      return;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&hdr); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&hdr), c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        int64_t mono = static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec - realtime_offset;
        // Plausible only between a second ago and now: a clock step, or a sender's delivery
        // time (a TCP frame's EDT stamp on CLOCK_MONOTONIC survives the veth, skb_clear_tstamp()),
        // falls outside and the read time stands.
        if (mono <= now && mono > now - kSecond) arrival = mono, stamped = true;
        continue;
      }
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) && len >= 12) {
        uint16_t tpid =
            (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) && aux.tp_vlan_tpid ? aux.tp_vlan_tpid : ETH_P_8021Q;
        std::memmove(buf, buf + kVlanRoom, 12);
        buf[12] = static_cast<uint8_t>(tpid >> 8);
        buf[13] = static_cast<uint8_t>(tpid);
        buf[14] = static_cast<uint8_t>(aux.tp_vlan_tci >> 8);
        buf[15] = static_cast<uint8_t>(aux.tp_vlan_tci);
        offset = 0;
        len += kVlanRoom;
      }
    }
    if (!stamped) Counters::bump(c_.unstamped);
    uint8_t* frame = buf + offset;
    Decision d = schedule_.on_arrival(linkemu::describe_frame(frame, len, arrival));
    switch (d.fate) {
      case Fate::kTooBig:
        Counters::bump(c_.dropped_mtu);
        break;
      case Fate::kLost:
        Counters::bump(c_.dropped_loss);
        break;
      case Fate::kQueueFull:
        Counters::bump(c_.dropped_queue);
        break;
      case Fate::kForward:
        break;
    }
    if (d.fate != Fate::kForward) {
      pool_.give(slot);
      return;
    }
    if (d.corrupted) {
      frame[d.corrupt_offset] ^= d.corrupt_mask;
      Counters::bump(c_.corrupted);
    }
    if (d.duplicated) Counters::bump(c_.duplicated);
    Held held{d.release_ns, slot, static_cast<uint16_t>(offset), static_cast<uint32_t>(len), d.duplicated};
    if (d.reordered) {
      Counters::bump(c_.reordered);
      express_.push_back(held);
    } else {
      delay_line_.push_back(held);
    }
    Counters::bump(c_.held);
  }

  // Reads the frames waiting in the receive socket, a batch per call, at most kDrainBatches
  // batches before the main loop looks at control and stop again (a flood must not lock them
  // out); true when more may be waiting. Without a free slot the frame is read into scratch
  // space and dropped (dropped_overflow): the link's memory is bounded, and a full socket would
  // only drop it later, unseen.
  bool drain() {
    for (int batch = 0; batch < kDrainBatches; ++batch) {
      mmsghdr msgs[kSendBatch];
      iovec iov[kSendBatch];
      uint32_t slots[kSendBatch];
      alignas(cmsghdr) char control[kSendBatch][CMSG_SPACE(sizeof(tpacket_auxdata)) + CMSG_SPACE(sizeof(timespec))];
      size_t n = 0;
      for (; n < kSendBatch; ++n) {
        auto slot = pool_.take();
        if (!slot) break;
        slots[n] = *slot;
        iov[n] = {pool_.at(*slot) + kVlanRoom, pool_.slot_bytes() - kVlanRoom};
      }
      bool scratch = n == 0;
      if (scratch) {
        iov[0] = {scratch_.data(), scratch_.size()};
        n = 1;
      }
      for (size_t i = 0; i < n; ++i) {
        std::memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = sizeof control[i];
      }
      int got = ::recvmmsg(rx_.get(), msgs, static_cast<unsigned>(n), MSG_DONTWAIT | MSG_TRUNC, nullptr);
      int64_t now = monotonic_ns();
      if (got > 0 && !scratch) realtime_offset_ = realtime_offset(now);
      if (scratch) {
        if (got > 0) {
          Counters::bump(c_.received);
          Counters::bump(c_.dropped_overflow);
          schedule_.on_arrival(FrameInfo{now, UINT32_MAX, 0, 0, 0});
          continue;
        }
        return false;
      }
      int taken = std::max(got, 0);
      for (int i = 0; i < taken; ++i) take_frame(slots[i], msgs[i].msg_len, msgs[i].msg_hdr, now, realtime_offset_);
      for (size_t i = static_cast<size_t>(taken); i < n; ++i) pool_.give(slots[i]);
      if (taken > 0) release_due(monotonic_ns());  // keep releases timely under load
      if (static_cast<size_t>(taken) < n) return false;
    }
    return true;
  }

  // CLOCK_REALTIME - CLOCK_MONOTONIC (the kernel stamps receptions in realtime), refreshed
  // at most every 100 ms: both clocks advance together except when the time is stepped.
  int64_t realtime_offset(int64_t now) {
    if (now - offset_taken_ < 100 * kMillisecond) return realtime_offset_;
    timespec r;
    ::clock_gettime(CLOCK_REALTIME, &r);
    int64_t after = monotonic_ns();
    offset_taken_ = after;
    return static_cast<int64_t>(r.tv_sec) * kSecond + r.tv_nsec - (now + after) / 2;
  }

  int64_t next_release() const {
    int64_t next = INT64_MAX;
    if (!express_.empty()) next = express_.front().release_ns;
    if (!delay_line_.empty()) next = std::min(next, delay_line_.front().release_ns);
    return next;
  }

  // Sends every frame due by `now`, in release order (the two FIFOs merged). False when the
  // send socket is full: the rest waits for POLLOUT, in order.
  bool release_due(int64_t now) {
    while (true) {
      mmsghdr msgs[kSendBatch];
      iovec iov[kSendBatch];
      Held taken[kSendBatch];
      size_t n = 0, held = 0;
      while (n + 2 <= kSendBatch) {
        std::deque<Held>* q = nullptr;
        if (!express_.empty() && express_.front().release_ns <= now) q = &express_;
        if (!delay_line_.empty() && delay_line_.front().release_ns <= now &&
            (!q || delay_line_.front().release_ns < q->front().release_ns))
          q = &delay_line_;
        if (!q) break;
        Held h = q->front();
        q->pop_front();
        taken[held++] = h;
        for (int copy = 0; copy < (h.duplicate ? 2 : 1); ++copy) {
          iov[n] = {pool_.at(h.slot) + h.offset, h.length};
          std::memset(&msgs[n], 0, sizeof msgs[n]);
          msgs[n].msg_hdr.msg_iov = &iov[n];
          msgs[n].msg_hdr.msg_iovlen = 1;
          ++n;
        }
      }
      if (n == 0) return true;
      size_t sent = 0;  // messages done with (sent, or refused for good)
      bool blocked = false;
      while (sent < n) {
        int rc = ::sendmmsg(tx_.get(), msgs + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
        if (rc > 0) {
          for (size_t i = sent; i < sent + static_cast<size_t>(rc); ++i)
            Counters::bump(c_.bytes_forwarded, iov[i].iov_len);
          Counters::bump(c_.forwarded, static_cast<uint64_t>(rc));
          sent += static_cast<size_t>(rc);
        } else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
          blocked = true;
          break;
        } else if (rc < 0 && errno == EINTR) {
          continue;
        } else {
          Counters::bump(c_.send_errors);  // e.g. ENETDOWN: the peer end is down; the frame is lost
          ++sent;
        }
      }
      // Frames not sent go back to the front, in order. They are the earliest due of both
      // FIFOs, so the delay line stays sorted by release time.
      Held back[kSendBatch];
      size_t nback = 0, msg = 0;
      for (size_t i = 0; i < held; ++i) {
        size_t copies = taken[i].duplicate ? 2 : 1;
        if (msg + copies <= sent) {
          pool_.give(taken[i].slot);
          c_.held.store(c_.held.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
        } else {
          Held rest = taken[i];
          if (msg < sent) rest.duplicate = false;  // the original went; its copy follows later
          back[nback++] = rest;
        }
        msg += copies;
      }
      for (size_t i = nback; i-- > 0;) delay_line_.push_front(back[i]);
      if (blocked) return false;
    }
  }

  void arm(int64_t at) {
    if (at == armed_) return;
    itimerspec its{};
    if (at != INT64_MAX) its.it_value = to_timespec(std::max<int64_t>(at, 1));
    ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &its, nullptr);
    armed_ = at;
  }

  void account_socket_drops() {
    tpacket_stats st{};
    socklen_t len = sizeof st;  // PACKET_STATISTICS resets the kernel's counters on each read
    if (::getsockopt(rx_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0 && st.tp_drops)
      Counters::bump(c_.dropped_socket, st.tp_drops);
  }

  void run(std::shared_ptr<std::atomic<bool>> left) {
    char name[16];
    std::snprintf(name, sizeof name, "sc-wire-%s", dir_ == Direction::kAToB ? "ab" : "ba");
    ::pthread_setname_np(::pthread_self(), name);
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    // The wire does not wait for the hosts: a higher weight (nice -10, about 9x a default
    // thread's under EEVDF) where the process may take it (CAP_SYS_NICE); otherwise as it is.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -10);
    pollfd fds[4] = {{rx_.get(), POLLIN, 0}, {timer_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}, {tx_.get(), 0, 0}};
    int64_t last_stats = monotonic_ns();
    bool readable = true;  // until poll() says otherwise
    while (!stop_.load(std::memory_order_relaxed)) {
      apply_pending();
      bool more = readable && drain();
      bool blocked = !release_due(monotonic_ns());
      int64_t now = monotonic_ns();
      if (now - last_stats > 100 * kMillisecond) {
        account_socket_drops();
        last_stats = now;
      }
      int64_t next = next_release();
      if (more || (!blocked && next != INT64_MAX && next <= now)) {
        readable = true;  // frames may have come meanwhile
        continue;
      }
      arm(blocked ? INT64_MAX : next);
      fds[3].events = blocked ? POLLOUT : 0;
      if (::poll(fds, 4, -1) < 0) {
        if (errno != EINTR) break;
        continue;
      }
      readable = fds[0].revents != 0;
      // Expired: the next timerfd_settime() (re-arm, or disarm when nothing waits) resets its
      // expiration count (timerfd_setup() in fs/timerfd.c), so there is nothing to read.
      if (fds[1].revents & POLLIN) armed_ = 0;
      if (fds[2].revents & POLLIN) {
        uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
      }
    }
    account_socket_drops();
    Fd rx = std::move(rx_), tx = std::move(tx_), timer = std::move(timer_);
    // From here on the Pipe may be gone: only locals (and `left`, shared) are touched.
    left->store(true);
    left->notify_all();
  }

  struct Held {
    int64_t release_ns;
    uint32_t slot;
    uint16_t offset;  // where the frame starts in its slot (0 when a VLAN tag was put back)
    uint32_t length;
    bool duplicate;
  };

  Direction dir_;
  DirectionSchedule schedule_;
  mutable std::mutex control_mu_;
  std::condition_variable control_cv_;
  std::optional<Impairment> pending_;
  Impairment current_;
  uint64_t requested_ = 0, applied_ = 0;
  std::atomic<bool> pending_flag_{false};
  std::atomic<bool> stop_{false};
  std::shared_ptr<std::atomic<bool>> left_ = std::make_shared<std::atomic<bool>>(false);

  FramePool pool_;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(64 * 1024 + 64);
  std::deque<Held> delay_line_, express_;
  int64_t armed_ = 0;

  Fd rx_, tx_, timer_, wake_;
  Counters c_;
  int64_t realtime_offset_ = 0, offset_taken_ = INT64_MIN / 2;
  Nanos cpu_at_exit_{0};
  std::thread thread_;
};

}  // namespace

struct LinkEmulator::Impl {
  NetNs wire;
  uint64_t seed = 0;
  int max_mtu = 0;
  std::unique_ptr<Pipe> pipes[2];
  explicit Impl(NetNs w) : wire(std::move(w)) {}
  ~Impl() {
    for (auto& p : pipes)
      if (p) p->stop();
  }
  Pipe& pipe(Direction d) { return *pipes[static_cast<int>(d)]; }
};

LinkEmulator::LinkEmulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkEmulator::LinkEmulator(LinkEmulator&&) noexcept = default;
LinkEmulator& LinkEmulator::operator=(LinkEmulator&&) noexcept = default;
LinkEmulator::~LinkEmulator() = default;

namespace {
Status check_impairment(const Impairment& imp, const char* which) {
  auto problems = linkemu::validate(imp);
  if (problems.empty()) return {};
  std::string text = std::string("invalid impairment ") + which + ":";
  for (const auto& p : problems) text += " " + p.pointer + " " + p.message + ";";
  text.pop_back();
  return Error::plain(text);
}
}  // namespace

Result<LinkEmulator> LinkEmulator::create(const NetNs& ns_a, const std::string& a_if, const NetNs& ns_b,
                                          const std::string& b_if, const Impairment& a_to_b, const Impairment& b_to_a,
                                          uint64_t seed, std::optional<NetNs> wire) {
  if (auto st = check_impairment(a_to_b, "a_to_b"); !st.ok()) return st.error();
  if (auto st = check_impairment(b_to_a, "b_to_a"); !st.ok()) return st.error();
  if (!wire) {
    auto w = wire_namespace();
    if (!w.ok()) return w.error();
    wire.emplace(std::move(w.value()));
  }
  auto impl = std::make_unique<Impl>(std::move(*wire));
  impl->seed = seed;
  impl->max_mtu = std::max(a_to_b.effective_mtu(), b_to_a.effective_mtu());
  {
    auto sock = RouteSocket::open(impl->wire);
    if (!sock.ok()) return sock.error();
    if (auto st = sock->create_veth(kWireA, ns_a.fd(), a_if, impl->max_mtu, a_to_b.effective_mtu(), true); !st.ok())
      return st.error();
    if (auto st = sock->create_veth(kWireB, ns_b.fd(), b_if, impl->max_mtu, b_to_a.effective_mtu(), true); !st.ok())
      return st.error();
  }
  for (auto [ns, ifname] : {std::pair{&ns_a, &a_if}, std::pair{&ns_b, &b_if}})
    if (auto st = configure_host_end(*ns, *ifname); !st.ok()) return st.error();
  // Room for an MTU-sized IP packet, its Ethernet header and two VLAN tags.
  size_t capacity = static_cast<size_t>(impl->max_mtu) + linkemu::kEthernetHeader + 8;
  impl->pipes[0] = std::make_unique<Pipe>(Direction::kAToB, a_to_b, linkemu::direction_seed(seed, 0), capacity);
  impl->pipes[1] = std::make_unique<Pipe>(Direction::kBToA, b_to_a, linkemu::direction_seed(seed, 1), capacity);
  {
    auto scope = ScopedNetns::enter(impl->wire.fd());
    if (!scope.ok()) return scope.error();
    if (auto st = impl->pipes[0]->open_sockets(kWireA, kWireB); !st.ok()) return st.error();
    if (auto st = impl->pipes[1]->open_sockets(kWireB, kWireA); !st.ok()) return st.error();
  }
  impl->pipes[0]->start();
  impl->pipes[1]->start();
  return LinkEmulator(std::move(impl));
}

Result<NetNs> LinkEmulator::wire_namespace() {
  // The wire has nothing of its own to say: no IPv6 on its ends (no link-local address, router
  // or neighbour solicitations, MLD reports); IPv4 without an address says nothing. Receive
  // steering keeps each flow's frames in order on their way in (see flow_steering_mask()).
  auto w = NetNs::create_bare(
      {{"net.core.rps_default_mask", flow_steering_mask()}, {"net.ipv6.conf.default.disable_ipv6", "1"}});
  if (!w.ok()) return Error{"create the wire namespace: " + w.error().message, w.error().err};
  return w;
}

Status LinkEmulator::set(Direction direction, const Impairment& impairment) {
  if (auto st = check_impairment(impairment, to_string(direction)); !st.ok()) return st;
  if (impairment.effective_mtu() > impl_->max_mtu)
    return Error::plain("mtu " + std::to_string(impairment.effective_mtu()) + " is above the " +
                        std::to_string(impl_->max_mtu) + " the link was made with (the hosts' interfaces keep theirs)");
  return impl_->pipe(direction).set(impairment);
}

Impairment LinkEmulator::impairment(Direction direction) const { return impl_->pipe(direction).impairment(); }

LinkStats LinkEmulator::stats() const {
  LinkStats s;
  s.seed = impl_->seed;
  s.a_to_b = impl_->pipe(Direction::kAToB).stats();
  s.b_to_a = impl_->pipe(Direction::kBToA).stats();
  return s;
}

uint64_t LinkEmulator::seed() const { return impl_->seed; }
const NetNs& LinkEmulator::wire() const { return impl_->wire; }

json to_json(const LinkStats& stats) {
  auto one = [](const LinkDirectionStats& d) {
    return json{{"received", d.received},
                {"forwarded", d.forwarded},
                {"bytes_forwarded", d.bytes_forwarded},
                {"dropped",
                 {{"loss", d.dropped_loss},
                  {"queue", d.dropped_queue},
                  {"mtu", d.dropped_mtu},
                  {"overflow", d.dropped_overflow},
                  {"socket", d.dropped_socket},
                  {"send", d.send_errors}}},
                {"duplicated", d.duplicated},
                {"corrupted", d.corrupted},
                {"reordered", d.reordered},
                {"held", d.held},
                {"unstamped", d.unstamped},
                {"cpu_ms", to_ms(d.cpu.count())}};
  };
  return json{{"seed", stats.seed}, {"a_to_b", one(stats.a_to_b)}, {"b_to_a", one(stats.b_to_a)}};
}

}  // namespace sockchaos::netns
