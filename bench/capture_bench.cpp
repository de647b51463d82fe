// What a packet capture costs a cell. Root. Prints Markdown tables (docs/evidence.md, "Cost").
//   sockchaos-capturebench [--iterations N] [--frames N] [--cells N] [--blocks N] [--block-cells N]
//                          [--probe-ms N] [--rounds N]
//
// 1. CaptureSet on two hosts (one veth each), idle, in a topology built once: start, stop and
//    destruction right after stop, per cell (median, p95), and the first start of the process
//    (which also switches the kernel's receive timestamps on, see netns/capture.hpp).
// 2. Sustained rates: Ethernet frames written straight onto the client's veth by a packet
//    socket (TCP headers to 198.18.0.2, addressed to a MAC nobody has, so the server's stack
//    drops them after its capture saw them and answers nothing), both hosts capturing (the
//    client's as sent, the server's as received), offered at fixed rates paced by
//    clock_nanosleep in batches, each run bounded by its frame count and 10 s.
// 3. The headline: a trivial cell (two namespaces + veth, capture start, one TCP connect /
//    accept / close, capture stop, teardown) with capture and without, in pairs in one run, then
//    in alternating blocks of cells (a session with capture against one without).
// 4. A flat-out probe loop (connect, accept, close with SO_LINGER 0: SYN, SYN-ACK, ACK, RST),
//    for --probe-ms per round, --rounds pairs of rounds (off/on, the order alternating):
//    probes per second, and the per-pair ratio.
// 5. The alternative the capture does not use: a TPACKET_V3 receive ring (what libpcap sets up).
//    On a fresh packet socket in a fresh namespace, never bound (no hook registered), the
//    PACKET_RX_RING setsockopt and the close, each timed: both wait for RCU grace periods
//    (net/packet/af_packet.c: packet_set_ring and packet_release call synchronize_net()).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "harness/world/topology.hpp"
#include "netns/capture.hpp"

using namespace sockchaos;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

harness::Scenario two_hosts() {
  harness::Scenario s;
  s.name = "capturebench";
  s.hosts = {{"client", {}}, {"server", {}}};
  s.links = {{"client", "server"}};
  return s;
}

std::vector<netns::CaptureSet::Target> targets_of(harness::Topology& topo) {
  return {{"client", &topo.host("client").ns, {"sc0"}}, {"server", &topo.host("server").ns, {"sc0"}}};
}

std::vector<uint8_t> frame_template(uint16_t sport) {
  std::vector<uint8_t> f(14 + 20 + 20, 0);
  const uint8_t dst_mac[6] = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x01}, src_mac[6] = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x02};
  std::memcpy(f.data(), dst_mac, 6);
  std::memcpy(f.data() + 6, src_mac, 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[3] = 40;
  ip[8] = 64;
  ip[9] = 6;
  const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  uint8_t* th = ip + 20;
  th[0] = static_cast<uint8_t>(sport >> 8);
  th[1] = static_cast<uint8_t>(sport);
  th[2] = 0x23;
  th[3] = 0x28;  // 9000
  th[12] = 0x50;
  th[13] = 0x10;  // ACK
  th[14] = 0x01;
  return f;
}

// ---- TCP in the namespaces -------------------------------------------------------------

