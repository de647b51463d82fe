#include "netns/capture.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
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

struct PcapCloser {
  void operator()(pcap_t* p) const {
    if (p) pcap_close(p);
  }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

struct Handle {
  PcapPtr pcap;
  size_t host = 0;
  std::string ifname;
  int linktype = 0;
  int fd = -1;
  bool dead = false;
  uint64_t errors = 0;
};

// What the reader thread keeps per host while capturing: the first part, then a ring.
struct Keeper {
  std::vector<CapturedPacket> head;
  std::deque<CapturedPacket> tail;
  size_t head_bytes = 0, tail_bytes = 0;
  bool head_full = false;
  uint64_t seen = 0, dropped_by_cap = 0, dropped_by_kernel = 0;
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

std::string pcap_failure(pcap_t* p, int rc) {
  std::string text = pcap_statustostr(rc);
  const char* detail = p ? pcap_geterr(p) : nullptr;
  if (detail && *detail) text += std::string(": ") + detail;
  return text;
}

int errno_for(int rc) {
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED: return EPERM;
    case PCAP_ERROR_NO_SUCH_DEVICE: return ENODEV;
    case PCAP_ERROR_IFACE_NOT_UP: return ENETDOWN;
    default: return 0;
  }
}

Result<Handle> open_handle(const std::string& ifname, const CaptureOptions& o) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapPtr p(pcap_create(ifname.c_str(), errbuf));
  if (!p) return Error::plain("pcap_create " + ifname + ": " + errbuf);
  pcap_set_snaplen(p.get(), o.snaplen);
  pcap_set_promisc(p.get(), 0);
  pcap_set_immediate_mode(p.get(), 1);
  pcap_set_buffer_size(p.get(), o.kernel_buffer_bytes);
  if (int rc = pcap_set_tstamp_precision(p.get(), PCAP_TSTAMP_PRECISION_NANO); rc != 0)
    return Error::plain("pcap " + ifname + ": nanosecond timestamps: " + pcap_failure(p.get(), rc));
  int rc = pcap_activate(p.get());
  if (rc < 0) return Error{"pcap_activate " + ifname + ": " + pcap_failure(p.get(), rc), errno_for(rc)};
  if (pcap_get_tstamp_precision(p.get()) != PCAP_TSTAMP_PRECISION_NANO)
    return Error::plain("pcap " + ifname + ": the kernel gave no nanosecond timestamps");
  bpf_program prog{};
  if (pcap_compile(p.get(), &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return Error::plain("pcap filter \"" + o.filter + "\" on " + ifname + ": " + pcap_geterr(p.get()));
  rc = pcap_setfilter(p.get(), &prog);
  pcap_freecode(&prog);
  if (rc != 0) return Error::plain("pcap_setfilter " + ifname + ": " + pcap_geterr(p.get()));
  if (pcap_setnonblock(p.get(), 1, errbuf) != 0) return Error::plain("pcap_setnonblock " + ifname + ": " + errbuf);
  Handle h;
  h.linktype = pcap_datalink(p.get());
  h.fd = pcap_get_selectable_fd(p.get());
  if (h.fd < 0) return Error::plain("pcap " + ifname + ": no selectable fd");
  h.ifname = ifname;
  h.pcap = std::move(p);
  return h;
}

}  // namespace

struct CaptureSet::Impl {
  CaptureOptions options;
  std::vector<HostCapture> hosts;
  std::vector<Keeper> keepers;
  std::vector<Handle> handles;
  Fd stop_event;
  std::thread reader;
  bool running = false;
  ClockOffset offset_start;
  int64_t reader_cpu_ns = 0;
  // Closing a packet socket waits for RCU grace periods twice (packet_set_ring() freeing the
  // ring, packet_release(): synchronize_net()), some 20 ms: the handles are closed by these
  // threads, all at once, after stop() has drained them, and joined on destruction.
  std::vector<std::thread> closers;

  ~Impl() {
    for (auto& t : closers) t.join();
  }

  struct CallbackContext {
    Impl* impl;
    Handle* handle;
  };

  static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* ctx = reinterpret_cast<CallbackContext*>(user);
    CapturedPacket p;
    // Nanosecond precision: tv_usec holds nanoseconds.
    p.real_ns = static_cast<int64_t>(h->ts.tv_sec) * kSecond + static_cast<int64_t>(h->ts.tv_usec);
    p.ifname = ctx->handle->ifname;
    p.bytes.assign(bytes, bytes + h->caplen);
    p.wire_len = h->len;
    p.linktype = ctx->handle->linktype;
    ctx->impl->keepers[ctx->handle->host].add(std::move(p), ctx->impl->options.max_bytes);
  }

