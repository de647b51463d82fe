// Server behaviors on one epoll loop: echo, sink, stall, hold, respond, proxy.
// Accepted (and proxy upstream) sockets are non-blocking and get the scenario's options.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "agent/agent.hpp"

namespace sockchaos::agent {
namespace {

constexpr int kBacklog = 4096;
constexpr size_t kMaxPending = 1 << 20;      // per direction; reading pauses above it
constexpr size_t kMaxRequestLine = 64 * 1024;  // respond: longer "lines" are discarded
constexpr int64_t kAcceptEventEvery = 10 * kMillisecond;
constexpr int64_t kAcceptPauseOnEmfile = 100 * kMillisecond;
constexpr uint64_t kListenerId = 0;
constexpr uint32_t kErrorWatch = EPOLLET;  // no events wanted: only EPOLLERR/EPOLLHUP, once
constexpr int kMaxConnectionErrors = 100;

using harness::ServerBehavior;

struct ServerConnection {
  uint64_t id = 0;
  int down = -1;                 // the accepted socket
  int up = -1;                   // proxy: the upstream socket
  bool up_connecting = false;
  uint32_t down_mask = 0, up_mask = 0;  // current epoll interest
  bool down_eof = false;         // hold: EOF seen, the socket stays open (CLOSE_WAIT)
  bool close_after_flush = false;  // respond after-response, echo at EOF
  bool request_forwarded = false;  // proxy: a request line went upstream
  bool close_up_after_flush = false;  // proxy: response relayed, close upstream first
  bool half_closed = false;      // half_close_after: shutdown(SHUT_WR) done, never read again
  int64_t accepted_at = 0, last_received = 0;  // CLOCK_MONOTONIC
  std::string to_down, to_up, line;
};

// epoll data: connection id << 1 | 1 for the upstream side.
uint64_t key(uint64_t id, bool upstream) { return (id << 1) | (upstream ? 1 : 0); }

class Server {
 public:
  explicit Server(const harness::AgentSpec& spec) : spec_(spec.server), behavior_(spec.server.behavior) {
    if (!harness::is_agent_behavior(behavior_)) fatal("server behavior \"command\" is not run by the agent");

    plan_ = harness::plan_socket_options(spec_.socket);
    listen_address_ = make_address(spec.address, spec_.port);
    if (behavior_ == ServerBehavior::proxy) {
      const std::string port = port_of_host_port(spec_.upstream);
      if (spec.upstream_address.empty() || port.empty()) {
        fatal("proxy needs upstream \"host:port\" and a resolved upstream_address (got \"" +
              spec_.upstream + "\", \"" + spec.upstream_address + "\")");
      }
      int port_number = -1;
      try {
        port_number = std::stoi(port);
      } catch (const std::exception&) {
        fatal("proxy upstream port is not a number: \"" + spec_.upstream + "\"");
      }
      upstream_address_ = make_address(spec.upstream_address, port_number);
    }
  }

  [[noreturn]] void run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) fatal("epoll_create1", errno);
    listen_socket();

    epoll_event events[256];
    for (;;) {
      if (stop_requested()) finish_done();
      int timeout_ms = -1;
      const int64_t now = monotonic_ns();
      if (pending_accepts_ > 0) {
        timeout_ms = static_cast<int>(
            std::max<int64_t>(0, (last_accept_event_ + kAcceptEventEvery - now) / kMillisecond + 1));
      }
      if (accept_paused_until_ > 0) {
        const int pause_ms = static_cast<int>(
            std::max<int64_t>(0, (accept_paused_until_ - now) / kMillisecond + 1));
        timeout_ms = timeout_ms < 0 ? pause_ms : std::min(timeout_ms, pause_ms);
      }
      if (!timers_.empty()) {
        // Rounded up: a timer never fires early (epoll_wait takes milliseconds).
        const int timer_ms = static_cast<int>(std::max<int64_t>(
            0, (timers_.begin()->first - now + kMillisecond - 1) / kMillisecond));
        timeout_ms = timeout_ms < 0 ? timer_ms : std::min(timeout_ms, timer_ms);
      }
      const int n = epoll_wait(epoll_, events, 256, timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        fatal("epoll_wait", errno);
      }
      for (int i = 0; i < n; ++i) dispatch(events[i].data.u64, events[i].events);
      const int64_t after = monotonic_ns();
      if (accept_paused_until_ > 0 && after >= accept_paused_until_) {
        accept_paused_until_ = 0;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = key(kListenerId, false);
        epoll_ctl(epoll_, EPOLL_CTL_MOD, listener_, &ev);
      }
      maybe_emit_accepts(after);
      run_timers(after);
    }
  }

