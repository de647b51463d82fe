// What a packet capture costs a cell: starting and stopping a CaptureSet on two hosts (ms),
// the reader thread's CPU while packets flow, and the packet rate it keeps up with before the
// kernel ring drops. Root. Prints a Markdown table for bench/RESULTS.md.
//   sockchaos-capturebench [--iterations N] [--frames N]
//
// Load: Ethernet frames written straight onto the client's veth by a packet socket (TCP
// headers to 198.18.0.2, addressed to a MAC nobody has, so the server's stack drops them
// after its capture saw them and answers nothing). Both hosts capture them: the client's as
// sent, the server's as received. Offered at fixed rates, paced by clock_nanosleep in
// batches, each run bounded by its frame count and 10 s.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
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

struct RateResult {
  double offered_pps = 0, sent_pps = 0;
  uint64_t sent = 0, seen_client = 0, seen_server = 0, kernel_drops = 0;
  double reader_cpu_percent = 0, elapsed_s = 0;
  int64_t clock_error_bound_ns = 0;
};

// Sends `frames` frames at `pps` (0: as fast as possible) while both hosts capture.
RateResult run_rate(harness::Topology& topo, double pps, uint64_t frames, size_t max_bytes) {
  RateResult r;
  r.offered_pps = pps;
  netns::CaptureOptions o;
  o.max_bytes = max_bytes;
  auto& c = topo.host("client");
  auto& s = topo.host("server");
  auto cap = netns::CaptureSet::start({{"client", &c.ns, {"sc0"}}, {"server", &s.ns, {"sc0"}}}, o);
  if (!cap.ok()) {
    std::fprintf(stderr, "capture: %s\n", cap.error().str().c_str());
    return r;
  }
  int fd = -1;
  int ifindex = 0;
  {
    auto in = netns::ScopedNetns::enter(c.ns.fd());
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
  ::close(fd);
  (void)cap->stop();
  r.elapsed_s = static_cast<double>(end - start) / 1e9;
  r.sent_pps = static_cast<double>(r.sent) / r.elapsed_s;
  r.seen_client = cap->find("client")->stats().seen;
  r.seen_server = cap->find("server")->stats().seen;
  r.kernel_drops = cap->find("client")->stats().dropped_by_kernel + cap->find("server")->stats().dropped_by_kernel;
  r.reader_cpu_percent = static_cast<double>(cap->reader_cpu_ns()) / static_cast<double>(end - start) * 100.0;
  r.clock_error_bound_ns = cap->find("client")->stats().clock_error_bound_ns;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 100;
  uint64_t frames = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iterations") iterations = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--frames") frames = std::stoull(argv[i + 1]);
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "needs root (namespaces, veth)\n");
    return 3;
  }
  harness::Scenario s;
  s.name = "capturebench";
  s.hosts = {{"client", {}}, {"server", {}}};
  s.links = {{"client", "server"}};
  auto topo = harness::Topology::build(s);
  if (!topo.ok()) {
    std::fprintf(stderr, "topology: %s\n", topo.error().str().c_str());
    return 1;
  }
  // 1. Start + stop on two hosts, idle (what every cell pays).
  std::vector<double> start_ms, stop_ms, total_ms, destroy_ms;
  for (int i = 0; i < iterations; ++i) {
    const int64_t t0 = monotonic_ns();
    int64_t t1 = 0, t2 = 0;
    {
      auto cap = netns::CaptureSet::start(
          {{"client", &topo->host("client").ns, {"sc0"}}, {"server", &topo->host("server").ns, {"sc0"}}});
      t1 = monotonic_ns();
      if (!cap.ok()) {
        std::fprintf(stderr, "capture: %s\n", cap.error().str().c_str());
        return 1;
      }
      (void)cap->stop();
      t2 = monotonic_ns();
    }
    const int64_t t3 = monotonic_ns();
    start_ms.push_back(static_cast<double>(t1 - t0) / 1e6);
    stop_ms.push_back(static_cast<double>(t2 - t1) / 1e6);
    total_ms.push_back(static_cast<double>(t2 - t0) / 1e6);
    destroy_ms.push_back(static_cast<double>(t3 - t2) / 1e6);
  }
  std::printf("## Packet capture (netns::CaptureSet, libpcap, 2 hosts x 1 veth, snaplen 128)\n\n");
  std::printf("| per cell, idle (%d runs) | median ms | p95 ms |\n|---|---|---|\n", iterations);
  std::printf("| start (open 2 handles, filters, thread) | %.2f | %.2f |\n", percentile(start_ms, 50), percentile(start_ms, 95));
  std::printf("| stop (drain, stats, convert; the closes go on in the background) | %.2f | %.2f |\n", percentile(stop_ms, 50), percentile(stop_ms, 95));
  std::printf("| start + stop | %.2f | %.2f |\n", percentile(total_ms, 50), percentile(total_ms, 95));
  std::printf("| destruction right after stop (joins the background closes) | %.2f | %.2f |\n\n",
              percentile(destroy_ms, 50), percentile(destroy_ms, 95));

  // 2. Sustained rates: each frame is captured twice (client sent, server received).
  std::printf("| offered frames/s | sent frames/s | captured per host (client / server) | kernel drops | reader CPU %% of one core | mono clock bound us |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (double pps : {1000.0, 10000.0, 50000.0, 100000.0, 0.0}) {
    const uint64_t n = pps > 0 ? std::min<uint64_t>(frames, static_cast<uint64_t>(pps * 2)) : frames;
    RateResult r = run_rate(*topo, pps, n, 64u << 20);
    std::printf("| %s | %.0f | %lu / %lu of %lu | %lu | %.1f | %.1f |\n",
                pps > 0 ? std::to_string(static_cast<int>(pps)).c_str() : "max", r.sent_pps,
                static_cast<unsigned long>(r.seen_client), static_cast<unsigned long>(r.seen_server),
                static_cast<unsigned long>(r.sent), static_cast<unsigned long>(r.kernel_drops), r.reader_cpu_percent,
                static_cast<double>(r.clock_error_bound_ns) / 1e3);
  }
  return 0;
}
