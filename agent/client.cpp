// Client workloads: idle, stream, probe, request. The "command" workload is run by the
// orchestrator itself, never by the agent.
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "agent/agent.hpp"

namespace sockchaos::agent {
namespace {

using harness::ClientSpec;

constexpr int64_t kStreamTick = 10 * kMillisecond;
constexpr size_t kMaxStreamChunk = 1 << 20;
constexpr size_t kUnpacedChunk = 64 * 1024;
constexpr int64_t kBatchEvery = 50 * kMillisecond;
constexpr int64_t kDefaultResponseTimeout = 5 * kSecond;
constexpr int64_t kReconnectDelay = 10 * kMillisecond;
constexpr const char* kDefaultRequest = "ping\n";

struct Client {
  const ClientSpec& spec;
  sockaddr_in address{};
  std::vector<harness::PlannedOption> plan;
  int64_t connect_timeout_ns = -1;  // < 0: blocking connect, the kernel's SYN retries decide
  int64_t app_timeout_ns = -1;      // < 0: no application timeout
  int64_t sndtimeo_ns = -1;         // SO_SNDTIMEO, for the non-blocking send path
};

[[noreturn]] void fail(int64_t t, const char* syscall, const std::string& errno_text) {
  emit_error(t, syscall, errno_text);
  _exit(kExitError);
}

// A stop (duration or lifetime) during a blocking call ends the workload normally.
[[noreturn]] void fail_or_done(int64_t t, const char* syscall, int err) {
  if (err == EINTR && stop_requested()) finish_done();
  fail(t, syscall, errno_name(err));
}

// Connects the single socket of idle/stream, emits "start" and "ready"; exits on failure.
int connect_single(const Client& client) {
  emit_simple(harness::AgentEventKind::start, monotonic_ns());
  const int fd = make_tcp_socket(client.plan, false);
  if (fd < 0) fail(monotonic_ns(), "socket", errno_name(-fd));
  const ConnectResult result = connect_socket(fd, client.address, client.connect_timeout_ns);
  if (result.err == EINTR && stop_requested()) finish_done();
  if (result.err != 0) fail(result.t_end, result.syscall, result.err_text);
  emit_simple(harness::AgentEventKind::ready, result.t_end);
  return fd;
}

// Reads and discards whatever is queued, without blocking. Exits on EOF or error.
void drain_or_fail(int fd) {
  static char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    const int64_t t = monotonic_ns();
    if (n > 0) continue;
    if (n == 0) fail(t, "recv", "EOF");
    if (errno == EAGAIN || errno == EINTR) return;
    fail(t, "recv", errno_name(errno));
  }
}

// POLLERR / POLLHUP without readable data: the kernel ended the connection.
[[noreturn]] void fail_from_poll(int fd, int64_t t) {
  const int err = socket_error(fd);
  fail(t, "poll", err != 0 ? errno_name(err) : "EOF");
}

int run_idle(const Client& client) {
  const int fd = connect_single(client);
  if (client.spec.workload.duration) arm_stop_timer(client.spec.workload.duration->count());
  static char buffer[64 * 1024];
  for (;;) {
    if (stop_requested()) finish_done();
    if (client.app_timeout_ns >= 0) {
      const int revents = poll_one(fd, POLLIN, client.app_timeout_ns);
      const int64_t t = monotonic_ns();
      if (revents < 0) fail_or_done(t, "poll", errno);
      if (revents == 0) fail(t, "poll", "app_timeout");
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      const int64_t t_recv = monotonic_ns();
      if (n > 0) continue;
      if (n == 0) fail(t_recv, "recv", "EOF");
      if (errno == EAGAIN || errno == EINTR) continue;
      fail(t_recv, "recv", errno_name(errno));
    } else {
      // Blocking recv so that SO_RCVTIMEO applies (EAGAIN when it fires).
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      const int64_t t = monotonic_ns();
      if (n > 0) continue;
      if (n == 0) fail(t, "recv", "EOF");
      if (errno == EINTR && !stop_requested()) continue;  // SIGSTOP/SIGCONT (pause fault)
      fail_or_done(t, "recv", errno);
    }
  }
}

// Sends all of [data, data+size). Blocking send unless an app_timeout is set, in which case
// non-blocking sends with poll(POLLOUT) bounded by the time since the last progress.
void stream_send(const Client& client, int fd, const char* data, size_t size) {
  size_t offset = 0;
  if (client.app_timeout_ns < 0) {
    while (offset < size) {
      const ssize_t n = ::send(fd, data + offset, size - offset, MSG_NOSIGNAL);
      const int64_t t = monotonic_ns();
      if (n > 0) {
        offset += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR && !stop_requested()) continue;
      fail_or_done(t, "send", n < 0 ? errno : EIO);
    }
    return;
  }
  // The application's own timeout; SO_SNDTIMEO is honoured too when it is shorter.
  int64_t limit = client.app_timeout_ns;
  const char* limit_syscall = "poll";
  const char* limit_text = "app_timeout";
  if (client.sndtimeo_ns > 0 && client.sndtimeo_ns < limit) {
    limit = client.sndtimeo_ns;
    limit_syscall = "send";
    limit_text = "EAGAIN";
  }
  int64_t last_progress = monotonic_ns();
  while (offset < size) {
    const ssize_t n = ::send(fd, data + offset, size - offset, MSG_NOSIGNAL | MSG_DONTWAIT);
    int64_t t = monotonic_ns();
    if (n > 0) {
      offset += static_cast<size_t>(n);
      last_progress = t;
      continue;
    }
    if (n < 0 && errno == EINTR && !stop_requested()) continue;
    if (n < 0 && errno != EAGAIN) fail_or_done(t, "send", errno);
    const int64_t left = last_progress + limit - t;
    if (left <= 0) fail(t, limit_syscall, limit_text);
    const int revents = poll_one(fd, POLLOUT | POLLIN, left);
    t = monotonic_ns();
    if (revents < 0) fail_or_done(t, "poll", errno);
    if (revents == 0) fail(t, limit_syscall, limit_text);
    if (revents & POLLERR) fail_from_poll(fd, t);
    if (revents & POLLIN) drain_or_fail(fd);
    else if (revents & POLLHUP) fail_from_poll(fd, t);
  }
}

int run_stream(const Client& client) {
  const int fd = connect_single(client);
  const harness::Workload& workload = client.spec.workload;
  const int64_t start = monotonic_ns();
  const int64_t end = workload.duration ? start + workload.duration->count() : -1;
  if (workload.duration) arm_stop_timer(workload.duration->count());

  const double rate = workload.bytes_per_second;
  // Filler without '\n' so a proxy never sees a request line.
  const std::vector<char> filler(kMaxStreamChunk, 'x');
  int64_t tick = 0;  // index of the next chunk; chunk k is due at start + k * kStreamTick
  for (;;) {
    if (stop_requested()) finish_done();
    int64_t now = monotonic_ns();
    if (end >= 0 && now >= end) finish_done();
    const int64_t due = rate > 0 ? start + tick * kStreamTick : now;
    int64_t wait = std::max<int64_t>(0, due - now);
    if (end >= 0) wait = std::min(wait, end - now);
    // Wait for the next chunk while watching the socket: POLLERR / POLLHUP arrive at once
    // when the kernel kills the connection (always reported, even when not requested).
    const int revents = poll_one(fd, POLLIN | POLLPRI, wait);
    const int64_t t = monotonic_ns();
    if (revents < 0) fail_or_done(t, "poll", errno);
    if (revents != 0) {
      if (revents & POLLERR) fail_from_poll(fd, t);
      if (revents & (POLLIN | POLLPRI)) drain_or_fail(fd);
      else if (revents & POLLHUP) fail_from_poll(fd, t);
      if (t < due) continue;  // woke early: keep waiting for the tick
    }
    if (end >= 0 && t >= end) finish_done();

    size_t bytes = kUnpacedChunk;
    if (rate > 0) {
      // Skip ticks missed while a send blocked rather than bursting to catch up.
      const int64_t current = (t - start) / kStreamTick;
      if (current > tick) tick = current;
      const auto total = [&](int64_t k) {
        return static_cast<int64_t>(std::floor(rate * static_cast<double>(k) * 0.01));
      };
      bytes = static_cast<size_t>(
          std::clamp<int64_t>(total(tick + 1) - total(tick), 0, static_cast<int64_t>(kMaxStreamChunk)));
      ++tick;
    }
    if (bytes > 0) stream_send(client, fd, filler.data(), bytes);
  }
}

// ---- probe ---------------------------------------------------------------------------------

struct Batch {
  harness::AgentEvent event;
  int64_t last_flush = 0;

