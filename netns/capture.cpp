#include "netns/capture.hpp"

#include <linux/errqueue.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

#include "common/clock.hpp"

namespace sockchaos::netns {

namespace {

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

// REALTIME - MONOTONIC from the tightest of a few mono/real/mono sandwiches: the realtime read
// lies between the two monotonic reads, so the offset is known within half their distance.
struct ClockOffset {
  int64_t offset_ns = 0;
  int64_t half_width_ns = 0;
  int64_t real_ns = 0;
};

ClockOffset measure_clock_offset() {
  ClockOffset best;
  best.half_width_ns = INT64_MAX;
  for (int i = 0; i < 7; ++i) {
    int64_t m1 = monotonic_ns();
    int64_t r = realtime_ns();
    int64_t m2 = monotonic_ns();
    int64_t half = (m2 - m1 + 1) / 2;
    if (half < best.half_width_ns) best = ClockOffset{r - (m1 + (m2 - m1) / 2), half, r};
  }
  return best;
}

// ---- closing packet sockets off the hot path ------------------------------------------------
//
// packet_release() ends in synchronize_net(): every close of a packet socket waits for an RCU
// grace period (10-25 ms measured here), whether it had a ring or not. Threads of the process
// do that waiting, up to kMaxThreads at once: concurrent synchronize_rcu() callers share grace
// periods, so closes in parallel cost about one. A worker that finds more sockets queued than
// threads waiting starts another, so the caller never pays for a thread (the first one is
// started with the first capture). The queue is bounded: past kMaxQueued the caller closes the
// socket itself (back-pressure rather than unbounded growth). At exit the queue is waited for
// at most kExitWait; whatever is left the kernel closes as the process ends. The closer is
// never destroyed (its detached threads may still run while static objects are), and a forked
// child starts with none.
class BackgroundCloser {
 public:
  static BackgroundCloser& instance() {
    static BackgroundCloser* closer = new BackgroundCloser();
    return *closer;
  }

  void close(int fd) {
    std::unique_lock lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
      lock.unlock();
      ::close(fd);
      return;
    }
    queue_.push_back(fd);
    if (threads_ == 0) spawn();
    wake_.notify_one();
  }

  // True when every handed-over socket has been closed within the timeout.
  bool wait_idle(int64_t timeout_ns) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), [&] { return queue_.empty() && busy_ == 0; });
  }

 private:
  static constexpr size_t kMaxQueued = 256;
  static constexpr size_t kMaxThreads = 32;
  static constexpr size_t kStackBytes = 128 << 10;
  static constexpr int64_t kExitWait = 2 * kSecond;

  BackgroundCloser() {
    std::atexit([] { (void)instance().wait_idle(kExitWait); });
    pthread_atfork([] { instance().mutex_.lock(); }, [] { instance().mutex_.unlock(); },
                   [] {
                     BackgroundCloser& c = instance();
                     c.queue_.clear();  // the child's copies: closed when it execs or exits
                     c.threads_ = c.idle_ = c.busy_ = 0;
                     // The parent's waiters do not exist here: fresh condition variables.
                     new (&c.wake_) std::condition_variable;
                     new (&c.done_) std::condition_variable;
                     c.mutex_.unlock();
                   });
    std::lock_guard lock(mutex_);
    spawn();
  }

  // With mutex_ held. A small stack: the thread only calls close().
  void spawn() {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackBytes);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    auto run = [](void* self) -> void* {
      static_cast<BackgroundCloser*>(self)->work();
      return nullptr;
    };
    if (pthread_create(&t, &attr, run, this) == 0) {
      ++threads_;
      pthread_setname_np(t, "sc-pktclose");
    }
    pthread_attr_destroy(&attr);
  }

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      wake_.wait(lock, [&] { return !queue_.empty(); });
      --idle_;
      const int fd = queue_.front();
      queue_.pop_front();
      if (queue_.size() > idle_ && threads_ < kMaxThreads) spawn();
      ++busy_;
      lock.unlock();
      ::close(fd);
      lock.lock();
      --busy_;
      if (queue_.empty() && busy_ == 0) done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<int> queue_;
  size_t threads_ = 0, idle_ = 0, busy_ = 0;
};

