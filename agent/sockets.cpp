#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "agent/agent.hpp"

namespace sockchaos::agent {

SocketAddress make_address(const std::string& literal, int port) {
  SocketAddress out;
  if (port < 0 || port > 65535) fatal("port out of range: " + std::to_string(port));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, literal.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, literal.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in6);
  } else {
    fatal("not an IPv4 or IPv6 address: \"" + literal + "\"");
  }
  return out;
}

std::string SocketAddress::str() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
}

std::string port_of_host_port(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return "";
  return host_port.substr(colon + 1);
}

int make_tcp_socket(int family, const std::vector<harness::PlannedOption>& plan, bool nonblocking) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    const int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) return -err;
    fatal("socket", err);
  }
  const Status applied = harness::apply_socket_options(harness::KernelSocketSyscalls::instance(), fd, plan);
  if (!applied) {
    // "setsockopt <label>": name the option on its own too.
    const std::string& message = applied.error().message;
    const std::string prefix = "setsockopt ";
    fatal(message, applied.error().err,
          message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message);
  }
  return fd;
}

void set_nonblocking(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return;
  fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

int poll_one(int fd, short events, int64_t timeout_ns) {
  const int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
  for (;;) {
    pollfd pfd{fd, events, 0};
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline >= 0) {
      int64_t left = deadline - monotonic_ns();
      if (left < 0) left = 0;
      ts.tv_sec = static_cast<time_t>(left / kSecond);
      ts.tv_nsec = static_cast<long>(left % kSecond);
      tsp = &ts;
    }
    const int rc = ::ppoll(&pfd, 1, tsp, nullptr);
    if (rc > 0) return pfd.revents;
    if (rc == 0) return 0;
    if (errno != EINTR) return -1;
    if (stop_requested()) return -1;  // errno == EINTR
  }
}

ConnectResult connect_socket(int fd, const SocketAddress& address, int64_t timeout_ns) {
  ConnectResult result;
  const bool with_timeout = timeout_ns >= 0;
  const int flags = fcntl(fd, F_GETFL);
  const bool was_nonblocking = flags >= 0 && (flags & O_NONBLOCK);
  if (with_timeout && !was_nonblocking) set_nonblocking(fd, true);

  result.t_start = monotonic_ns();
  int rc = ::connect(fd, address.get(), address.length);
  result.t_end = monotonic_ns();
  int err = rc < 0 ? errno : 0;
  if (rc < 0 && (err == EINPROGRESS || err == EINTR)) {
    // In progress (non-blocking) or interrupted (the kernel keeps connecting): wait for it.
    const int64_t left = with_timeout ? timeout_ns - (result.t_end - result.t_start) : -1;
    const int revents = poll_one(fd, POLLOUT, left < 0 && with_timeout ? 0 : left);
    result.t_end = monotonic_ns();
    result.syscall = "poll";
    if (revents < 0) {
      err = EINTR;
    } else if (revents == 0) {
      err = ETIMEDOUT;
      result.err_text = "connect_timeout";
    } else {
      err = socket_error(fd);
      result.syscall = "connect";
    }
  }
  result.err = err;
  if (err != 0 && result.err_text.empty()) result.err_text = errno_name(err);
  if (with_timeout && !was_nonblocking) set_nonblocking(fd, false);
  return result;
}

}  // namespace sockchaos::agent