  explicit Batch(harness::AgentEventKind kind) { event.kind = kind; }
  void add(int64_t t, int64_t value, const std::string& err, int64_t t_end) {
    event.items.push_back({t, value, err, t_end});
  }
  void flush(int64_t now) {
    last_flush = now;
    if (event.items.empty()) return;
    event.t = now;
    emit(event);
    event.items.clear();
  }
  void flush_if_due(int64_t now) {
    if (now - last_flush >= kBatchEvery) flush(now);
  }
};

// Sends `request` and waits for the first response byte or EOF, bounded by deadline.
// Returns "" on success, else an errno name or "app_timeout".
std::string exchange(int fd, const std::string& request, int64_t deadline) {
  set_nonblocking(fd, true);
  size_t offset = 0;
  while (offset < request.size()) {
    const ssize_t n = ::send(fd, request.data() + offset, request.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      offset += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return errno_name(errno);
    const int revents = poll_one(fd, POLLOUT, std::max<int64_t>(0, deadline - monotonic_ns()));
    if (revents < 0) return errno_name(errno);
    if (revents == 0) return "app_timeout";
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n >= 0) return "";  // the first response bytes, or the server closed: done
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno_name(errno);
    const int revents = poll_one(fd, POLLIN, std::max<int64_t>(0, deadline - monotonic_ns()));
    if (revents < 0) return errno_name(errno);
    if (revents == 0) return "app_timeout";
  }
}

int run_probe(const Client& client) {
  const harness::Workload& workload = client.spec.workload;
  const int64_t response_timeout =
      client.app_timeout_ns >= 0 ? client.app_timeout_ns : kDefaultResponseTimeout;
  Batch batch{harness::AgentEventKind::probes};
  const int64_t start = monotonic_ns();
  emit_simple(harness::AgentEventKind::start, start);
  batch.last_flush = start;
  for (int i = 0; i < workload.count && !stop_requested(); ++i) {
    if (workload.per_second > 0) {
      const int64_t target =
          start + static_cast<int64_t>(static_cast<double>(i) * 1e9 / workload.per_second);
      const int64_t now = monotonic_ns();
      if (target > now) {
        if (target - now >= kBatchEvery) batch.flush(now);
        const timespec ts{static_cast<time_t>(target / kSecond), static_cast<long>(target % kSecond)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
          if (stop_requested()) break;
        }
        if (stop_requested()) break;
      }
    }
    const int64_t t = monotonic_ns();
    const int fd = make_tcp_socket(client.plan, false);
    if (fd < 0) {
      batch.add(t, -1, errno_name(-fd), monotonic_ns());
    } else {
      const ConnectResult result = connect_socket(fd, client.address, client.connect_timeout_ns);
      if (result.err != 0) {
        batch.add(t, -1, result.err_text, result.t_end);
      } else {
        std::string err;
        int64_t t_end = result.t_end;
        if (!workload.request.empty()) {
          err = exchange(fd, workload.request, result.t_end + response_timeout);
          t_end = monotonic_ns();
        }
        batch.add(t, result.t_end - result.t_start, err, t_end);
      }
      ::close(fd);
    }
    batch.flush_if_due(monotonic_ns());
  }
  batch.flush(monotonic_ns());
  finish_done();
}

// ---- request -------------------------------------------------------------------------------
//
// Framing: a request is the bytes of workload.request (default "ping\n"); its response is
// complete at the first recv() that returns data. Bytes arriving afterwards, before the
// next request, are discarded. An EOF on an idle connection (a server with
// close "after-response") just re-opens it; EOF while waiting is an "EOF" failure.
// Open loop (per_second > 0): request k is due at ready + k / per_second and waits for an idle
// connection; its latency counts from that due time (queueing behind half-open connections
// included). Closed loop (0): each connection sends its next request at once.
// items: [t_ns when the outcome was seen, latency_ns or -1, null | errno name | "app_timeout"].

struct Connection {
  enum class State { kClosed, kConnecting, kIdle, kSending, kWaiting };
  int fd = -1;
  State state = State::kClosed;
  bool attempted = false;  // its first connect attempt concluded
  int64_t since = 0;       // connect start / request send start
  int64_t origin = 0;      // latency origin of the current request
  size_t sent = 0;
  int64_t retry_at = 0;
};

class RequestWorkload {
 public:
  explicit RequestWorkload(const Client& client)
      : client_(client),
        workload_(client.spec.workload),
        request_(workload_.request.empty() ? kDefaultRequest : workload_.request),
        connections_(static_cast<size_t>(std::max(1, workload_.connections))) {}