// A packet socket, move-only; destruction hands it to the BackgroundCloser.
class PacketFd {
 public:
  PacketFd() = default;
  explicit PacketFd(int fd) : fd_(fd) {}
  PacketFd(PacketFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  PacketFd& operator=(PacketFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~PacketFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) BackgroundCloser::instance().close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// ---- receive timestamps ----------------------------------------------------------------------
//
// The kernel stamps packets in software only while some socket of the machine asks for receive
// timestamps (net/core/dev.c: the netstamp_needed_key static key, tested by net_timestamp_set()
// in dev_queue_xmit_nit() for sent packets and net_timestamp_check() on receive), and it turns
// the key on in a work item (net_enable_timestamp() -> netstamp_work), not at once; when the
// last such socket closes it goes off again. So the first capture of the process makes a
// private namespace and in it a packet socket that asks for them, bound to that namespace's
// lo for a protocol nothing sends, and keeps it for the life of the process (an AF_UNIX socket
// would not do: sock_enable_timestamp() leaves the key alone for AF_UNIX, sock_needs_netstamp).
// That first capture also waits until a probe frame sent on that lo comes back stamped (at
// most kProbeWait). A packet that still arrives without a stamp is stamped when read and
// counted in CaptureStats::unstamped.
constexpr uint16_t kProbeEthertype = 0x88b5;  // IEEE 802 local experimental
constexpr int64_t kProbeWait = 1 * kSecond;
constexpr int kTimestampFlags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

bool probe_stamped(int rx) {
  alignas(cmsghdr) char control[256];
  char frame[64];
  iovec iov{frame, sizeof frame};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  if (::recvmsg(rx, &mh, MSG_DONTWAIT) < 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
      scm_timestamping ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0;
    }
  return false;
}

// Returns the receiving socket, to be kept (-1 if the probe could not be set up).
int hold_and_probe_timestamps() {
  auto ns = NetNs::create();  // lo is up in it; the socket kept holds the namespace
  if (!ns.ok()) return -1;
  auto scope = ScopedNetns::enter(ns->fd());
  if (!scope.ok()) return -1;
  PacketFd rx(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  PacketFd tx(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  const int lo = static_cast<int>(if_nametoindex("lo"));
  const int flags = kTimestampFlags;
  if (rx.get() < 0 || tx.get() < 0 || lo <= 0 ||
      ::setsockopt(rx.get(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0)
    return -1;
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(kProbeEthertype);
  at.sll_ifindex = lo;
  if (::bind(rx.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return rx.release();
  unsigned char frame[60] = {};  // to and from 00:00:00:00:00:00, lo's address
  frame[12] = kProbeEthertype >> 8;
  frame[13] = kProbeEthertype & 0xff;
  const int64_t deadline = monotonic_ns() + kProbeWait;
  while (monotonic_ns() < deadline) {
    if (::sendto(tx.get(), frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) break;
    pollfd p{rx.get(), POLLIN, 0};
    if (::poll(&p, 1, 5) == 1 && probe_stamped(rx.get())) break;
  }
  return rx.release();
}

void keep_rx_timestamps_on() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)BackgroundCloser::instance();
    static const int holder = hold_and_probe_timestamps();  // open until the process ends
    (void)holder;
  });
}

// ---- filters ---------------------------------------------------------------------------------

struct PcapCloser {
  void operator()(pcap_t* p) const {
    if (p) pcap_close(p);
  }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

// The user's filter for Ethernet frames, compiled by libpcap as it would for a live handle
// (pcap-filter(7)); the program accepts with "return snaplen", which the kernel takes as the
// number of bytes to keep (packet_rcv: snaplen = run_filter()).
Result<std::vector<sock_filter>> compile_filter(const std::string& text, int snaplen) {
  static std::mutex mutex;  // libpcap's parser keeps no state across calls, but be sure
  std::lock_guard lock(mutex);
  PcapPtr dead(pcap_open_dead(DLT_EN10MB, snaplen));
  if (!dead) return Error::plain("capture: pcap_open_dead failed");
  bpf_program prog{};
  if (pcap_compile(dead.get(), &prog, text.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return Error::plain("capture: pcap filter \"" + text + "\": " + pcap_geterr(dead.get()));
  std::vector<sock_filter> out;
  for (u_int i = 0; i < prog.bf_len; ++i) {
    const bpf_insn& in = prog.bf_insns[i];
    out.push_back(sock_filter{in.code, in.jt, in.jf, in.k});
  }
  pcap_freecode(&prog);
  if (out.empty() || out.size() > BPF_MAXINSNS)
    return Error::plain("capture: pcap filter \"" + text + "\" compiles to " + std::to_string(out.size()) +
                        " instructions (the kernel takes 1.." + std::to_string(BPF_MAXINSNS) + ")");
  return out;
}

Status attach_filter(int fd, const std::vector<sock_filter>& program) {
  sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
    return Error::system("SO_ATTACH_FILTER");
  return {};
}

const std::vector<sock_filter>& drop_everything() {
  static const std::vector<sock_filter> program = {sock_filter{BPF_RET | BPF_K, 0, 0, 0}};
  return program;
}

// ---- one interface's socket ------------------------------------------------------------------

struct Handle {
  PacketFd fd;
  size_t host = 0;
  std::string ifname;
  int ifindex = 0;
  bool loopback = false;  // its own transmissions come back as received: skip the sent copy
  int linktype = DLT_EN10MB;
  int buffer_bytes = 0;
  bool dead = false;
  uint64_t errors = 0;
};

// Opens the socket of one interface; the calling thread is inside the host's namespace.
// Created with protocol 0 (no hook yet: packet_create registers one only for a protocol), given
// its filter and options, then bound to the interface and ETH_P_ALL, which registers the hook
// without a grace period (packet_do_bind waits only when rehooking a socket already running).
Result<Handle> open_handle(const std::string& ifname, const std::vector<sock_filter>& program, const CaptureOptions& o) {
  Handle h;
  h.ifname = ifname;
  h.fd = PacketFd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (h.fd.get() < 0) return Error::system("packet socket for " + ifname);
  ifreq ifr{};
  if (ifname.size() >= sizeof ifr.ifr_name) return Error{"interface " + ifname + ": name too long", EINVAL};
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  if (::ioctl(h.fd.get(), SIOCGIFINDEX, &ifr) != 0) return Error::system("interface " + ifname);
  h.ifindex = ifr.ifr_ifindex;
  if (::ioctl(h.fd.get(), SIOCGIFHWADDR, &ifr) != 0) return Error::system("interface " + ifname + ": link type");
  const int hatype = ifr.ifr_hwaddr.sa_family;
  if (hatype != ARPHRD_ETHER && hatype != ARPHRD_LOOPBACK)
    return Error{"interface " + ifname + ": link type ARPHRD " + std::to_string(hatype) +
                     " (only Ethernet-framed interfaces are captured: veth, ifb, lo)",
                 EOPNOTSUPP};
  h.loopback = hatype == ARPHRD_LOOPBACK;
  const int fd = h.fd.get();
  if (auto st = attach_filter(fd, program); !st.ok()) return Error{ifname + ": " + st.error().message, st.error().err};
  const int ts_flags = kTimestampFlags;
  if (::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts_flags, sizeof ts_flags) != 0)
    return Error::system(ifname + ": SO_TIMESTAMPING");
  const int one = 1;
  if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0)
    return Error::system(ifname + ": PACKET_AUXDATA");
  // The kernel doubles what it is asked (sock_setsockopt: sk_rcvbuf = 2 * val); SO_RCVBUF is
  // capped at net.core.rmem_max, SO_RCVBUFFORCE needs CAP_NET_ADMIN in the initial namespace.
  const int half = std::max(o.kernel_buffer_bytes / 2, 1);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &half, sizeof half);
  socklen_t len = sizeof h.buffer_bytes;
  (void)::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &h.buffer_bytes, &len);
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(ETH_P_ALL);
  at.sll_ifindex = h.ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return Error::system("bind " + ifname);
  return h;
}

// What the reader thread keeps per host while capturing: the first part, then a ring.
struct Keeper {
  std::vector<CapturedPacket> head;
  std::deque<CapturedPacket> tail;
  size_t head_bytes = 0, tail_bytes = 0;
  bool head_full = false;
  uint64_t seen = 0, dropped_by_cap = 0, dropped_by_kernel = 0, unstamped = 0;
  int buffer_bytes = 0;
  std::string error;

  void add(CapturedPacket&& p, size_t max_bytes) {
    ++seen;
    const size_t cost = p.bytes.size() + kPacketOverheadBytes;
    if (!head_full) {
      if (head_bytes + cost <= max_bytes / 2) {
        head_bytes += cost;
        head.push_back(std::move(p));
        return;
      }
      head_full = true;
    }
    tail_bytes += cost;
    tail.push_back(std::move(p));
    while (!tail.empty() && tail_bytes > max_bytes - head_bytes) {
      tail_bytes -= tail.front().bytes.size() + kPacketOverheadBytes;
      tail.pop_front();
      ++dropped_by_cap;
    }
  }
};

// recvmmsg() buffers for one batch, reused for every socket.
struct Batch {
  static constexpr int kSize = 64;
  static constexpr size_t kControl = CMSG_SPACE(sizeof(scm_timestamping)) + CMSG_SPACE(sizeof(tpacket_auxdata)) + 64;
  size_t snaplen;
  std::vector<uint8_t> data;
  std::vector<char> control;
  std::vector<sockaddr_ll> names;
  std::vector<iovec> iov;
  std::vector<mmsghdr> msgs;

  explicit Batch(size_t snap)
      : snaplen(snap), data(kSize * snap), control(kSize * kControl), names(kSize), iov(kSize), msgs(kSize) {}

  // with_names: the sender's address (only a loopback's reader needs it: sll_pkttype).
  void reset(bool with_names) {
    for (int i = 0; i < kSize; ++i) {
      iov[i] = iovec{data.data() + i * snaplen, snaplen};
      msghdr& m = msgs[i].msg_hdr;
      m = msghdr{};
      m.msg_name = with_names ? &names[i] : nullptr;
      m.msg_namelen = with_names ? sizeof(sockaddr_ll) : 0;
      m.msg_iov = &iov[i];
      m.msg_iovlen = 1;
      m.msg_control = control.data() + i * kControl;
      m.msg_controllen = kControl;
      msgs[i].msg_len = 0;
    }
  }
};

// What the reader thread and stop() share. The reader holds `mutex` while it reads; stop()
// takes it for the final read, so it never waits for the reader thread to wake up (on this
// kind of machine a sleeping thread can take milliseconds to be scheduled): the reader finds
// `stopped` when it next wakes and ends on its own.
struct Reading {
  std::mutex mutex;
  bool stopped = false;
  bool reader_gone = false;  // the reader thread ended before stop() (poll failed)
  CaptureOptions options;
  std::vector<Handle> handles;
  std::vector<Keeper> keepers;
  Batch batch;
  Fd stop_event;

  explicit Reading(const CaptureOptions& o) : options(o), batch(static_cast<size_t>(o.snaplen)) {}

  // One received message -> a CapturedPacket, or nothing (a loopback's sent copy).
  void take(Handle& h, int i) {
    const msghdr& m = batch.msgs[i].msg_hdr;
    if (h.loopback && batch.names[i].sll_pkttype == PACKET_OUTGOING) return;
    const uint8_t* data = static_cast<const uint8_t*>(batch.iov[i].iov_base);
    const size_t got = std::min<size_t>(batch.msgs[i].msg_len, batch.snaplen);
    int64_t stamp = 0;
    const tpacket_auxdata* aux = nullptr;
    tpacket_auxdata aux_copy{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
        scm_timestamping ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        stamp = static_cast<int64_t>(ts.ts[0].tv_sec) * kSecond + ts.ts[0].tv_nsec;
      } else if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
        std::memcpy(&aux_copy, CMSG_DATA(c), sizeof aux_copy);
        aux = &aux_copy;
      }
    }
    Keeper& k = keepers[h.host];
    CapturedPacket p;
    if (stamp == 0) {
      stamp = realtime_ns();
      ++k.unstamped;
    }
    p.real_ns = stamp;
    p.ifname = h.ifname;
    p.linktype = h.linktype;
    p.wire_len = aux ? aux->tp_len : static_cast<uint32_t>(got);
    if (aux && (aux->tp_status & TP_STATUS_VLAN_VALID) && got >= 12) {
      // The tag travelled in the skb, not in the frame (the receive path takes it out before
      // the taps: __netif_receive_skb_core, skb_vlan_untag): put it back where it was on the
      // wire, as libpcap does.
      const uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
      const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                              static_cast<uint8_t>(aux->tp_vlan_tci >> 8), static_cast<uint8_t>(aux->tp_vlan_tci)};
      p.bytes.reserve(got + 4);
      p.bytes.assign(data, data + 12);
      p.bytes.insert(p.bytes.end(), tag, tag + 4);
      p.bytes.insert(p.bytes.end(), data + 12, data + got);
      if (p.bytes.size() > static_cast<size_t>(options.snaplen)) p.bytes.resize(options.snaplen);
      p.wire_len += 4;
    } else {
      p.bytes.assign(data, data + got);
    }
    k.add(std::move(p), options.max_bytes);
  }

  // Reads what a socket holds now; marks it dead when it fails for good. Returns the count.
  size_t drain(Handle& h) {
    size_t count = 0;
    while (!h.dead) {
      batch.reset(h.loopback);
      const int n = ::recvmmsg(h.fd.get(), batch.msgs.data(), Batch::kSize, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // A link taken down (a link-down fault) reports ENETDOWN once; the hook comes back by
        // itself when the link is up again (net/packet/af_packet.c, packet_notifier).
        // Anything else, or ENETDOWN that keeps coming, ends this interface's capture.
        const int e = errno;
        if (e != ENETDOWN || ++h.errors > 64) {
          h.dead = true;
          Keeper& k = keepers[h.host];
          if (!k.error.empty()) k.error += "; ";
          k.error += h.ifname + ": " + std::strerror(e);
        }
        break;
      }
      for (int i = 0; i < n; ++i) take(h, i);
      count += static_cast<size_t>(n);
      if (n < Batch::kSize) break;
    }
    return count;
  }

  // stop(): no more packets are queued (a filter that takes none replaces the user's at once),
  // everything queued before is read, then the kernel's drop counter (PACKET_STATISTICS:
  // tp_drops, the packets packet_rcv found no room for).
  void finish() {
    stopped = true;
    for (auto& h : handles) {
      (void)attach_filter(h.fd.get(), drop_everything());
      drain(h);
      tpacket_stats st{};
      socklen_t len = sizeof st;
      if (::getsockopt(h.fd.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        keepers[h.host].dropped_by_kernel += st.tp_drops;
    }
    handles.clear();  // the sockets go to the background closer
    uint64_t one = 1;
    (void)!::write(stop_event.get(), &one, sizeof one);
  }
};

// The reader thread. While packets come it reads every kReadInterval rather than at each one:
// a thread asleep in poll() is woken by every packet queued (sk_data_ready), an IPI and a
// context switch per packet charged to whoever sent it; a thread asleep on a timer costs the
// senders nothing. The kernel stamps each packet as it queues it, so reading late changes no
// time, and kernel_buffer_bytes holds what arrives in between. Should a socket's queue reach a
// quarter of its buffer (SO_MEMINFO: rmem_alloc against rcvbuf), the reader stops pausing
// until it is back under. When a read finds nothing it sleeps in poll() until the next packet.
// The interval is short because a queued packet is a clone of the kernel's skb, not a copy
// (see docs/evidence.md, "What a queued packet costs the stack").
constexpr int64_t kReadInterval = 1 * kMillisecond;

// How full a socket's receive queue is, in quarters of its buffer (0 when unknown).
int fill_quarters(int fd) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof meminfo;
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0 || meminfo[SK_MEMINFO_RCVBUF] == 0) return 0;
  return static_cast<int>(4ull * meminfo[SK_MEMINFO_RMEM_ALLOC] / meminfo[SK_MEMINFO_RCVBUF]);
}

void read_until_stopped(std::shared_ptr<Reading> r) {
  std::vector<pollfd> fds;
  int stop_fd = -1;
  {
    std::lock_guard lock(r->mutex);
    for (auto& h : r->handles) fds.push_back(pollfd{h.fd.get(), POLLIN, 0});
    stop_fd = r->stop_event.get();
    fds.push_back(pollfd{stop_fd, POLLIN, 0});
  }
  enum { kIdle, kBusy, kPressed } mode = kIdle;
  for (;;) {
    if (mode == kBusy) {
      pollfd stop{stop_fd, POLLIN, 0};
      const timespec pause = to_timespec(kReadInterval);
      (void)::ppoll(&stop, 1, &pause, nullptr);
    } else if (::poll(fds.data(), fds.size(), mode == kPressed ? 0 : -1) < 0 && errno != EINTR) {
      std::lock_guard lock(r->mutex);  // stop() reads what is left
      r->reader_gone = true;
      return;
    }
    std::lock_guard lock(r->mutex);
    if (r->stopped) return;
    size_t got = 0;
    int fullest = 0;
    for (size_t i = 0; i < r->handles.size(); ++i) {
      Handle& h = r->handles[i];
      if (h.dead) continue;
      fullest = std::max(fullest, fill_quarters(h.fd.get()));
      got += r->drain(h);
      if (h.dead) fds[i].fd = -1;
    }
    mode = got == 0 ? kIdle : fullest >= 1 ? kPressed : kBusy;
  }
}

}  // namespace