  // Reads what a handle holds now; marks it dead when it fails for good.
  void dispatch(Handle& h) {
    if (h.dead) return;
    CallbackContext ctx{this, &h};
    for (;;) {
      int n = pcap_dispatch(h.pcap.get(), -1, &Impl::on_packet, reinterpret_cast<u_char*>(&ctx));
      if (n > 0) continue;
      if (n == 0) return;
      // A veth taken down (a link-down fault) reports ENETDOWN once; the packet socket
      // resumes by itself when the link comes back up (net/packet/af_packet.c,
      // packet_notifier). Anything else, or an error that keeps coming, ends this handle.
      std::string why = pcap_geterr(h.pcap.get());
      Keeper& k = keepers[h.host];
      const bool went_down = why.find("went down") != std::string::npos;
      if (!went_down || ++h.errors > 64) {
        h.dead = true;
        if (!k.error.empty()) k.error += "; ";
        k.error += h.ifname + ": " + why;
      }
      return;
    }
  }

  void run() {
    std::vector<pollfd> fds;
    for (auto& h : handles) fds.push_back(pollfd{h.fd, POLLIN, 0});
    fds.push_back(pollfd{stop_event.get(), POLLIN, 0});
    for (;;) {
      int rc = ::poll(fds.data(), fds.size(), -1);
      if (rc < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (size_t i = 0; i < handles.size(); ++i) {
        if (fds[i].revents == 0) continue;
        dispatch(handles[i]);
        if (handles[i].dead) fds[i].fd = -1;
      }
      if (fds.back().revents & POLLIN) break;
    }
    // Drain: everything the kernel queued before stop() was called.
    for (auto& h : handles) dispatch(h);
    for (auto& h : handles) {
      pcap_stat st{};
      if (pcap_stats(h.pcap.get(), &st) == 0) keepers[h.host].dropped_by_kernel += st.ps_drop;
    }
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    reader_cpu_ns = static_cast<int64_t>(cpu.tv_sec) * kSecond + cpu.tv_nsec;
  }

  Status finish() {
    if (!running) return {};
    uint64_t one = 1;
    if (::write(stop_event.get(), &one, sizeof one) != static_cast<ssize_t>(sizeof one))
      return Error::system("capture: signal the reader thread");
    reader.join();
    running = false;
    for (auto& h : handles) closers.emplace_back([p = std::move(h.pcap)]() mutable { p.reset(); });
    handles.clear();
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
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  struct Opening {
    const Target* target;
    size_t host;
    std::string ifname;
    Result<Handle> handle = Error::plain("not opened");
  };
  std::vector<Opening> openings;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    if (!t.ns) return Error::plain("capture " + t.host + ": no namespace");
    if (t.ifnames.empty()) return Error::plain("capture " + t.host + ": no interface");
    HostCapture host;
    host.host_ = t.host;
    host.ifnames_ = t.ifnames;
    impl->hosts.push_back(std::move(host));
    for (const auto& ifname : t.ifnames) openings.push_back(Opening{&t, i, ifname});
  }
  // One thread per handle, each inside its host's namespace (a packet socket binds to the
  // namespace of the thread that creates it): setting up a ring waits for an RCU grace period
  // (packet_set_ring), so the handles wait for theirs together.
  {
    std::vector<std::thread> openers;
    for (auto& o : openings) {
      openers.emplace_back([&o, &options] {
        auto scope = ScopedNetns::enter(o.target->ns->fd());
        if (!scope.ok()) {
          o.handle = scope.error();
          return;
        }
        o.handle = open_handle(o.ifname, options);
      });
    }
    for (auto& t : openers) t.join();
  }
  for (auto& o : openings) {
    if (!o.handle.ok()) {
      for (auto& other : openings)  // close the others in the background too
        if (other.handle.ok()) impl->closers.emplace_back([p = std::move(other.handle->pcap)]() mutable { p.reset(); });
      return Error{"capture " + o.target->host + ": " + o.handle.error().message, o.handle.error().err};
    }
    o.handle->host = o.host;
    impl->handles.push_back(std::move(o.handle.value()));
  }
  impl->keepers.resize(impl->hosts.size());
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return Error::system("capture: eventfd");
  impl->stop_event = Fd(efd);
  impl->offset_start = measure_clock_offset();
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->run(); });
  pthread_setname_np(impl->reader.native_handle(), "sc-capture");
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