 private:
  void listen_socket() {
    const int one = 1;
    listener_ = ::socket(listen_address_.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener_ < 0) fatal("socket", errno);
    if (setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
      fatal("setsockopt SOL_SOCKET/SO_REUSEADDR=1", errno, "SOL_SOCKET/SO_REUSEADDR=1");
    }
    apply(listener_);
    if (listen_address_.family() == AF_INET6) {
      // "::" is the dual-stack listener of a "dual" scenario: IPv4 clients arrive as ::ffff:a.b.c.d.
      const int v6only = 0;
      (void)setsockopt(listener_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    if (::bind(listener_, listen_address_.get(), listen_address_.length) < 0) {
      fatal("bind " + listen_address_.str(), errno);
    }
    if (::listen(listener_, kBacklog) < 0) fatal("listen", errno);
    const int64_t t = monotonic_ns();
    harness::AgentEvent listening;
    listening.kind = harness::AgentEventKind::listening;
    listening.t = t;
    listening.port = spec_.port;
    emit(listening);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key(kListenerId, false);
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev) < 0) fatal("epoll_ctl", errno);
  }


  void apply(int fd) {
    const Status applied =
        harness::apply_socket_options(harness::KernelSocketSyscalls::instance(), fd, plan_);
    if (!applied) {
      const std::string& message = applied.error().message;
      fatal(message, applied.error().err, message.substr(std::min<size_t>(message.size(), 11)));
    }
  }

  void dispatch(uint64_t data, uint32_t events) {
    const uint64_t id = data >> 1;
    if (id == kListenerId) {
      accept_all();
      return;
    }
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    ServerConnection& c = *it->second;
    if (data & 1) {
      on_upstream(c, events);
    } else {
      on_downstream(c, events);
    }
    if (connections_.count(id)) update_interest(c);
  }

