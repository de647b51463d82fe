#include "harness/protocol/socket_options.hpp"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

namespace sockchaos::harness {
namespace {

struct KnownOption {
  int level;
  int name;
  const char* label;  // "IPPROTO_TCP/TCP_USER_TIMEOUT"
};

#define SOCKCHAOS_OPT(level, name) KnownOption{level, name, #level "/" #name}

// Options a raw {level, name} may refer to; used only to make labels readable.
constexpr KnownOption kKnownOptions[] = {
    SOCKCHAOS_OPT(SOL_SOCKET, SO_DEBUG),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_REUSEADDR),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_TYPE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_ERROR),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_DONTROUTE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_BROADCAST),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_SNDBUF),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_RCVBUF),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_SNDBUFFORCE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_RCVBUFFORCE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_KEEPALIVE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_OOBINLINE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_PRIORITY),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_LINGER),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_REUSEPORT),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_RCVLOWAT),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_SNDLOWAT),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_RCVTIMEO),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_SNDTIMEO),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_MARK),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_BINDTODEVICE),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_INCOMING_CPU),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_BUSY_POLL),
    SOCKCHAOS_OPT(SOL_SOCKET, SO_ZEROCOPY),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_NODELAY),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_MAXSEG),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_CORK),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_KEEPIDLE),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_KEEPINTVL),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_KEEPCNT),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_SYNCNT),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_LINGER2),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_DEFER_ACCEPT),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_WINDOW_CLAMP),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_QUICKACK),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_USER_TIMEOUT),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_FASTOPEN),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
    SOCKCHAOS_OPT(IPPROTO_TCP, TCP_FASTOPEN_CONNECT),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_TOS),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_TTL),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_RECVERR),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_FREEBIND),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_TRANSPARENT),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT),
    SOCKCHAOS_OPT(IPPROTO_IP, IP_MTU_DISCOVER),
};

#undef SOCKCHAOS_OPT

const char* known_option_label(int level, int name) {
  for (const auto& known : kKnownOptions) {
    if (known.level == level && known.name == name) return known.label;
  }
  return nullptr;
}