struct CaptureSet::Impl {
  std::shared_ptr<Reading> reading;
  std::vector<HostCapture> hosts;
  clockid_t reader_clock{};
  bool has_reader_clock = false;
  bool running = false;
  ClockOffset offset_start;
  int64_t reader_cpu_ns = 0;

  Status finish() {
    if (!running) return {};
    running = false;
    std::vector<Keeper> keepers;
    {
      std::lock_guard lock(reading->mutex);
      if (has_reader_clock && !reading->reader_gone) {  // alive until it sees `stopped`, under this lock
        timespec cpu{};
        if (clock_gettime(reader_clock, &cpu) == 0) reader_cpu_ns = static_cast<int64_t>(cpu.tv_sec) * kSecond + cpu.tv_nsec;
      }
      reading->finish();
      keepers = std::move(reading->keepers);
    }
    const ClockOffset offset_stop = measure_clock_offset();
    const int64_t span = std::max<int64_t>(offset_stop.real_ns - offset_start.real_ns, 1);
    const int64_t change = offset_stop.offset_ns - offset_start.offset_ns;
    auto to_mono = [&](int64_t real) {
      int64_t along = std::clamp<int64_t>(real - offset_start.real_ns, 0, span);
      auto offset = offset_start.offset_ns + static_cast<int64_t>(static_cast<__int128>(change) * along / span);
      return real - offset;
    };
    auto by_time = [](const CapturedPacket& a, const CapturedPacket& b) { return a.real_ns < b.real_ns; };
    for (size_t i = 0; i < hosts.size(); ++i) {
      Keeper& k = keepers[i];
      HostCapture& host = hosts[i];
      std::stable_sort(k.head.begin(), k.head.end(), by_time);
      std::stable_sort(k.tail.begin(), k.tail.end(), by_time);
      host.packets_ = std::move(k.head);
      CaptureStats& s = host.stats_;
      s.first_part = host.packets_.size();
      host.packets_.insert(host.packets_.end(), std::make_move_iterator(k.tail.begin()),
                           std::make_move_iterator(k.tail.end()));
      k.tail.clear();
      for (auto& p : host.packets_) p.mono_ns = to_mono(p.real_ns);
      s.seen = k.seen;
      s.kept = host.packets_.size();
      s.dropped_by_cap = k.dropped_by_cap;
      s.dropped_by_kernel = k.dropped_by_kernel;
      s.unstamped = k.unstamped;
      s.kernel_buffer_bytes = k.buffer_bytes;
      s.truncated = k.dropped_by_cap > 0;
      s.clock_offset_start_ns = offset_start.offset_ns;
      s.clock_offset_stop_ns = offset_stop.offset_ns;
      s.clock_error_bound_ns =
          std::max(offset_start.half_width_ns, offset_stop.half_width_ns) + (change < 0 ? -change : change);
      s.error = std::move(k.error);
    }
    return {};
  }
};