  void accept_all() {
    for (;;) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      const int64_t t = monotonic_ns();
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          accept_paused_until_ = t + kAcceptPauseOnEmfile;
          epoll_event ev{};
          ev.events = 0;
          ev.data.u64 = key(kListenerId, false);
          epoll_ctl(epoll_, EPOLL_CTL_MOD, listener_, &ev);
        }
        return;
      }
      if (pending_accepts_ == 0) first_pending_accept_ = t;
      ++pending_accepts_;
      maybe_emit_accepts(t);
      apply(fd);
      auto connection = std::make_unique<ServerConnection>();
      ServerConnection& c = *connection;
      c.id = next_id_++;
      c.down = fd;
      c.accepted_at = c.last_received = t;
      connections_.emplace(c.id, std::move(connection));
      if (spec_.half_close_after) timers_.emplace(t + spec_.half_close_after->count(), c.id);
      if (spec_.idle_timeout) timers_.emplace(t + spec_.idle_timeout->count(), c.id);
      if (behavior_ == ServerBehavior::proxy) open_upstream(c);
      if (connections_.count(c.id)) update_interest(c);
    }
  }

  void maybe_emit_accepts(int64_t now) {
    if (pending_accepts_ == 0 || now - last_accept_event_ < kAcceptEventEvery) return;
    harness::AgentEvent accepted;
    accepted.kind = harness::AgentEventKind::accept;
    accepted.t = first_pending_accept_;
    accepted.count = pending_accepts_;
    emit(accepted);
    pending_accepts_ = 0;
    last_accept_event_ = now;
  }

  // ---- per-connection logic --------------------------------------------------------------

  // half_close_after and idle_timeout: every due timer of a connection; an idle timer whose
  // connection received something since is moved to last_received + idle_timeout.
  void run_timers(int64_t now) {
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const auto [due, id] = *timers_.begin();
      timers_.erase(timers_.begin());
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      ServerConnection& c = *it->second;
      if (spec_.half_close_after && !c.half_closed && now >= c.accepted_at + spec_.half_close_after->count()) {
        // The server's half of the connection ends (FIN), the client's stays open, and nothing
        // it sends is read any more: its data piles up in this socket's receive queue.
        ::shutdown(c.down, SHUT_WR);
        c.half_closed = true;
        c.to_down.clear();
        update_interest(c);
        continue;
      }
      if (spec_.idle_timeout) {
        const int64_t idle_until = c.last_received + spec_.idle_timeout->count();
        if (now >= idle_until) {
          close_connection(c);  // like nginx keepalive_timeout or Redis timeout: close(), FIN
          continue;
        }
        if (due < idle_until) timers_.emplace(idle_until, id);
      }
    }
  }

  bool reads_downstream(const ServerConnection& c) const {
    if (behavior_ == ServerBehavior::stall || c.down_eof || c.close_after_flush || c.half_closed) return false;
    return c.to_down.size() < kMaxPending && c.to_up.size() < kMaxPending;
  }

  void update_interest(ServerConnection& c) {
    uint32_t down_mask = 0;
    if (reads_downstream(c)) down_mask |= EPOLLIN;
    if (!c.to_down.empty()) down_mask |= EPOLLOUT;
    set_interest(c.down, key(c.id, false), c.down_mask, down_mask);
    if (c.up >= 0) {
      uint32_t up_mask = 0;
      if (c.up_connecting || !c.to_up.empty()) up_mask |= EPOLLOUT;
      if (!c.up_connecting && c.to_down.size() < kMaxPending) up_mask |= EPOLLIN;
      set_interest(c.up, key(c.id, true), c.up_mask, up_mask);
    }
  }

  // Every socket stays registered. A registration always reports EPOLLERR/EPOLLHUP; a stalled
  // or held socket (no EPOLLIN/EPOLLOUT wanted) is registered edge-triggered, so the kernel
  // ending it (keepalive, user timeout, RST) is reported once instead of spinning, and the
  // server sees its own socket fail.
  void set_interest(int fd, uint64_t data, uint32_t& current, uint32_t wanted) {
    if (wanted == 0) wanted = kErrorWatch;
    if (wanted == current) return;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.u64 = data;
    epoll_ctl(epoll_, current == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    current = wanted;
  }

  // A connection failed on this side: say so (bounded), at the time the failing call returned.
  void report_connection_error(int64_t t, const char* syscall, int err) {
    if (err == 0 || connection_errors_ >= kMaxConnectionErrors) return;
    ++connection_errors_;
    harness::AgentEvent event;
    event.kind = harness::AgentEventKind::conn_error;
    event.t = t;
    event.syscall = syscall;
    event.error = errno_name(err);
    emit(event);
  }

  void close_connection(ServerConnection& c) {
    if (c.down >= 0) ::close(c.down);  // closing removes the fd from epoll
    if (c.up >= 0) ::close(c.up);
    connections_.erase(c.id);
  }

  void close_upstream(ServerConnection& c) {
    if (c.up >= 0) ::close(c.up);
    c.up = -1;
    c.up_mask = 0;
    c.up_connecting = false;
    c.request_forwarded = false;
    c.close_up_after_flush = false;
  }

  // Writes as much of `pending` as the socket takes. Returns false on a fatal error, which it
  // reports.
  bool flush(int fd, std::string& pending) {
    while (!pending.empty()) {
      const ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      report_connection_error(monotonic_ns(), "send", n < 0 ? errno : EIO);
      return false;
    }
    return true;
  }

  void on_downstream(ServerConnection& c, uint32_t events) {
    if (events & EPOLLOUT) {
      if (!flush(c.down, c.to_down)) {
        close_connection(c);
        return;
      }
      if (c.to_down.empty()) {
        if (c.close_after_flush) {
          close_connection(c);
          return;
        }
        if (c.close_up_after_flush) close_upstream(c);
      }
    }
    if (c.half_closed && (events & EPOLLHUP)) {
      // Both directions are closed (the client's FIN came after ours): nothing is left to watch.
      const int err = socket_error(c.down);
      if (err != 0) report_connection_error(monotonic_ns(), "poll", err);
      close_connection(c);
      return;
    }
    if (!reads_downstream(c) && (events & (EPOLLERR | EPOLLHUP))) {
      // A stalled or held socket the kernel ended.
      const int err = socket_error(c.down);
      if (err != 0) {
        report_connection_error(monotonic_ns(), "poll", err);
        close_connection(c);
      }
      return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_downstream(c);
  }

  void read_downstream(ServerConnection& c) {
    const uint64_t id = c.id;
    size_t budget = 4 * kMaxPending;  // fairness between connections
    while (budget > 0 && reads_downstream(c)) {
      const ssize_t n = ::recv(c.down, buffer_, sizeof(buffer_), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        report_connection_error(monotonic_ns(), "recv", errno);
        close_connection(c);  // RST or timeout: the socket is dead, even for hold
        return;
      }
      if (n == 0) {
        on_downstream_eof(c);
        return;
      }
      budget -= std::min(budget, static_cast<size_t>(n));
      c.last_received = monotonic_ns();
      on_data(c, buffer_, static_cast<size_t>(n));
      if (!connections_.count(id)) return;
    }
  }

  void on_downstream_eof(ServerConnection& c) {
    switch (behavior_) {
      case ServerBehavior::hold:
        c.down_eof = true;  // never close: CLOSE_WAIT until the agent exits
        return;
      case ServerBehavior::echo:
      case ServerBehavior::respond:
        if (!c.to_down.empty()) {
          c.close_after_flush = true;
          return;
        }
        close_connection(c);
        return;
      default:
        close_connection(c);
        return;
    }
  }

  void on_data(ServerConnection& c, const char* data, size_t size) {
    switch (behavior_) {
      case ServerBehavior::sink:
      case ServerBehavior::hold:
      case ServerBehavior::stall:
      case ServerBehavior::command:  // never here: refused in the constructor
        return;
      case ServerBehavior::echo:
        c.to_down.append(data, size);
        write_down(c);
        return;
      case ServerBehavior::respond:
        c.line.append(data, size);
        for (;;) {
          // A request is a line, or with http framing everything up to the empty line that ends
          // an HTTP request's headers (one response per request, as an HTTP/1.1 keep-alive
          // client such as nginx's upstream module expects).
          const std::string_view end = spec_.http_framing ? std::string_view("\r\n\r\n") : std::string_view("\n");
          const auto found = c.line.find(end);
          if (found == std::string::npos) break;
          c.line.erase(0, found + end.size());
          c.to_down += spec_.response;
          if (spec_.close == harness::CloseMode::after_response) {
            c.close_after_flush = true;
            c.line.clear();
            break;
          }
        }
        if (c.line.size() > kMaxRequestLine) c.line.clear();
        write_down(c);
        return;
      case ServerBehavior::proxy:
        if (std::find(data, data + size, '\n') != data + size) c.request_forwarded = true;
        c.to_up.append(data, size);
        if (c.up < 0) {
          open_upstream(c);
          return;
        }
        if (!c.up_connecting && !flush(c.up, c.to_up)) close_connection(c);
        return;
    }
  }

  void write_down(ServerConnection& c) {
    if (!flush(c.down, c.to_down)) {
      close_connection(c);
      return;
    }
    if (c.to_down.empty() && c.close_after_flush) close_connection(c);
  }

  // ---- proxy upstream --------------------------------------------------------------------

  void open_upstream(ServerConnection& c) {
    const int fd = ::socket(upstream_address_.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      close_connection(c);
      return;
    }
    apply(fd);
    c.up = fd;
    c.up_mask = 0;
    c.request_forwarded = c.to_up.find('\n') != std::string::npos;
    const int rc = ::connect(fd, upstream_address_.get(), upstream_address_.length);
    if (rc == 0) {
      c.up_connecting = false;
      if (!flush(c.up, c.to_up)) close_connection(c);
    } else if (errno == EINPROGRESS || errno == EINTR) {
      c.up_connecting = true;
    } else {
      close_connection(c);  // the client sees EOF
    }
  }

  void on_upstream(ServerConnection& c, uint32_t events) {
    if (c.up_connecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      if (const int err = socket_error(c.up); err != 0) {
        report_connection_error(monotonic_ns(), "connect", err);
        close_connection(c);
        return;
      }
      c.up_connecting = false;
    }
    if ((events & EPOLLOUT) && !flush(c.up, c.to_up)) {
      close_connection(c);
      return;
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    bool got = false;
    while (c.to_down.size() < kMaxPending) {
      const ssize_t n = ::recv(c.up, buffer_, sizeof(buffer_), MSG_DONTWAIT);
      if (n > 0) {
        c.to_down.append(buffer_, static_cast<size_t>(n));
        got = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // Upstream EOF or error: relay what we have, drop the upstream side.
      close_upstream(c);
      got = false;
      break;
    }
    // The response to a forwarded request line has been read: once it is relayed, close the
    // upstream connection first (active close, TIME_WAIT on the proxy's upstream side).
    if (got && c.request_forwarded) c.close_up_after_flush = true;
    if (!flush(c.down, c.to_down)) {
      close_connection(c);
      return;
    }
    if (c.to_down.empty() && c.close_up_after_flush) close_upstream(c);
  }

  const harness::ServerSpec& spec_;
  ServerBehavior behavior_;
  std::vector<harness::PlannedOption> plan_;
  SocketAddress listen_address_{}, upstream_address_{};
  int epoll_ = -1;
  int listener_ = -1;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<ServerConnection>> connections_;
  std::multimap<int64_t, uint64_t> timers_;  // due (CLOCK_MONOTONIC) -> connection id
  int64_t pending_accepts_ = 0;
  int64_t first_pending_accept_ = 0;
  int64_t last_accept_event_ = INT64_MIN / 2;
  int64_t accept_paused_until_ = 0;
  int connection_errors_ = 0;
  char buffer_[64 * 1024];
};

}  // namespace

int run_server(const harness::AgentSpec& spec) {
  Server server(spec);
  server.run();
}

}  // namespace sockchaos::agent
