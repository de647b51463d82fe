// A two-host cell for the capture tests: client (198.18.0.1) and server (198.18.0.2) joined by
// one veth pair, a CaptureSet on both, plain sockets made inside the namespaces, and packet
// faults planned by harness::plan_packet_fault like the runner's (dropped at the receiver's
// ingress). The scenarios here also record the committed fixtures (tests/data/pcap).
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/topology.hpp"
#include "netns/capture.hpp"
#include "netns/nft.hpp"
#include "support.hpp"

namespace sockchaos::testing {

inline constexpr uint16_t kPort = 9000;

inline harness::Scenario two_host_scenario(std::vector<std::pair<std::string, std::string>> client_sysctl = {}) {
  harness::Scenario s;
  s.name = "capture";
  s.hosts = {{"client", std::move(client_sysctl)}, {"server", {}}};
  s.links = {{"client", "server"}};
  return s;
}

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

inline Fd socket_in(const netns::NetNs& ns) {
  auto in = netns::ScopedNetns::enter(ns.fd());
  if (!in.ok()) return Fd();
  return Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

inline sockaddr_in address_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

inline Fd listen_in(const netns::NetNs& ns, uint16_t port, int rcvbuf = 0) {
  Fd fd = socket_in(ns);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (rcvbuf > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a = address_of("0.0.0.0", port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd.get(), 16) != 0) return Fd();
  return fd;
}

inline void set_nonblocking(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

// Connects; with wait=false returns at once (non-blocking connect in progress).
inline Fd connect_in(const netns::NetNs& ns, const std::string& ip, uint16_t port, bool wait = true,
                     int* error = nullptr) {
  Fd fd = socket_in(ns);
  if (!wait) set_nonblocking(fd.get(), true);
  sockaddr_in a = address_of(ip, port);
  int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (error) *error = rc == 0 ? 0 : errno;
  if (rc != 0 && wait) return Fd();
  return fd;
}

inline Fd accept_one(int lfd, int timeout_ms = 2000) {
  pollfd p{lfd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return Fd();
  return Fd(::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
}

inline bool write_all(int fd, size_t n, char fill = 'x') {
  std::string buf(n, fill);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd, buf.data() + done, n - done);
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

// Reads exactly n bytes within timeout_ms (bounded).
inline size_t read_exact(int fd, size_t n, int timeout_ms = 2000) {
  std::vector<char> buf(std::max<size_t>(n, 1));
  size_t got = 0;
  const int64_t deadline = monotonic_ns() + timeout_ms * kMillisecond;
  while (got < n) {
    int64_t left = (deadline - monotonic_ns()) / kMillisecond;
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) != 1) break;
    ssize_t r = ::read(fd, buf.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// Non-blocking write of up to n bytes; returns what the kernel took.
inline size_t write_some(int fd, size_t n) {
  std::string buf(n, 'z');
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::send(fd, buf.data() + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  return done;
}

inline size_t read_some(int fd) {
  char buf[65536];
  size_t got = 0;
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

inline bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

struct Cell {
  std::optional<harness::Topology> topo;
  std::optional<netns::CaptureSet> capture;
  // Installed fault rules: per host, a context and the commands that remove them.
  std::vector<std::pair<netns::NftContext, std::string>> faults;
  int fault_count = 0;

  harness::Host& client() { return topo->host("client"); }
  harness::Host& server() { return topo->host("server"); }
  std::string client_ip() { return client().address(); }
  std::string server_ip() { return server().address(); }

  Status build(const harness::Scenario& s, const netns::CaptureOptions& options = {}) {
    auto t = harness::Topology::build(s);
    if (!t.ok()) return t.error();
    topo.emplace(std::move(t.value()));
    std::vector<netns::CaptureSet::Target> targets;
    for (auto& h : topo->hosts()) {
      std::vector<std::string> ifs;
      for (const auto& i : h.interfaces) ifs.push_back(i.name);
      targets.push_back({h.name, &h.ns, ifs});
    }
    auto c = netns::CaptureSet::start(targets, options);
    if (!c.ok()) return c.error();
    capture.emplace(std::move(c.value()));
    return {};
  }

  // A blackhole like the runner installs: dropped at the ingress of `on` ("in") or of its
  // neighbours ("out").
  Status blackhole(const std::string& on, const std::string& direction) {
    harness::Fault f;
    f.kind = harness::FaultKind::blackhole;
    f.on = on;
    f.direction = *harness::parse_name<harness::Direction>(direction);
    auto plan = harness::plan_packet_fault(f, fault_count++, topo->plan());
    if (!plan.ok()) return plan.error();
    for (const auto& r : *plan) {
      auto ctx = netns::NftContext::open(topo->host(r.host).ns);
      if (!ctx.ok()) return ctx.error();
      auto st = ctx->run(r.install);
      if (!st.ok()) return st;
      faults.emplace_back(std::move(ctx.value()), r.remove);
    }
    return {};
  }

  Status heal() {
    for (auto& [ctx, remove] : faults) {
      auto st = ctx.run(remove);
      if (!st.ok()) return st;
    }
    faults.clear();
    return {};
  }

  Status stop() { return capture->stop(); }
  const netns::HostCapture& captured(const std::string& host) const { return *capture->find(host); }
};

// ---- scenarios: each runs a real exchange in a built cell (capture running) ----

struct BurstTimes {
  int64_t write_before = 0, write_after = 0;  // monotonic, around the blackholed write
};

// Request, response, FIN from the client, FIN from the server.
inline void scenario_exchange_with_close(Cell& c) {
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return;
  write_all(cl.get(), 1000, 'q');
  read_exact(sv.get(), 1000);
  write_all(sv.get(), 3000, 'r');
  read_exact(cl.get(), 3000);
  ::shutdown(cl.get(), SHUT_WR);
  char b;
  if (wait_readable(sv.get(), 1000)) (void)::read(sv.get(), &b, 1);  // EOF
  sv.reset();
  if (wait_readable(cl.get(), 1000)) (void)::read(cl.get(), &b, 1);  // EOF
  cl.reset();
  sleep_ms(50);
}

// An established connection, then the server's ingress blackholed and the client writing
// `bytes` at once: a tail loss probe (app-limited: nothing new to send, so the probe is the
// last segment again), then RTO retransmissions with exponential backoff for `observe_ms`.
inline BurstTimes scenario_blackholed_burst(Cell& c, size_t bytes, int observe_ms) {
  BurstTimes t;
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return t;
  int one = 1;
  ::setsockopt(cl.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (int i = 0; i < 3; ++i) {  // a few RTT samples
    write_all(cl.get(), 100, 'q');
    read_exact(sv.get(), 100);
    write_all(sv.get(), 100, 'r');
    read_exact(cl.get(), 100);
  }
  sleep_ms(20);
  if (!c.blackhole("server", "in").ok()) return t;
  t.write_before = monotonic_ns();
  write_all(cl.get(), bytes, 'b');
  t.write_after = monotonic_ns();
  sleep_ms(observe_ms);
  return t;
}

// A sender with more than the congestion window to send when the blackhole starts: the loss
// probe carries new data, then RTOs back off.
inline void scenario_blackholed_busy(Cell& c, int observe_ms) {
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return;
  write_all(cl.get(), 2000, 'q');
  read_exact(sv.get(), 2000);
  sleep_ms(20);
  if (!c.blackhole("server", "in").ok()) return;
  write_some(cl.get(), 64 * 1024);
  sleep_ms(observe_ms);
}

// Keep-alive probes: two answered, then the server's ingress blackholed: three unanswered
// and the client's RST (tcp_keepalive_timer sends one when it gives up).
inline void scenario_keepalive(Cell& c) {
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return;
  int on = 1, idle = 1, intvl = 1, cnt = 3;
  ::setsockopt(cl.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(cl.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(cl.get(), IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  ::setsockopt(cl.get(), IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  write_all(cl.get(), 10, 'k');
  read_exact(sv.get(), 10);
  sleep_ms(2500);
  if (!c.blackhole("server", "in").ok()) return;
  pollfd p{cl.get(), POLLIN, 0};
  ::poll(&p, 1, 6000);  // the keep-alive timeout wakes it with ETIMEDOUT
  sleep_ms(20);
}

// The server never reads (small receive buffer): the client's window probes into a zero
// window (Linux: seq = snd_una - 1, no data), then the server reads and the window opens.
inline void scenario_zero_window(Cell& c) {
  Fd l = listen_in(c.server().ns, kPort, 2048);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return;
  const size_t total = 16000;
  size_t sent = write_some(cl.get(), total), got = 0;
  sleep_ms(1700);
  const int64_t deadline = monotonic_ns() + 3 * kSecond;
  while (got < total && monotonic_ns() < deadline) {
    if (sent < total) sent += write_some(cl.get(), total - sent);
    got += read_some(sv.get());
    pollfd p{sv.get(), POLLIN, 0};
    ::poll(&p, 1, 10);
  }
  cl.reset();
  char b;
  if (wait_readable(sv.get(), 1000)) (void)::read(sv.get(), &b, 1);
  sv.reset();
  sleep_ms(50);
}

// A refused connection (RST-ACK received), then an abortive close (SO_LINGER 0: RST sent).
inline void scenario_resets(Cell& c) {
  int err = 0;
  Fd refused = connect_in(c.client().ns, c.server_ip(), kPort + 1, true, &err);
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  if (!cl.valid() || !sv.valid()) return;
  write_all(cl.get(), 200, 'a');
  read_exact(sv.get(), 200);
  linger lg{1, 0};
  ::setsockopt(cl.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  cl.reset();
  sleep_ms(50);
}

// SYNs into a blackhole: the SYN and its retransmissions, 1 s apart (net.ipv4.tcp_syn_linear_timeouts,
// default 4 since Linux 6.5: the first four retries do not back off).
inline void scenario_syn_blackholed(Cell& c, int observe_ms) {
  Fd l = listen_in(c.server().ns, kPort);
  if (!c.blackhole("server", "in").ok()) return;
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort, false);
  sleep_ms(observe_ms);
}

// The server's SYN-ACKs lost (the client's ingress blackholed): the server retransmits them.
inline void scenario_synack_lost(Cell& c, int observe_ms) {
  Fd l = listen_in(c.server().ns, kPort);
  if (!c.blackhole("client", "in").ok()) return;
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort, false);
  sleep_ms(observe_ms);
}

}  // namespace sockchaos::testing
