// The built-in link emulator (netns/link_emulator.hpp) between two namespaces, measured from
// the hosts with their own sockets and checked against the kernel's own counters (ip, ethtool,
// /proc/net/snmp, lsns). Timing bounds come from the physics of the configuration plus the
// documented scheduling error (docs/links.md): a frame never leaves before its release time,
// and on a shared two-core machine a wake-up may be late by a scheduler slice; the tests allow
// kLate for that per crossing and never a value seen in one run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "netns/link.hpp"
#include "netns/link_emulator.hpp"
#include "netns/netem.hpp"
#include "netns/netns.hpp"
#include "support.hpp"

using namespace sockchaos;
using namespace std::chrono_literals;
using netns::Direction;
using netns::Impairment;
using netns::LinkEmulator;
using netns::NetNs;
using sockchaos::testing::sh;

namespace {

// A wake-up of the forwarder (or of the measuring thread) may wait for the CPU. This kernel is
// CONFIG_PREEMPT_NONE: a task running kernel code is switched out at its next reschedule point,
// at the latest the next tick (4 ms at HZ=250); EEVDF then gives a waking task the CPU within
// its base slice, 0.75 ms x (1 + log2 ncpus) = 1.5 ms here (kernel/sched/fair.c
// sysctl_sched_base_slice). Two hosts, two forwarders and the test share two cores with other
// work: 10 ms per crossing covers two ticks and a slice.
constexpr int64_t kLate = 10 * kMillisecond;
constexpr double kZ = 3.29;  // two-sided 99.9%

const char* kAddrA = "198.18.0.1";
const char* kAddrB = "198.18.0.2";

std::string in_ns(const NetNs& ns, const std::string& cmd) {
  return "nsenter --net=/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(ns.fd()) + " " + cmd;
}

struct Hosts {
  NetNs a, b;
  std::optional<LinkEmulator> link;
};

Hosts make_hosts(const Impairment& a_to_b, const Impairment& b_to_a, uint64_t seed = 1) {
  auto a = NetNs::create();
  auto b = NetNs::create();
  EXPECT_TRUE(a.ok() && b.ok());
  Hosts h{std::move(a.value()), std::move(b.value()), std::nullopt};
  auto link = LinkEmulator::create(h.a, "sc0", h.b, "sc0", a_to_b, b_to_a, seed);
  EXPECT_TRUE(link.ok()) << link.error().str();
  if (!link.ok()) return h;
  h.link.emplace(std::move(link.value()));
  for (auto [ns, addr] : {std::pair{&h.a, "198.18.0.1/30"}, std::pair{&h.b, "198.18.0.2/30"}}) {
    auto rs = netns::RouteSocket::open(*ns);
    EXPECT_TRUE(rs.ok());
    EXPECT_TRUE(rs->add_address("sc0", addr).ok());
    EXPECT_TRUE(rs->wait_operational("sc0", 3000).ok());
  }
  return h;
}

Impairment with_delay(std::chrono::nanoseconds d) {
  Impairment i;
  i.delay = d;
  return i;
}

sockaddr_in sockaddr_of(const char* addr, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, addr, &a.sin_addr);
  return a;
}

// A socket made inside `ns` (and so bound to it for its life), bound to addr:port if port != 0.
Fd socket_in(const NetNs& ns, int type, const char* addr = nullptr, uint16_t port = 0) {
  auto scope = netns::ScopedNetns::enter(ns.fd());
  EXPECT_TRUE(scope.ok());
  Fd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr) {
    sockaddr_in a = sockaddr_of(addr, port);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  }
  return fd;
}

// Connect time (SYN to SYN-ACK) of a fresh TCP socket from a to b:port, or -1.
int64_t timed_connect(const NetNs& a, uint16_t port) {
  Fd fd = socket_in(a, SOCK_STREAM);
  sockaddr_in dst = sockaddr_of(kAddrB, port);
  int64_t t0 = monotonic_ns();
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) return -1;
  return monotonic_ns() - t0;
}