Result<CaptureSet> CaptureSet::start(const std::vector<Target>& targets, CaptureOptions options) {
  if (targets.empty()) return Error::plain("capture: no host to capture");
  if (options.snaplen < 64 || options.snaplen > 262144)
    return Error::plain("capture: snaplen must be 64..262144 bytes (" + std::to_string(options.snaplen) + ")");
  if (options.max_bytes < 2 * (kPacketOverheadBytes + static_cast<size_t>(options.snaplen)))
    return Error::plain("capture: max_bytes must hold at least two packets");
  for (const auto& t : targets) {
    if (!t.ns) return Error::plain("capture " + t.host + ": no namespace");
    if (t.ifnames.empty()) return Error::plain("capture " + t.host + ": no interface");
  }
  auto program = compile_filter(options.filter, options.snaplen);
  if (!program.ok()) return program.error();
  keep_rx_timestamps_on();
  auto impl = std::make_unique<Impl>();
  auto reading = std::make_shared<Reading>(options);
  reading->keepers.resize(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    HostCapture host;
    host.host_ = t.host;
    host.ifnames_ = t.ifnames;
    impl->hosts.push_back(std::move(host));
    // Inside the host's namespace: a packet socket belongs to the namespace it is created in.
    auto scope = ScopedNetns::enter(t.ns->fd());
    if (!scope.ok()) return Error{"capture " + t.host + ": " + scope.error().message, scope.error().err};
    for (const auto& ifname : t.ifnames) {
      auto h = open_handle(ifname, *program, options);
      if (!h.ok()) return Error{"capture " + t.host + ": " + h.error().message, h.error().err};
      h->host = i;
      reading->keepers[i].buffer_bytes = std::max(reading->keepers[i].buffer_bytes, h->buffer_bytes);
      reading->handles.push_back(std::move(h.value()));
    }
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return Error::system("capture: eventfd");
  reading->stop_event = Fd(efd);
  impl->offset_start = measure_clock_offset();
  std::thread reader(read_until_stopped, reading);
  pthread_setname_np(reader.native_handle(), "sc-capture");
  impl->has_reader_clock = pthread_getcpuclockid(reader.native_handle(), &impl->reader_clock) == 0;
  reader.detach();  // it ends by itself after stop(), holding `reading` until then
  impl->reading = std::move(reading);
  impl->running = true;
  return CaptureSet(std::move(impl));
}

CaptureSet::CaptureSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CaptureSet::CaptureSet(CaptureSet&&) noexcept = default;
CaptureSet& CaptureSet::operator=(CaptureSet&& o) noexcept {
  if (this != &o) {
    if (impl_) (void)impl_->finish();
    impl_ = std::move(o.impl_);
  }
  return *this;
}
CaptureSet::~CaptureSet() {
  if (impl_) (void)impl_->finish();
}

Status CaptureSet::stop() { return impl_ ? impl_->finish() : Status{}; }
bool CaptureSet::running() const { return impl_ && impl_->running; }
size_t CaptureSet::size() const { return impl_ ? impl_->hosts.size() : 0; }
const HostCapture& CaptureSet::host(size_t index) const { return impl_->hosts.at(index); }
const HostCapture* CaptureSet::find(const std::string& host) const {
  if (!impl_) return nullptr;
  for (const auto& h : impl_->hosts)
    if (h.host() == host) return &h;
  return nullptr;
}
int64_t CaptureSet::reader_cpu_ns() const { return impl_ ? impl_->reader_cpu_ns : 0; }

bool wait_for_background_closes(int64_t timeout_ns) { return BackgroundCloser::instance().wait_idle(timeout_ns); }

Result<Capture> Capture::start(const NetNs& ns, const std::vector<std::string>& ifnames, CaptureOptions options) {
  auto set = CaptureSet::start({CaptureSet::Target{"host", &ns, ifnames}}, std::move(options));
  if (!set.ok()) return set.error();
  return Capture(std::move(set.value()));
}

Status HostCapture::write_pcap(const std::string& path, const std::string& only_ifname) const {
  int linktype = -1;
  int snaplen = 0;
  for (const auto& p : packets_) {
    if (!only_ifname.empty() && p.ifname != only_ifname) continue;
    if (linktype >= 0 && p.linktype != linktype)
      return Error::plain("pcap " + path + ": interfaces of different link types; write them one by one");
    linktype = p.linktype;
    snaplen = std::max<int>(snaplen, static_cast<int>(p.bytes.size()));
  }
  if (linktype < 0) linktype = DLT_EN10MB;
  std::unique_ptr<pcap_t, PcapCloser> dead(
      pcap_open_dead_with_tstamp_precision(linktype, std::max(snaplen, 64), PCAP_TSTAMP_PRECISION_NANO));
  if (!dead) return Error::plain("pcap_open_dead failed");
  pcap_dumper_t* out = pcap_dump_open(dead.get(), path.c_str());
  if (!out) return Error::plain("pcap " + path + ": " + pcap_geterr(dead.get()));
  for (const auto& p : packets_) {
    if (!only_ifname.empty() && p.ifname != only_ifname) continue;
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(p.real_ns / kSecond);
    h.ts.tv_usec = static_cast<suseconds_t>(p.real_ns % kSecond);  // nanoseconds in a nano file
    h.caplen = static_cast<bpf_u_int32>(p.bytes.size());
    h.len = p.wire_len;
    pcap_dump(reinterpret_cast<u_char*>(out), &h, p.bytes.data());
  }
  const bool flushed = pcap_dump_flush(out) == 0;
  pcap_dump_close(out);
  if (!flushed) return Error::system("pcap " + path + ": write");
  return {};
}

}  // namespace sockchaos::netns