template <class T>
std::vector<unsigned char> bytes_of(const T& value) {
  std::vector<unsigned char> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

PlannedOption int_option(int level, int name, int value) {
  PlannedOption option{level, name, bytes_of(value), {}};
  const char* known = known_option_label(level, name);
  option.label = std::string(known ? known : "?") + "=" + std::to_string(value);
  return option;
}

// Rounds up so that a tiny non-zero duration never turns into 0 ("off" for most options).
int64_t ceil_div(int64_t numerator, int64_t denominator) {
  if (numerator <= 0) return 0;
  return (numerator + denominator - 1) / denominator;
}

int clamp_to_int(int64_t v) {
  if (v > INT32_MAX) return INT32_MAX;
  if (v < INT32_MIN) return INT32_MIN;
  return static_cast<int>(v);
}

PlannedOption timeval_option(int name, Nanos duration) {
  const int64_t micros = ceil_div(duration.count(), 1000);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(micros / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(micros % 1000000);
  PlannedOption option{SOL_SOCKET, name, bytes_of(tv), {}};
  option.label = std::string(known_option_label(SOL_SOCKET, name)) + "={" +
                 std::to_string(tv.tv_sec) + "s," + std::to_string(tv.tv_usec) + "us}";
  return option;
}

}  // namespace

std::vector<PlannedOption> plan_socket_options(const SocketOptions& options) {
  std::vector<PlannedOption> plan;
  if (options.keepalive) {
    const Keepalive& keepalive = *options.keepalive;
    plan.push_back(int_option(SOL_SOCKET, SO_KEEPALIVE, keepalive.enabled ? 1 : 0));
    if (keepalive.enabled) {
      // 0 means "not given": keep the sysctl default (the kernel rejects 0 anyway).
      if (keepalive.idle.count() > 0)
        plan.push_back(int_option(IPPROTO_TCP, TCP_KEEPIDLE, clamp_to_int(keepalive.idle.count())));
      if (keepalive.interval.count() > 0)
        plan.push_back(
            int_option(IPPROTO_TCP, TCP_KEEPINTVL, clamp_to_int(keepalive.interval.count())));
      if (keepalive.count > 0) plan.push_back(int_option(IPPROTO_TCP, TCP_KEEPCNT, keepalive.count));
    }
  }
  if (options.tcp_user_timeout) {
    const int64_t millis = ceil_div(options.tcp_user_timeout->count(), 1000000);
    plan.push_back(int_option(IPPROTO_TCP, TCP_USER_TIMEOUT, clamp_to_int(millis)));
  }
  if (options.linger) {
    linger value{};
    if (options.linger->has_value()) {
      value.l_onoff = 1;
      value.l_linger = clamp_to_int(ceil_div(options.linger->value().count(), 1000000000));
    }
    PlannedOption option{SOL_SOCKET, SO_LINGER, bytes_of(value), {}};
    option.label = "SOL_SOCKET/SO_LINGER={" + std::to_string(value.l_onoff) + "," +
                   std::to_string(value.l_linger) + "}";
    plan.push_back(std::move(option));
  }
  if (options.rcvtimeo) plan.push_back(timeval_option(SO_RCVTIMEO, *options.rcvtimeo));
  if (options.sndtimeo) plan.push_back(timeval_option(SO_SNDTIMEO, *options.sndtimeo));
  if (options.nodelay) plan.push_back(int_option(IPPROTO_TCP, TCP_NODELAY, *options.nodelay ? 1 : 0));
  if (options.syn_count) plan.push_back(int_option(IPPROTO_TCP, TCP_SYNCNT, *options.syn_count));
  if (options.quickack)
    plan.push_back(int_option(IPPROTO_TCP, TCP_QUICKACK, *options.quickack ? 1 : 0));
  if (options.rcvbuf) plan.push_back(int_option(SOL_SOCKET, SO_RCVBUF, *options.rcvbuf));
  if (options.sndbuf) plan.push_back(int_option(SOL_SOCKET, SO_SNDBUF, *options.sndbuf));
  if (options.reuseaddr)
    plan.push_back(int_option(SOL_SOCKET, SO_REUSEADDR, *options.reuseaddr ? 1 : 0));
  if (options.reuseport)
    plan.push_back(int_option(SOL_SOCKET, SO_REUSEPORT, *options.reuseport ? 1 : 0));
  if (options.bind_address_no_port)
    plan.push_back(
        int_option(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, *options.bind_address_no_port ? 1 : 0));
  // TCP_DEFER_ACCEPT takes seconds; the kernel turns them into a count of SYN-ACK
  // retransmissions (secs_to_retrans, net/ipv4/tcp.c), 0 turns it off.
  if (options.defer_accept)
    plan.push_back(int_option(IPPROTO_TCP, TCP_DEFER_ACCEPT,
                              clamp_to_int(ceil_div(options.defer_accept->count(), 1000000000))));
  for (const RawSocketOption& raw : options.raw) {
    PlannedOption option{raw.level, raw.name, bytes_of(raw.int_value), {}};
    option.label = "raw " + std::to_string(raw.level) + "/" + std::to_string(raw.name);
    if (const char* known = known_option_label(raw.level, raw.name)) {
      option.label += std::string(" (") + known + ")";
    }
    option.label += "=" + std::to_string(raw.int_value);
    plan.push_back(std::move(option));
  }
  return plan;
}

SysResult KernelSocketSyscalls::setsockopt(int fd, int level, int name, const void* value,
                                           socklen_t len) {
  const int rc = ::setsockopt(fd, level, name, value, len);
  return SysResult{rc, rc < 0 ? errno : 0};
}

KernelSocketSyscalls& KernelSocketSyscalls::instance() {
  static KernelSocketSyscalls syscalls;
  return syscalls;
}

Status apply_socket_options(SocketSyscalls& sys, int fd, const std::vector<PlannedOption>& plan) {
  for (const PlannedOption& option : plan) {
    const SysResult result = sys.setsockopt(fd, option.level, option.name, option.value.data(),
                                            static_cast<socklen_t>(option.value.size()));
    if (result.rc < 0) return Error::system("setsockopt " + option.label, result.err);
  }
  return {};
}

}  // namespace sockchaos::harness