// A UDP echo in b on port 9; returns the round trip of one datagram from a, or -1 on timeout.
struct UdpEcho {
  Fd server, client;
  std::thread thread;
  std::atomic<bool> stop{false};
  UdpEcho(const Hosts& h)
      : server(socket_in(h.b, SOCK_DGRAM, kAddrB, 9)), client(socket_in(h.a, SOCK_DGRAM, kAddrA, 0)) {
    thread = std::thread([this] {
      char buf[2048];
      while (!stop) {
        pollfd p{server.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(server.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) ::sendto(server.get(), buf, n, 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~UdpEcho() {
    stop = true;
    thread.join();
  }
  int64_t rtt(int timeout_ms = 2000) {
    static uint64_t seq = 0;
    uint64_t mine = ++seq;
    sockaddr_in dst = sockaddr_of(kAddrB, 9);
    int64_t t0 = monotonic_ns();
    ::sendto(client.get(), &mine, sizeof mine, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    while (true) {
      int left = timeout_ms - static_cast<int>((monotonic_ns() - t0) / kMillisecond);
      if (left <= 0) return -1;
      pollfd p{client.get(), POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return -1;
      uint64_t got = 0;
      if (::recv(client.get(), &got, sizeof got, 0) == sizeof got && got == mine) return monotonic_ns() - t0;
    }
  }
};

// One protocol's counters from /proc/net/snmp (Ip, Udp, Tcp) or /proc/net/netstat (IpExt).
std::map<std::string, int64_t> snmp(const NetNs& ns, const std::string& proto) {
  std::istringstream in(
      sh(in_ns(ns, proto == "IpExt" || proto == "TcpExt" ? "cat /proc/net/netstat" : "cat /proc/net/snmp")));
  std::string names, values, line;
  std::map<std::string, int64_t> out;
  while (std::getline(in, line)) {
    if (line.rfind(proto + ":", 0) != 0) continue;
    if (names.empty()) {
      names = line;
      continue;
    }
    values = line;
    break;
  }
  std::istringstream n(names), v(values);
  std::string key, val;
  n >> key, v >> val;
  while (n >> key && v >> val) out[key] = std::stoll(val);
  return out;
}

}  // namespace

TEST(LinkEmulator, ConnectRttIsTwiceTheOneWayDelay) {
  SKIP_UNLESS_ABLE();
  Hosts h = make_hosts(with_delay(25ms), with_delay(25ms));
  ASSERT_TRUE(h.link);
  Fd listener = socket_in(h.b, SOCK_STREAM, kAddrB, 7000);
  ASSERT_EQ(::listen(listener.get(), 64), 0);
  ASSERT_GE(timed_connect(h.a, 7000), 0);  // resolves ARP (two more crossings) first
  for (int i = 0; i < 10; ++i) {
    int64_t t = timed_connect(h.a, 7000);
    ASSERT_GE(t, 0) << strerror(errno);
    // The SYN and the SYN-ACK each wait 25 ms on the wire, never less.
    EXPECT_GE(t, 50 * kMillisecond) << to_ms(t) << " ms";
    EXPECT_LE(t, 50 * kMillisecond + 2 * kLate) << to_ms(t) << " ms";
    Fd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }
  auto s = h.link->stats();
  EXPECT_GT(s.a_to_b.forwarded, 20u);
  EXPECT_EQ(s.a_to_b.dropped_loss + s.a_to_b.dropped_queue + s.a_to_b.dropped_socket, 0u);
}

TEST(LinkEmulator, LossMakesSynRetransmissionsAtTheInitialRto) {
  SKIP_UNLESS_ABLE();
  Impairment lossy;
  lossy.loss = 0.1;
  Hosts h = make_hosts(lossy, lossy, 2024);
  ASSERT_TRUE(h.link);
  Fd listener = socket_in(h.b, SOCK_STREAM, kAddrB, 7001);
  ASSERT_EQ(::listen(listener.get(), 512), 0);
  // ARP first, over the lossy link (its own retries are the neighbour subsystem's business).
  UdpEcho warm(h);
  for (int i = 0; i < 20 && warm.rtt(1000) < 0; ++i) {
  }
  const int n = 100;
  std::vector<Fd> fds;
  std::vector<int64_t> started(n), done(n, -1);
  sockaddr_in dst = sockaddr_of(kAddrB, 7001);
  for (int i = 0; i < n; ++i) {
    fds.push_back(socket_in(h.a, SOCK_STREAM | SOCK_NONBLOCK));
    started[i] = monotonic_ns();
    ::connect(fds.back().get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  }
  std::atomic<bool> finished{false};
  std::thread acceptor([&] {  // keep the backlog drained
    while (!finished) {
      pollfd p{listener.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) Fd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    }
  });
  // Bounded: an attempt still pending after 8 s has lost three SYNs or SYN-ACKs in a row.
  for (int64_t end = monotonic_ns() + 8 * kSecond; monotonic_ns() < end;) {
    std::vector<pollfd> ps;
    std::vector<int> idx;
    for (int i = 0; i < n; ++i)
      if (done[i] < 0) ps.push_back({fds[i].get(), POLLOUT, 0}), idx.push_back(i);
    if (ps.empty()) break;
    if (::poll(ps.data(), ps.size(), 100) <= 0) continue;
    int64_t now = monotonic_ns();
    for (size_t k = 0; k < ps.size(); ++k)
      if (ps[k].revents) done[idx[k]] = now - started[idx[k]];
  }
  finished = true;
  acceptor.join();
  int slow = 0, fast = 0;
  for (int i = 0; i < n; ++i) {
    int64_t t = done[i] < 0 ? 8 * kSecond : done[i];
    if (t >= kSecond)
      ++slow;
    else {
      ++fast;
      // No delay configured: a handshake that lost nothing is quick; anything lost costs the
      // 1 s initial RTO (TCP_TIMEOUT_INIT, include/net/tcp.h), never something in between.
      EXPECT_LT(t, kLate * 2) << "connect " << i << " took " << to_ms(t) << " ms";
    }
  }
  // P(slow) = 1 - P(SYN through) P(SYN-ACK through) = 1 - 0.9 * 0.9.
  double p = 1 - 0.9 * 0.9, sd = std::sqrt(n * p * (1 - p));
  EXPECT_GE(slow, n * p - kZ * sd) << slow << " slow of " << n;
  EXPECT_LE(slow, n * p + kZ * sd) << slow << " slow of " << n;
  std::vector<int64_t> sorted(done);
  for (auto& t : sorted) t = t < 0 ? 8 * kSecond : t;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GE(sorted[98], kSecond) << "p99 connect " << to_ms(sorted[98]) << " ms";  // p99 at the RTO or beyond
  auto s = h.link->stats();
  EXPECT_GT(s.a_to_b.dropped_loss, 0u);
  EXPECT_GT(s.b_to_a.dropped_loss, 0u);
}

TEST(LinkEmulator, RateLimitsBulkTcpThroughput) {
  SKIP_UNLESS_ABLE();
  Impairment narrow;
  narrow.rate_bps = 10e6;
  narrow.queue_bytes = 64 * 1024;
  Hosts h = make_hosts(narrow, Impairment{});
  ASSERT_TRUE(h.link);
  Fd listener = socket_in(h.b, SOCK_STREAM, kAddrB, 7002);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    Fd fd = socket_in(h.a, SOCK_STREAM);
    sockaddr_in dst = sockaddr_of(kAddrB, 7002);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) return;
    std::vector<char> chunk(64 * 1024, 'x');
    while (!stop) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, 100) > 0) (void)::send(fd.get(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  });
  Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  std::vector<char> buf(16 * 1024);
  int64_t start = monotonic_ns(), t1 = start + kSecond, t2 = start + 4 * kSecond;
  uint64_t total = 0, at_t1 = 0;
  bool marked = false;
  while (monotonic_ns() < t2) {
    pollfd p{conn.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(conn.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) total += static_cast<uint64_t>(n);
    if (!marked && monotonic_ns() >= t1) at_t1 = total, marked = true;
  }
  stop = true;
  sender.join();
  double secs = (t2 - t1) / 1e9;
  double goodput = (total - at_t1) * 8.0 / secs;
  // Every 1514-byte frame carries 1448 bytes of payload (IPv4 20, TCP 20 + 12 timestamps).
  double ceiling = 10e6 * 1448.0 / 1514.0;
  // Upper: the serializer cannot go faster; one 16 KiB read of slack at each end of the window.
  EXPECT_LE(goodput, ceiling * (1 + 2 * 16384.0 * 8 / (ceiling * secs))) << goodput / 1e6 << " Mbit/s";
  // Lower: with a 64 KiB queue far above this path's bandwidth-delay product the bottleneck
  // never idles after a loss (CUBIC backs off to 0.7 of a window that overfills the queue).
  EXPECT_GE(goodput, 0.85 * ceiling) << goodput / 1e6 << " Mbit/s";
  auto st = h.link->stats().a_to_b;
  EXPECT_EQ(st.dropped_socket + st.dropped_overflow, 0u);
}

TEST(LinkEmulator, SurvivesParameterChangesWhileRunning) {
  SKIP_UNLESS_ABLE();
  Hosts h = make_hosts(with_delay(5ms), with_delay(5ms));
  ASSERT_TRUE(h.link);
  UdpEcho echo(h);
  ASSERT_GE(echo.rtt(), 0);  // ARP
  // A TCP connection that lives across the changes.
  Fd listener = socket_in(h.b, SOCK_STREAM, kAddrB, 7003);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  Fd client = socket_in(h.a, SOCK_STREAM);
  sockaddr_in dst = sockaddr_of(kAddrB, 7003);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  auto ping_pong = [&] {
    char c = 'p';
    if (::send(client.get(), &c, 1, 0) != 1) return false;
    pollfd p{server.get(), POLLIN, 0};
    return ::poll(&p, 1, 3000) == 1 && ::recv(server.get(), &c, 1, 0) == 1;
  };
  for (auto [delay, label] :
       {std::pair{5ms, "5 ms"}, std::pair{40ms, "latency spike 40 ms"}, std::pair{0ms, "healed"}}) {
    ASSERT_TRUE(h.link->set(Direction::kAToB, with_delay(delay)).ok());
    ASSERT_TRUE(h.link->set(Direction::kBToA, with_delay(delay)).ok());
    EXPECT_EQ(h.link->impairment(Direction::kAToB).delay, delay);
    int64_t want = 2 * std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
    echo.rtt();  // the first may still queue behind frames of the old delay
    for (int i = 0; i < 5; ++i) {
      int64_t r = echo.rtt();
      ASSERT_GE(r, 0) << label;
      EXPECT_GE(r, want) << label << ": " << to_ms(r) << " ms";
      EXPECT_LE(r, want + 2 * kLate) << label << ": " << to_ms(r) << " ms";
    }
    EXPECT_TRUE(ping_pong()) << label;
  }
  // A loss burst, then healed: the connection survives it.
  Impairment all_lost;
  all_lost.loss = 1;
  ASSERT_TRUE(h.link->set(Direction::kAToB, all_lost).ok());
  EXPECT_LT(echo.rtt(300), 0);
  ASSERT_TRUE(h.link->set(Direction::kAToB, Impairment{}).ok());
  EXPECT_TRUE(ping_pong());
  // An mtu above the one the link was made with is refused; a bad value too.
  Impairment big;
  big.mtu = 9000;
  EXPECT_FALSE(h.link->set(Direction::kAToB, big).ok());
  Impairment bad;
  bad.loss = 2;
  auto st = h.link->set(Direction::kAToB, bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("/loss"), std::string::npos) << st.error().message;
}

TEST(LinkEmulator, CorruptedFramesFailTheReceiversChecksums) {
  SKIP_UNLESS_ABLE();
  Impairment corrupt;
  corrupt.corrupt = 1;
  Hosts h = make_hosts(corrupt, Impairment{});
  ASSERT_TRUE(h.link);
  Fd rx = socket_in(h.b, SOCK_DGRAM, kAddrB, 5000);
  Fd tx = socket_in(h.a, SOCK_DGRAM, kAddrA, 0);
  // ARP crosses uncorrupted (not IP): resolve it with one datagram first.
  sockaddr_in dst = sockaddr_of(kAddrB, 5000);
  auto ip_before = snmp(h.b, "Ip"), ipext_before = snmp(h.b, "IpExt"), udp_before = snmp(h.b, "Udp");
  uint64_t corrupted_before = h.link->stats().a_to_b.corrupted;
  const int n = 400;
  std::vector<char> payload(972, 'z');  // a 1000-byte IP packet
  int received = 0;
  char buf[2048];
  // UDP verifies its checksum when the application reads (udp_recvmsg()): keep reading, or a
  // full receive queue would drop them first (RcvbufErrors) and hide the verdict.
  auto drain = [&] {
    while (::recv(rx.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) ++received;
  };
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(::sendto(tx.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst),
              static_cast<ssize_t>(payload.size()));
    ::usleep(i == 0 ? 100000 : 1000);  // the first one waits for ARP
    drain();
  }
  ::usleep(100000);
  drain();
  EXPECT_EQ(received, 0) << "a corrupted datagram passed the checksums";
  auto ip = snmp(h.b, "Ip"), ipext = snmp(h.b, "IpExt"), udp = snmp(h.b, "Udp");
  auto delta = [](auto& after, auto& before, const char* k) { return after[k] - before[k]; };
  std::string detail;
  for (auto& [k, v] : ip)
    if (v != ip_before[k]) detail += " Ip." + k + "+" + std::to_string(v - ip_before[k]);
  for (auto& [k, v] : ipext)
    if (v != ipext_before[k]) detail += " IpExt." + k + "+" + std::to_string(v - ipext_before[k]);
  for (auto& [k, v] : udp)
    if (v != udp_before[k]) detail += " Udp." + k + "+" + std::to_string(v - udp_before[k]);
  // IPv6 frames the hosts send on their own (router solicitations, MLD) are corrupted too.
  EXPECT_GE(static_cast<int64_t>(h.link->stats().a_to_b.corrupted - corrupted_before), n);
  int64_t rejected = delta(ip, ip_before, "InHdrErrors") + delta(ip, ip_before, "InTruncatedPkts") +
                     delta(ip, ip_before, "InAddrErrors") + delta(ip, ip_before, "InUnknownProtos") +
                     delta(udp, udp_before, "InErrors") + delta(udp, udp_before, "NoPorts");
  EXPECT_EQ(rejected, n) << "every corrupted packet is counted by the receiver's IP or UDP layer:" << detail;
  EXPECT_EQ(delta(udp, udp_before, "RcvbufErrors"), 0) << detail;
  // A flipped bit escapes both checksums only in fields checked before them (IPv4 version and
  // header length, UDP length): 24 of the packet's 8000 bits, 0.3%.
  int64_t csum = delta(ipext, ipext_before, "InCsumErrors") + delta(udp, udp_before, "InCsumErrors");
  EXPECT_GE(csum, n - 10) << csum << " checksum failures of " << n << ":" << detail;
}

TEST(LinkEmulator, DuplicatesArriveTwice) {
  SKIP_UNLESS_ABLE();
  Impairment dup;
  dup.duplicate = 1;
  Hosts h = make_hosts(dup, Impairment{});
  ASSERT_TRUE(h.link);
  Fd rx = socket_in(h.b, SOCK_DGRAM, kAddrB, 5001);
  Fd tx = socket_in(h.a, SOCK_DGRAM, kAddrA, 0);
  sockaddr_in dst = sockaddr_of(kAddrB, 5001);
  auto send_seq = [&](uint32_t seq) {
    ::sendto(tx.get(), &seq, sizeof seq, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  };
  int rcvbuf = 4 << 20;  // a thousand small datagrams, read at the end
  ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  auto receive_all = [&](int settle_ms) {
    std::vector<uint32_t> got;
    ::usleep(settle_ms * 1000);
    uint32_t v;
    while (::recv(rx.get(), &v, sizeof v, MSG_DONTWAIT) == sizeof v) got.push_back(v);
    return got;
  };
  send_seq(0);
  receive_all(100);  // ARP
  for (uint32_t i = 1; i <= 100; ++i) send_seq(i);
  auto got = receive_all(200);
  ASSERT_EQ(got.size(), 200u);
  for (uint32_t i = 1; i <= 100; ++i) EXPECT_EQ(std::count(got.begin(), got.end(), i), 2) << i;
  EXPECT_EQ(h.link->stats().a_to_b.duplicated, h.link->stats().a_to_b.received);
}

TEST(LinkEmulator, ReorderedFramesGoAtOnceAndTheRestStayInOrder) {
  SKIP_UNLESS_ABLE();
  Impairment reorder;
  reorder.delay = 100ms;
  reorder.jitter = 10ms;  // netem would reorder with this alone; here the delayed rest stays in order
  reorder.reorder = 0.3;
  Hosts h = make_hosts(reorder, Impairment{});
  ASSERT_TRUE(h.link);
  // Only this test's datagrams (and one ARP exchange before the count) cross: no IPv6
  // solicitations or reports of the hosts' own.
  for (auto* ns : {&h.a, &h.b}) ASSERT_TRUE(netns::set_sysctl(*ns, "net.ipv6.conf.sc0.disable_ipv6", "1").ok());
  Fd rx = socket_in(h.b, SOCK_DGRAM, kAddrB, 5003);
  Fd tx = socket_in(h.a, SOCK_DGRAM, kAddrA, 0);
  sockaddr_in dst = sockaddr_of(kAddrB, 5003);
  struct Probe {
    uint32_t seq;
    int64_t sent;
  };
  struct Arrival {
    uint32_t seq;
    int64_t one_way;
  };
  std::vector<Arrival> arrivals;
  std::atomic<bool> stop{false};
  std::thread receiver([&] {
    while (!stop) {
      pollfd p{rx.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      Probe pr;
      while (::recv(rx.get(), &pr, sizeof pr, MSG_DONTWAIT) == sizeof pr)
        arrivals.push_back({pr.seq, monotonic_ns() - pr.sent});
    }
  });
  auto send = [&](uint32_t seq) {
    Probe pr{seq, monotonic_ns()};
    ::sendto(tx.get(), &pr, sizeof pr, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  };
  send(0);
  ::usleep(400000);  // ARP (its frames are reordered or delayed too)
  uint64_t before = h.link->stats().a_to_b.reordered;
  const uint32_t n = 1000;
  for (uint32_t i = 1; i <= n; ++i) {
    send(i);
    ::usleep(1000);
  }
  ::usleep(400000);
  stop = true;
  receiver.join();
  uint64_t reordered = h.link->stats().a_to_b.reordered - before;
  std::vector<Arrival> got;
  for (auto a : arrivals)
    if (a.seq >= 1) got.push_back(a);
  ASSERT_EQ(got.size(), n);
  // Reordered frames skip the 100 ms (+/- 10 ms x 4 sigma) delay line: one way, they take
  // microseconds; the rest at least 100 - 40 ms. 30 ms tells them apart with room for kLate.
  uint64_t quick = 0;
  uint32_t last_delayed = 0;
  for (auto a : got) {
    if (a.one_way < 30 * kMillisecond) {
      ++quick;
      EXPECT_LE(a.one_way, kLate) << "reordered frame " << a.seq;
      continue;
    }
    EXPECT_GT(a.seq, last_delayed) << "delayed frame " << a.seq << " overtook " << last_delayed;
    EXPECT_GE(a.one_way, 60 * kMillisecond);
    last_delayed = a.seq;
  }
  EXPECT_EQ(quick, reordered);
  double sd = std::sqrt(n * 0.3 * 0.7);
  EXPECT_NEAR(static_cast<double>(quick), n * 0.3, kZ * sd);
}

TEST(LinkEmulator, MtuIsTheHostsAndALowerOneBlackholesLargerFrames) {
  SKIP_UNLESS_ABLE();
  Impairment m;
  m.mtu = 1400;
  Hosts h = make_hosts(m, m);
  ASSERT_TRUE(h.link);
  EXPECT_NE(sh(in_ns(h.a, "ip -o link show sc0")).find("mtu 1400"), std::string::npos);
  EXPECT_NE(sh(in_ns(h.b, "ip -o link show sc0")).find("mtu 1400"), std::string::npos);
  Fd rx = socket_in(h.b, SOCK_DGRAM, kAddrB, 5002);
  Fd tx = socket_in(h.a, SOCK_DGRAM, kAddrA, 0);
  int off = IP_PMTUDISC_DONT;
  ::setsockopt(tx.get(), IPPROTO_IP, IP_MTU_DISCOVER, &off, sizeof off);
  sockaddr_in dst = sockaddr_of(kAddrB, 5002);
  auto through = [&](size_t payload) {
    std::vector<char> p(payload, 'm');
    char buf[2048];
    while (::recv(rx.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::sendto(tx.get(), p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    pollfd pf{rx.get(), POLLIN, 0};
    return ::poll(&pf, 1, 300) == 1;
  };
  through(10);                      // ARP
  EXPECT_TRUE(through(1400 - 28));  // a full 1400-byte IP packet
  m.mtu = 1200;
  ASSERT_TRUE(h.link->set(Direction::kAToB, m).ok());
  uint64_t before = h.link->stats().a_to_b.dropped_mtu;
  EXPECT_FALSE(through(1400 - 28)) << "the wire carries at most 1200 bytes now";
  EXPECT_TRUE(through(1200 - 28));
  EXPECT_EQ(h.link->stats().a_to_b.dropped_mtu - before, 1u);
}

TEST(LinkEmulator, ArpNeighbourDiscoveryAndCarrierCrossTheWire) {
  SKIP_UNLESS_ABLE();
  Hosts h = make_hosts(with_delay(1ms), with_delay(1ms));
  ASSERT_TRUE(h.link);
  int status = -1;
  sh(in_ns(h.a, "ping -c1 -W2 198.18.0.2 >/dev/null 2>&1"), &status);
  if (status == 127) GTEST_SKIP() << "ping not installed";
  EXPECT_EQ(status, 0) << "IPv4 (ARP) across the wire";
  sh(in_ns(h.a, "ip -6 addr add 2001:2::1/64 dev sc0 nodad"));
  sh(in_ns(h.b, "ip -6 addr add 2001:2::2/64 dev sc0 nodad"));
  sh(in_ns(h.a, "ping -6 -c1 -W2 2001:2::2 >/dev/null 2>&1"), &status);
  EXPECT_EQ(status, 0) << "IPv6 (neighbour discovery) across the wire";
  // The wire itself says nothing: no IPv6 on its ends.
  EXPECT_EQ(sh(in_ns(h.link->wire(), "ip -6 -o addr show")), "");
  // link-down at a host still works: carrier follows the host end.
  sh(in_ns(h.b, "ip link set sc0 down"));
  sh(in_ns(h.a, "ping -c1 -W1 198.18.0.2 >/dev/null 2>&1"), &status);
  EXPECT_NE(status, 0);
  sh(in_ns(h.b, "ip link set sc0 up"));
  ASSERT_TRUE(netns::RouteSocket::open(h.b)->wait_operational("sc0", 3000).ok());
  sh(in_ns(h.a, "ping -c1 -W2 198.18.0.2 >/dev/null 2>&1"), &status);
  EXPECT_EQ(status, 0);
}

TEST(LinkEmulator, HostEndsCarryRealFrames) {
  SKIP_UNLESS_ABLE();
  Hosts h = make_hosts(Impairment{}, Impairment{});
  ASSERT_TRUE(h.link);
  int status = -1;
  std::string k = sh(in_ns(h.a, "ethtool -k sc0 2>/dev/null"), &status);
  if (status != 0) GTEST_SKIP() << "ethtool not installed";
  EXPECT_NE(k.find("tx-checksumming: off"), std::string::npos) << k;
  EXPECT_NE(k.find("tx-tcp-segmentation: off"), std::string::npos) << k;
  // A bulk transfer crosses as MTU-sized frames (no 64 KiB super-frames): the wire dropped
  // none for size and forwarded every byte it received.
  Fd listener = socket_in(h.b, SOCK_STREAM, kAddrB, 7004);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  Fd c = socket_in(h.a, SOCK_STREAM);
  sockaddr_in dst = sockaddr_of(kAddrB, 7004);
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  Fd s(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  std::vector<char> blob(4 << 20, 'b');
  std::thread w([&] {
    size_t off = 0;
    while (off < blob.size()) {
      ssize_t n = ::send(c.get(), blob.data() + off, blob.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::shutdown(c.get(), SHUT_WR);
  });
  size_t total = 0;
  char buf[65536];
  for (ssize_t n; (n = ::recv(s.get(), buf, sizeof buf, 0)) > 0;) total += static_cast<size_t>(n);
  w.join();
  EXPECT_EQ(total, blob.size());
  auto st = h.link->stats();
  EXPECT_EQ(st.a_to_b.dropped_mtu, 0u);
  EXPECT_GE(st.a_to_b.received, blob.size() / 1448);
  EXPECT_LE(st.a_to_b.bytes_forwarded, st.a_to_b.forwarded * 1514);
}

TEST(LinkEmulator, TeardownLeavesNothing) {
  SKIP_UNLESS_ABLE();
  auto before = sockchaos::testing::HostNetworkSnapshot::take();
  auto a = NetNs::create();
  auto b = NetNs::create();
  ASSERT_TRUE(a.ok() && b.ok());
  unsigned long wire_inode = 0;
  {
    auto link = LinkEmulator::create(*a, "sc0", *b, "sc0", with_delay(1ms), with_delay(1ms), 3);
    ASSERT_TRUE(link.ok()) << link.error().str();
    wire_inode = link->wire().inode();
    EXPECT_NE(sh(in_ns(*a, "ip -o link show sc0")), "");
  }
  // Nothing in this process refers to the wire namespace any more (no fd, no thread inside).
  std::string self = std::to_string(::getpid());
  std::string tag = "net:[" + std::to_string(wire_inode) + "]";
  EXPECT_EQ(sh("ls -l /proc/" + self + "/fd /proc/" + self + "/task/*/ns/net 2>/dev/null").find(tag),
            std::string::npos);
  // It is dismantled once the forwarder threads have closed its last sockets (each close
  // waits out an RCU grace period): its veth ends go, and with them the hosts' ends.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = sh(in_ns(*a, "ip -o link show sc0 2>/dev/null")).empty() &&
           sh(in_ns(*b, "ip -o link show sc0 2>/dev/null")).empty();
    if (!gone) ::usleep(50000);
  }
  EXPECT_TRUE(gone) << "a host end is still there 5 s after the emulator";
  EXPECT_EQ(sh("lsns -t net -n -o NS").find(std::to_string(wire_inode)), std::string::npos);
  auto after = sockchaos::testing::HostNetworkSnapshot::take();
  EXPECT_EQ(before.links, after.links);
  EXPECT_EQ(before.ruleset, after.ruleset);
  EXPECT_EQ(before.netns_names, after.netns_names);
}

TEST(LinkEmulator, RefusesAnInvalidImpairmentBeforeTouchingTheKernel) {
  // No privilege needed: validation comes first.
  auto self = NetNs::current();
  ASSERT_TRUE(self.ok());
  Impairment bad;
  bad.delay = std::chrono::minutes(2);
  auto link = LinkEmulator::create(*self, "x0", *self, "x1", bad, Impairment{}, 1);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("/delay"), std::string::npos) << link.error().message;
  EXPECT_NE(link.error().message.find("a_to_b"), std::string::npos) << link.error().message;
}

TEST(LinkEmulator, WorksInsideAnUnprivilegedUserNamespace) {
  SKIP_UNLESS_ABLE();
  if (std::getenv("SOCKCHAOS_LINKEMU_INNER")) GTEST_SKIP() << "already the inner run";
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  int probe = -1;
  sh(as_nobody + "unshare -Urn true 2>/dev/null", &probe);
  if (probe != 0) GTEST_SKIP() << "unprivileged user namespaces are disabled on this kernel";
  char self[4096];
  ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(len, 0);
  self[len] = 0;
  int status = -1;
  std::string out =
      sh("SOCKCHAOS_LINKEMU_INNER=1 " + as_nobody + "unshare -Urn " + self +
             " --gtest_filter='LinkEmulator.ConnectRttIsTwiceTheOneWayDelay:LinkEmulator.TeardownLeavesNothing'"
             " 2>&1",
         &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 2 tests"), std::string::npos) << out;
  EXPECT_EQ(out.find("SKIPPED"), std::string::npos) << out;
}

// The netem backend's probe against tc's own attempt, each in a scratch namespace. On this
// machine (no sch_netem) both fail: the negative path. Where netem exists both succeed, and
// apply_netem() is exercised on a real veth.
TEST(Netem, ProbeAgreesWithTc) {
  SKIP_UNLESS_ABLE();
  auto probe = netns::probe_netem();
  int status = -1;
  std::string tc = sh("unshare -n tc qdisc add dev lo root netem delay 1ms 2>&1", &status);
  if (status == 127) GTEST_SKIP() << "tc not installed";
  EXPECT_EQ(probe.available, status == 0) << probe.detail << " / tc: " << tc;
  EXPECT_EQ(netns::netem_available(), probe.available);
  auto a = NetNs::create();
  auto b = NetNs::create();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(netns::RouteSocket::open(*a)->create_veth("sc0", b->fd(), "sc0").ok());
  auto st = netns::apply_netem(*a, "sc0", with_delay(5ms), 1);
  if (!probe.available) {
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("sch_netem"), std::string::npos) << st.error().str();
    return;
  }
  ASSERT_TRUE(st.ok()) << st.error().str();
  std::string shown = sh(in_ns(*a, "tc qdisc show dev sc0"));
  EXPECT_NE(shown.find("netem"), std::string::npos) << shown;
  EXPECT_NE(shown.find("delay 5ms"), std::string::npos) << shown;
  EXPECT_TRUE(netns::remove_netem(*a, "sc0").ok());
}