  [[noreturn]] void run() {
    const int64_t start = monotonic_ns();
    emit_simple(harness::AgentEventKind::start, start);
    batch_.last_flush = start;
    for (Connection& c : connections_) open(c, start);
    std::vector<pollfd> pfds;
    std::vector<Connection*> owners;
    for (;;) {
      int64_t now = monotonic_ns();
      if (stop_requested() || (end_ >= 0 && now >= end_)) finish(now);
      maybe_ready(now);
      for (Connection& c : connections_) {
        if (c.state == Connection::State::kClosed && now >= c.retry_at) open(c, now);
      }
      if (ready_at_ >= 0) dispatch(now);

      int64_t wake = now + kSecond;
      if (end_ >= 0) wake = std::min(wake, end_);
      if (!batch_.event.items.empty()) wake = std::min(wake, batch_.last_flush + kBatchEvery);
      if (ready_at_ >= 0 && workload_.per_second > 0 && has_idle()) {
        wake = std::min(wake, due_time(issued_));
      }
      pfds.clear();
      owners.clear();
      for (Connection& c : connections_) {
        switch (c.state) {
          case Connection::State::kClosed:
            wake = std::min(wake, c.retry_at);
            continue;
          case Connection::State::kConnecting:
            pfds.push_back({c.fd, POLLOUT, 0});
            if (client_.connect_timeout_ns >= 0)
              wake = std::min(wake, c.since + client_.connect_timeout_ns);
            break;
          case Connection::State::kIdle:
            pfds.push_back({c.fd, POLLIN, 0});
            break;
          case Connection::State::kSending:
          case Connection::State::kWaiting:
            pfds.push_back({c.fd, static_cast<short>(c.state == Connection::State::kSending
                                                         ? POLLIN | POLLOUT
                                                         : POLLIN),
                            0});
            if (client_.app_timeout_ns >= 0) wake = std::min(wake, c.since + client_.app_timeout_ns);
            break;
        }
        owners.push_back(&c);
      }
      const int64_t wait = std::max<int64_t>(0, wake - now);
      const timespec ts{static_cast<time_t>(wait / kSecond), static_cast<long>(wait % kSecond)};
      const int rc = ::ppoll(pfds.data(), pfds.size(), &ts, nullptr);
      now = monotonic_ns();
      if (rc < 0 && errno != EINTR) fatal("ppoll", errno);
      if (rc > 0) {
        for (size_t i = 0; i < pfds.size(); ++i) {
          if (pfds[i].revents != 0) on_event(*owners[i], pfds[i].revents, now);
        }
      }
      expire(now);
      batch_.flush_if_due(now);
    }
  }