int tcp_socket_in(const netns::NetNs& ns) {
  auto in = netns::ScopedNetns::enter(ns.fd());
  if (!in.ok()) return -1;
  return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

sockaddr_in address_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

int listen_in(const netns::NetNs& ns, uint16_t port) {
  int fd = tcp_socket_in(ns);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = address_of("0.0.0.0", port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 512) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One connection: connect, accept, then closes (abortive: SO_LINGER 0 on the client, like the
// probe loops; otherwise an orderly FIN from each side).
bool one_connection(const netns::NetNs& client, int listener, const sockaddr_in& to, bool abortive) {
  int c = tcp_socket_in(client);
  if (c < 0) return false;
  if (abortive) {
    linger lg{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (::connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    ::close(c);
    return false;
  }
  pollfd p{listener, POLLIN, 0};
  int s = ::poll(&p, 1, 1000) == 1 ? ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  ::close(c);
  if (s >= 0) ::close(s);
  return s >= 0;
}

// ---- 2. sustained rates ----------------------------------------------------------------

struct RateResult {
  double offered_pps = 0, sent_pps = 0;
  uint64_t sent = 0, seen_client = 0, seen_server = 0, kernel_drops = 0, unstamped = 0;
  double reader_cpu_percent = 0, elapsed_s = 0;
  int64_t clock_error_bound_ns = 0;
  int kernel_buffer_bytes = 0;
};

// Sends `frames` frames at `pps` (0: as fast as possible) while both hosts capture.
RateResult run_rate(harness::Topology& topo, double pps, uint64_t frames, size_t max_bytes) {
  RateResult r;
  r.offered_pps = pps;
  netns::CaptureOptions o;
  o.max_bytes = max_bytes;
  auto cap = netns::CaptureSet::start(targets_of(topo), o);
  if (!cap.ok()) {
    std::fprintf(stderr, "capture: %s\n", cap.error().str().c_str());
    return r;
  }
  int fd = -1;
  int ifindex = 0;
  {
    auto in = netns::ScopedNetns::enter(topo.host("client").ns.fd());
    fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: sends only
    ifindex = static_cast<int>(if_nametoindex("sc0"));
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  const size_t batch = 32;
  std::vector<std::vector<uint8_t>> bufs;
  for (size_t i = 0; i < batch; ++i) bufs.push_back(frame_template(static_cast<uint16_t>(10000 + i)));
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  for (size_t i = 0; i < batch; ++i) {
    iov[i] = iovec{bufs[i].data(), bufs[i].size()};
    msgs[i].msg_hdr = msghdr{&to, sizeof to, &iov[i], 1, nullptr, 0, 0};
  }
  const int64_t start = monotonic_ns(), limit = start + 10 * kSecond;
  while (r.sent < frames && monotonic_ns() < limit) {
    if (pps > 0) {  // pace: the batch's due time
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(r.sent) / pps * 1e9);
      const timespec ts = to_timespec(due);
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    int n = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(std::min<uint64_t>(batch, frames - r.sent)), 0);
    if (n > 0) r.sent += static_cast<uint64_t>(n);
  }
  const int64_t end = monotonic_ns();
  ::close(fd);  // the sender's own packet socket: its close waits a grace period (not the capture's)
  (void)cap->stop();
  r.elapsed_s = static_cast<double>(end - start) / 1e9;
  r.sent_pps = static_cast<double>(r.sent) / r.elapsed_s;
  const auto& cs = cap->find("client")->stats();
  const auto& ss = cap->find("server")->stats();
  r.seen_client = cs.seen;
  r.seen_server = ss.seen;
  r.kernel_drops = cs.dropped_by_kernel + ss.dropped_by_kernel;
  r.unstamped = cs.unstamped + ss.unstamped;
  r.reader_cpu_percent = static_cast<double>(cap->reader_cpu_ns()) / static_cast<double>(end - start) * 100.0;
  r.clock_error_bound_ns = cs.clock_error_bound_ns;
  r.kernel_buffer_bytes = cs.kernel_buffer_bytes;
  return r;
}

// ---- 3. the trivial cell ----------------------------------------------------------------

struct CellTimes {
  double topology = 0, capture_start = 0, connection = 0, capture_stop = 0, teardown = 0, total = 0;
  uint64_t packets = 0;  // captured, both hosts
  bool ok = false;
};

CellTimes trivial_cell(bool capture) {
  CellTimes t;
  const int64_t t0 = monotonic_ns();
  auto topo = harness::Topology::build(two_hosts());
  if (!topo.ok()) {
    std::fprintf(stderr, "topology: %s\n", topo.error().str().c_str());
    return t;
  }
  const int64_t t1 = monotonic_ns();
  std::optional<netns::CaptureSet> cap;
  if (capture) {
    auto c = netns::CaptureSet::start(targets_of(*topo));
    if (!c.ok()) {
      std::fprintf(stderr, "capture: %s\n", c.error().str().c_str());
      return t;
    }
    cap.emplace(std::move(c.value()));
  }
  const int64_t t2 = monotonic_ns();
  int listener = listen_in(topo->host("server").ns, 9000);
  const bool connected =
      listener >= 0 && one_connection(topo->host("client").ns, listener, address_of(topo->host("server").address(), 9000), false);
  if (listener >= 0) ::close(listener);
  const int64_t t3 = monotonic_ns();
  if (cap) {
    (void)cap->stop();
    t.packets = cap->host(0).stats().seen + cap->host(1).stats().seen;
  }
  const int64_t t4 = monotonic_ns();
  cap.reset();
  topo = Error::plain("torn down");  // closes the namespace fds
  const int64_t t5 = monotonic_ns();
  t.topology = ms(t1 - t0);
  t.capture_start = ms(t2 - t1);
  t.connection = ms(t3 - t2);
  t.capture_stop = ms(t4 - t3);
  t.teardown = ms(t5 - t4);
  t.total = ms(t5 - t0);
  t.ok = connected;
  return t;
}

// ---- 4. the flat-out probe loop ----------------------------------------------------------

struct ProbeRound {
  double rate = 0;  // probes per second
  uint64_t probes = 0, packets = 0, kernel_drops = 0;
  double reader_cpu_percent = 0;
  double loop_cpu_us = 0, reader_cpu_us = 0;  // per probe: the loop's thread (with the softirqs it
                                              // runs: the veth delivers in the sender's context), the reader's
};

int64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * kSecond + t.tv_nsec;
}

ProbeRound probe_round(harness::Topology& topo, bool capture, int duration_ms) {
  ProbeRound r;
  std::optional<netns::CaptureSet> cap;
  if (capture) {
    netns::CaptureOptions o;
    o.max_bytes = 64u << 20;
    auto c = netns::CaptureSet::start(targets_of(topo), o);
    if (!c.ok()) {
      std::fprintf(stderr, "capture: %s\n", c.error().str().c_str());
      return r;
    }
    cap.emplace(std::move(c.value()));
  }
  int listener = listen_in(topo.host("server").ns, 9001);
  const sockaddr_in to = address_of(topo.host("server").address(), 9001);
  const int64_t start = monotonic_ns(), end = start + duration_ms * kMillisecond, cpu0 = thread_cpu_ns();
  while (monotonic_ns() < end && r.probes < 2000000)
    if (one_connection(topo.host("client").ns, listener, to, true)) ++r.probes;
  const int64_t elapsed = monotonic_ns() - start, loop_cpu = thread_cpu_ns() - cpu0;
  ::close(listener);
  if (cap) {
    (void)cap->stop();
    for (size_t i = 0; i < cap->size(); ++i) {
      r.packets += cap->host(i).stats().seen;
      r.kernel_drops += cap->host(i).stats().dropped_by_kernel;
    }
    r.reader_cpu_percent = static_cast<double>(cap->reader_cpu_ns()) / static_cast<double>(elapsed) * 100.0;
    r.reader_cpu_us = static_cast<double>(cap->reader_cpu_ns()) / 1e3 / static_cast<double>(std::max<uint64_t>(r.probes, 1));
  }
  r.rate = static_cast<double>(r.probes) / (static_cast<double>(elapsed) / 1e9);
  r.loop_cpu_us = static_cast<double>(loop_cpu) / 1e3 / static_cast<double>(std::max<uint64_t>(r.probes, 1));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 100, cells = 200, probe_ms = 250, rounds = 30, blocks = 3, block_cells = 50;
  uint64_t frames = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--iterations") iterations = std::stoi(argv[i + 1]);
    if (a == "--frames") frames = std::stoull(argv[i + 1]);
    if (a == "--cells") cells = std::stoi(argv[i + 1]);
    if (a == "--probe-ms") probe_ms = std::stoi(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (a == "--blocks") blocks = std::stoi(argv[i + 1]);
    if (a == "--block-cells") block_cells = std::stoi(argv[i + 1]);
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "needs root (namespaces, veth)\n");
    return 3;
  }
  auto topo = harness::Topology::build(two_hosts());
  if (!topo.ok()) {
    std::fprintf(stderr, "topology: %s\n", topo.error().str().c_str());
    return 1;
  }

  // 1. Start, stop, destroy on two hosts, idle.
  double first_start_ms = 0;
  std::vector<double> start_ms, stop_ms, destroy_ms, total_ms;
  for (int i = 0; i <= iterations; ++i) {
    const int64_t t0 = monotonic_ns();
    int64_t t1 = 0, t2 = 0;
    {
      auto cap = netns::CaptureSet::start(targets_of(*topo));
      t1 = monotonic_ns();
      if (!cap.ok()) {
        std::fprintf(stderr, "capture: %s\n", cap.error().str().c_str());
        return 1;
      }
      (void)cap->stop();
      t2 = monotonic_ns();
    }
    const int64_t t3 = monotonic_ns();
    if (i == 0) {  // the process's first: not in the per-cell figures
      first_start_ms = ms(t1 - t0);
      continue;
    }
    start_ms.push_back(ms(t1 - t0));
    stop_ms.push_back(ms(t2 - t1));
    destroy_ms.push_back(ms(t3 - t2));
    total_ms.push_back(ms(t3 - t0));
  }
  std::printf("## Packet capture: 2 hosts x 1 veth, snaplen 128, filter \"tcp\"\n\n");
  std::printf("| per cell, idle (%d runs) | median ms | p95 ms |\n|---|---|---|\n", iterations);
  std::printf("| start | %.3f | %.3f |\n", percentile(start_ms, 50), percentile(start_ms, 95));
  std::printf("| stop | %.3f | %.3f |\n", percentile(stop_ms, 50), percentile(stop_ms, 95));
  std::printf("| destruction right after stop | %.3f | %.3f |\n", percentile(destroy_ms, 50), percentile(destroy_ms, 95));
  std::printf("| start + stop + destruction | %.3f | %.3f |\n\n", percentile(total_ms, 50), percentile(total_ms, 95));
  std::printf("First start in this process: %.3f ms.\n\n", first_start_ms);

  // 2. Sustained rates: each frame is captured twice (client sent, server received).
  std::printf("| offered frames/s | sent frames/s | captured per host (client / server) | kernel drops | reader CPU %% of one core | unstamped | kernel buffer | mono clock bound ns |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (double pps : {1000.0, 10000.0, 50000.0, 100000.0, 0.0}) {
    const uint64_t n = pps > 0 ? std::min<uint64_t>(frames, static_cast<uint64_t>(pps * 2)) : frames;
    RateResult r = run_rate(*topo, pps, n, 64u << 20);
    std::printf("| %s | %.0f | %lu / %lu of %lu | %lu | %.1f | %lu | %d KiB | %ld |\n",
                pps > 0 ? std::to_string(static_cast<int>(pps)).c_str() : "max", r.sent_pps,
                static_cast<unsigned long>(r.seen_client), static_cast<unsigned long>(r.seen_server),
                static_cast<unsigned long>(r.sent), static_cast<unsigned long>(r.kernel_drops), r.reader_cpu_percent,
                static_cast<unsigned long>(r.unstamped), r.kernel_buffer_bytes / 1024,
                static_cast<long>(r.clock_error_bound_ns));
  }

  // 3. The trivial cell, capture off and on in pairs, the order alternating (the first pair
  // warms up): each pair's difference cancels the machine's slower drifts.
  std::vector<CellTimes> with, without;
  std::vector<double> paired;
  for (int i = 0; i <= cells; ++i) {
    CellTimes pair[2];
    for (bool capture : {i % 2 == 0, i % 2 != 0}) {
      CellTimes t = trivial_cell(capture);
      if (!t.ok) std::fprintf(stderr, "cell %d (capture %d): the connection failed\n", i, capture);
      pair[capture] = t;
    }
    if (i == 0) continue;
    without.push_back(pair[0]);
    with.push_back(pair[1]);
    paired.push_back(pair[1].total - pair[0].total);
  }
  auto column = [](const std::vector<CellTimes>& v, double CellTimes::*f) {
    std::vector<double> out;
    for (const auto& t : v) out.push_back(t.*f);
    return out;
  };
  std::printf("\n| trivial cell (%d pairs) | without capture: median / p95 ms | with capture: median / p95 ms |\n|---|---|---|\n", cells);
  const std::pair<const char*, double CellTimes::*> rows[] = {
      {"topology (2 namespaces + veth)", &CellTimes::topology}, {"capture start", &CellTimes::capture_start},
      {"one TCP connect / accept / close", &CellTimes::connection}, {"capture stop", &CellTimes::capture_stop},
      {"teardown (capture set, namespaces)", &CellTimes::teardown}, {"**whole cell**", &CellTimes::total}};
  for (const auto& [name, f] : rows) {
    auto a = column(without, f), b = column(with, f);
    std::printf("| %s | %.3f / %.3f | %.3f / %.3f |\n", name, percentile(a, 50), percentile(a, 95), percentile(b, 50),
                percentile(b, 95));
  }
  std::vector<double> own, packets;
  for (const auto& t : with) {
    own.push_back(t.capture_start + t.capture_stop);
    packets.push_back(static_cast<double>(t.packets));
  }
  std::printf("\nCapture's cost per trivial cell: median of the paired differences %.3f ms (quartiles %.3f .. %.3f), "
              "difference of the medians %.3f ms; capture start + stop alone: median %.3f ms, p95 %.3f ms. "
              "Packets captured per cell (both hosts): median %.0f.\n",
              percentile(paired, 50), percentile(paired, 25), percentile(paired, 75),
              percentile(column(with, &CellTimes::total), 50) - percentile(column(without, &CellTimes::total), 50),
              percentile(own, 50), percentile(own, 95), percentile(packets, 50));

  // 3b. The same cells in blocks (off, on, off, on ...): what a session of cells all with capture
  // costs against one of cells all without. A cell's namespaces are dismantled by the kernel
  // after it (cleanup_net, on a workqueue, under rtnl_lock) while the next cell builds its
  // own; capture's sockets hold them until the closer has closed them, a grace period later,
  // which moves that work (and batches it, cleanup_net taking every namespace pending), so
  // neighbouring cells interact and pairs alone can mislead.
  std::vector<double> block_off, block_on;
  for (int b = 0; b < 2 * blocks; ++b) {
    const bool capture = b % 2 == 1;
    for (int i = 0; i < block_cells; ++i) {
      CellTimes t = trivial_cell(capture);
      if (i > 0) (capture ? block_on : block_off).push_back(t.total);  // the first of a block: a transition
    }
  }
  std::printf("\n| trivial cell in blocks (%d blocks of %d cells each way, alternating) | median ms | p95 ms |\n|---|---|---|\n",
              blocks, block_cells);
  std::printf("| without capture | %.3f | %.3f |\n| with capture | %.3f | %.3f |\n", percentile(block_off, 50),
              percentile(block_off, 95), percentile(block_on, 50), percentile(block_on, 95));
  std::printf("\nCapture's cost per cell in a session (difference of the block medians): %.3f ms.\n",
              percentile(block_on, 50) - percentile(block_off, 50));

  // 4. The flat-out probe loop, rounds in pairs (off/on, the order alternating).
  std::vector<double> rate_off, rate_on, ratio, cpu_on, loop_off, loop_on, reader_on, loop_ratio, total_ratio;
  uint64_t drops = 0, packets_on = 0, probes_on = 0;
  for (int round = 0; round < rounds; ++round) {
    double rate[2] = {0, 0}, loop[2] = {0, 0}, reader = 0;
    for (bool capture : {round % 2 == 0, round % 2 != 0}) {
      ProbeRound r = probe_round(*topo, capture, probe_ms);
      rate[capture] = r.rate;
      loop[capture] = r.loop_cpu_us;
      (capture ? loop_on : loop_off).push_back(r.loop_cpu_us);
      if (capture) {
        reader = r.reader_cpu_us;
        reader_on.push_back(r.reader_cpu_us);
      }
      (capture ? rate_on : rate_off).push_back(r.rate);
      if (capture) {
        drops += r.kernel_drops;
        packets_on += r.packets;
        probes_on += r.probes;
        cpu_on.push_back(r.reader_cpu_percent);
      }
    }
    if (rate[0] > 0) ratio.push_back(rate[1] / rate[0]);
    if (loop[0] > 0) {
      loop_ratio.push_back(loop[1] / loop[0]);
      total_ratio.push_back((loop[1] + reader) / loop[0]);
    }
  }
  const double off = percentile(rate_off, 50), on = percentile(rate_on, 50);
  std::printf("\n| flat-out probe loop (connect, accept, close with RST; %d pairs of %d ms rounds) | probes/s: median (min .. max) |\n|---|---|\n", rounds, probe_ms);
  std::printf("| without capture | %.0f (%.0f .. %.0f) |\n| with capture | %.0f (%.0f .. %.0f) |\n", off, percentile(rate_off, 0),
              percentile(rate_off, 100), on, percentile(rate_on, 0), percentile(rate_on, 100));
  std::printf("\nRate with capture / without, per pair: median %.1f%% (quartiles %.1f%% .. %.1f%%); ratio of the medians %.1f%%. "
              "%lu packets captured for %lu probes, %lu kernel drops, reader CPU median %.1f%% of one core.\n",
              percentile(ratio, 50) * 100.0, percentile(ratio, 25) * 100.0, percentile(ratio, 75) * 100.0, on / off * 100.0,
              static_cast<unsigned long>(packets_on), static_cast<unsigned long>(probes_on), static_cast<unsigned long>(drops),
              percentile(cpu_on, 50));
  // CPU per probe does not depend on what else the machine runs (much): the loop is CPU-bound,
  // so on a machine with a core to spare for the reader its rate falls as its own CPU per probe
  // rises; if the reader has to share the loop's core, as the sum rises.
  std::printf("\n| CPU per probe (median over rounds) | us |\n|---|---|\n| loop thread, without capture | %.2f |\n"
              "| loop thread, with capture | %.2f |\n| reader thread | %.2f |\n",
              percentile(loop_off, 50), percentile(loop_on, 50), percentile(reader_on, 50));
  std::printf("\nPer pair, the loop's CPU per probe with capture / without: median %.1f%% (quartiles %.1f%% .. %.1f%%); "
              "with the reader's added: median %.1f%% (quartiles %.1f%% .. %.1f%%).\n",
              percentile(loop_ratio, 50) * 100.0, percentile(loop_ratio, 25) * 100.0, percentile(loop_ratio, 75) * 100.0,
              percentile(total_ratio, 50) * 100.0, percentile(total_ratio, 25) * 100.0, percentile(total_ratio, 75) * 100.0);

  // 5. A ring instead: its set-up and its close, per socket.
  std::vector<double> ring_ms, ring_close_ms, plain_close_ms;
  for (int i = 0; i < 10; ++i) {
    auto ns = netns::NetNs::create_bare({});
    if (!ns.ok()) break;
    auto scope = netns::ScopedNetns::enter(ns->fd());
    if (!scope.ok()) break;
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    const int plain = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0 || plain < 0) break;
    int version = TPACKET_V3;
    (void)::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version);
    tpacket_req3 req{};
    req.tp_block_size = 1 << 16;
    req.tp_block_nr = 64;  // 4 MiB, the capture's default cap per host
    req.tp_frame_size = 2048;
    req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
    req.tp_retire_blk_tov = 1;
    int64_t t0 = monotonic_ns();
    const int rc = ::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req);
    int64_t t1 = monotonic_ns();
    ::close(fd);
    int64_t t2 = monotonic_ns();
    ::close(plain);
    int64_t t3 = monotonic_ns();
    if (rc != 0) {
      std::fprintf(stderr, "PACKET_RX_RING: %s\n", std::strerror(errno));
      break;
    }
    ring_ms.push_back(static_cast<double>(t1 - t0) / 1e6);
    ring_close_ms.push_back(static_cast<double>(t2 - t1) / 1e6);
    plain_close_ms.push_back(static_cast<double>(t3 - t2) / 1e6);
  }
  if (!ring_ms.empty()) {
    std::printf("\n| a TPACKET_V3 ring instead (%zu sockets, 4 MiB each, never bound) | median ms | max ms |\n|---|---|---|\n",
                ring_ms.size());
    std::printf("| PACKET_RX_RING set-up | %.3f | %.3f |\n", percentile(ring_ms, 50), percentile(ring_ms, 100));
    std::printf("| close of the socket with the ring | %.3f | %.3f |\n", percentile(ring_close_ms, 50), percentile(ring_close_ms, 100));
    std::printf("| close of a packet socket without one (the capture closes its own in a background thread) | %.3f | %.3f |\n",
                percentile(plain_close_ms, 50), percentile(plain_close_ms, 100));
    std::printf("\nA ring takes no clone per packet and no read syscall, but a cell would wait %.1f ms (median) for each "
                "host's ring before its first packet: more than a whole trivial cell.\n", percentile(ring_ms, 50));
  }
  return 0;
}