 private:
  int64_t due_time(int64_t k) const {
    return ready_at_ + static_cast<int64_t>(static_cast<double>(k) * 1e9 / workload_.per_second);
  }

  bool has_idle() const {
    return std::any_of(connections_.begin(), connections_.end(),
                       [](const Connection& c) { return c.state == Connection::State::kIdle; });
  }

  void open(Connection& c, int64_t now) {
    c.since = now;
    const int fd = make_tcp_socket(client_.plan, true);
    if (fd < 0) {
      fail(c, now, errno_name(-fd));
      return;
    }
    c.fd = fd;
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&client_.address),
                             sizeof(client_.address));
    const int64_t t = monotonic_ns();
    if (rc == 0) {
      connected(c);
    } else if (errno == EINPROGRESS || errno == EINTR) {
      c.state = Connection::State::kConnecting;
    } else {
      fail(c, t, errno_name(errno));
    }
  }

  void connected(Connection& c) {
    c.state = Connection::State::kIdle;
    c.attempted = true;
  }

  void close_connection(Connection& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = Connection::State::kClosed;
  }

  void fail(Connection& c, int64_t t, const std::string& err) {
    batch_.add(t, -1, err, t);
    close_connection(c);
    c.attempted = true;
    c.retry_at = t + kReconnectDelay;
  }

  void maybe_ready(int64_t now) {
    if (ready_at_ >= 0) return;
    for (const Connection& c : connections_) {
      if (!c.attempted) return;
    }
    ready_at_ = now;
    emit_simple(harness::AgentEventKind::ready, now);
    if (workload_.duration) {
      end_ = now + workload_.duration->count();
      arm_stop_timer(workload_.duration->count());
    }
  }

  void dispatch(int64_t now) {
    for (Connection& c : connections_) {
      if (c.state != Connection::State::kIdle) continue;
      if (workload_.per_second > 0) {
        const int64_t due = due_time(issued_);
        if (due > now) return;
        c.origin = due;
      } else {
        c.origin = now;
      }
      ++issued_;
      c.state = Connection::State::kSending;
      c.sent = 0;
      c.since = now;
      send_more(c, now);
    }
  }

  void send_more(Connection& c, int64_t now) {
    while (c.sent < request_.size()) {
      const ssize_t n = ::send(c.fd, request_.data() + c.sent, request_.size() - c.sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      fail(c, monotonic_ns(), errno_name(n < 0 ? errno : EIO));
      return;
    }
    (void)now;
    c.state = Connection::State::kWaiting;
  }

  void on_event(Connection& c, short revents, int64_t now) {
    switch (c.state) {
      case Connection::State::kClosed:
        return;
      case Connection::State::kConnecting: {
        const int err = socket_error(c.fd);
        if (err == 0) {
          connected(c);
        } else {
          fail(c, now, errno_name(err));
        }
        return;
      }
      case Connection::State::kSending:
        if (revents & (POLLOUT | POLLERR | POLLHUP)) {
          if ((revents & POLLERR) && !(revents & POLLIN)) {
            const int err = socket_error(c.fd);
            fail(c, now, err ? errno_name(err) : "EOF");
            return;
          }
          send_more(c, now);
        }
        if (c.state != Connection::State::kWaiting || !(revents & POLLIN)) return;
        [[fallthrough]];
      case Connection::State::kWaiting:
      case Connection::State::kIdle:
        receive(c, now);
        return;
    }
  }

  void receive(Connection& c, int64_t now) {
    const bool waiting = c.state == Connection::State::kWaiting;
    bool got = false;
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer_, sizeof(buffer_), MSG_DONTWAIT);
      const int64_t t = monotonic_ns();
      if (n > 0) {
        if (waiting && !got) {
          batch_.add(t, t - c.origin, "", t);
          c.state = Connection::State::kIdle;
        }
        got = true;
        continue;
      }
      if (n == 0) {
        if (waiting && !got) {
          fail(c, t, "EOF");
        } else {
          // Server closed an idle connection (close after-response): re-open at once.
          close_connection(c);
          c.retry_at = t;
        }
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      fail(c, t, errno_name(errno));
      return;
    }
    (void)now;
  }

  void expire(int64_t now) {
    for (Connection& c : connections_) {
      if (c.state == Connection::State::kConnecting && client_.connect_timeout_ns >= 0 &&
          now - c.since >= client_.connect_timeout_ns) {
        fail(c, now, "connect_timeout");
      } else if ((c.state == Connection::State::kSending ||
                  c.state == Connection::State::kWaiting) &&
                 client_.app_timeout_ns >= 0 && now - c.since >= client_.app_timeout_ns) {
        fail(c, now, "app_timeout");
      }
    }
  }

  [[noreturn]] void finish(int64_t now) {
    batch_.flush(now);
    for (Connection& c : connections_) close_connection(c);
    finish_done();
  }

  const Client& client_;
  const harness::Workload& workload_;
  std::string request_;
  std::vector<Connection> connections_;
  Batch batch_{harness::AgentEventKind::requests};
  int64_t ready_at_ = -1;
  int64_t end_ = -1;
  int64_t issued_ = 0;
  char buffer_[64 * 1024];
};

}  // namespace

int run_client(const harness::AgentSpec& spec) {
  Client client{spec.client, {}, {}, -1, -1, -1};
  client.address = make_address(spec.address, spec.client.connect_port);
  client.plan = harness::plan_socket_options(spec.client.socket);
  if (spec.client.connect_timeout) client.connect_timeout_ns = spec.client.connect_timeout->count();
  if (spec.client.app_timeout) client.app_timeout_ns = spec.client.app_timeout->count();
  if (spec.client.socket.sndtimeo) client.sndtimeo_ns = spec.client.socket.sndtimeo->count();
  // An option the kernel rejects is a configuration error: find it before any event.
  const int probe_fd = make_tcp_socket(client.plan, false);
  if (probe_fd >= 0) ::close(probe_fd);
  switch (spec.client.workload.kind) {
    case harness::WorkloadKind::idle: return run_idle(client);
    case harness::WorkloadKind::stream: return run_stream(client);
    case harness::WorkloadKind::probe: return run_probe(client);
    case harness::WorkloadKind::request: {
      RequestWorkload workload(client);
      workload.run();
    }
    case harness::WorkloadKind::command: break;
  }
  fatal("workload kind \"" + harness::name_string(spec.client.workload.kind) + "\" is not run by the agent");
}

}  // namespace sockchaos::agent
