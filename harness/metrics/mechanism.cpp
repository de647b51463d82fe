#include "harness/metrics/mechanism.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "common/clock.hpp"

namespace sockchaos::harness {

int64_t client_sysctl_or(const Scenario& scenario, const std::string& key, int64_t fallback) {
  const HostSpec* host = scenario.host(scenario.client.on);
  if (!host) return fallback;
  for (const auto& [k, v] : host->sysctl)
    if (k == key) {
      try {
        return static_cast<int64_t>(std::stoll(v));
      } catch (const std::exception&) {
        return fallback;
      }
    }
  return fallback;
}

int64_t client_user_timeout_ns(const Scenario& scenario) {
  const SocketOptions& sock = scenario.client.socket;
  int64_t ns = sock.tcp_user_timeout ? sock.tcp_user_timeout->count() : 0;
  for (const auto& raw : sock.raw)
    if (raw.level == IPPROTO_TCP && raw.name == TCP_USER_TIMEOUT) ns = static_cast<int64_t>(raw.int_value) * kMillisecond;
  return ns;
}

Mechanism infer_mechanism(const std::string& error, const std::string& syscall, const Scenario& scenario) {
  const SocketOptions& sock = scenario.client.socket;
  const WorkloadKind kind = scenario.client.workload.kind;
  const int64_t user_timeout_ns = client_user_timeout_ns(scenario);
  if (error == "app_timeout") return Mechanism::app_timeout;
  if (error == "connect_timeout") return Mechanism::connect_timeout;
  if (error == "EAGAIN" || error == "EWOULDBLOCK") return syscall == "send" ? Mechanism::sndtimeo : Mechanism::rcvtimeo;
  if (error == "ECONNRESET" || error == "EPIPE") return Mechanism::rst;
  if (error == "ECONNREFUSED") return Mechanism::refused;
  if (error == "EOF") return Mechanism::fin;
  if (error == "EADDRNOTAVAIL") return Mechanism::port_exhaustion;
  if (error == "EHOSTUNREACH" || error == "ENETUNREACH" || error == "EACCES" || error == "EPERM") return Mechanism::icmp;
  if (error == "ETIMEDOUT") {
    if (syscall == "connect" && kind != WorkloadKind::request)
      return user_timeout_ns > 0 ? Mechanism::tcp_user_timeout : Mechanism::syn_retries;
    const bool keepalive = sock.keepalive && sock.keepalive->enabled;
    if (kind == WorkloadKind::idle && keepalive) {
      // What the socket did not set comes from the client host's sysctls (kernel defaults
      // 7200 s, 75 s, 9 in a fresh namespace).
      const Keepalive& ka = *sock.keepalive;
      const int64_t idle = ka.idle.count() > 0 ? ka.idle.count() : client_sysctl_or(scenario, "net.ipv4.tcp_keepalive_time", 7200);
      const int64_t intvl =
          ka.interval.count() > 0 ? ka.interval.count() : client_sysctl_or(scenario, "net.ipv4.tcp_keepalive_intvl", 75);
      const int64_t cnt = ka.count > 0 ? ka.count : client_sysctl_or(scenario, "net.ipv4.tcp_keepalive_probes", 9);
      const int64_t keepalive_ns = (idle + intvl * cnt) * kSecond;
      if (user_timeout_ns > 0 && user_timeout_ns < keepalive_ns) return Mechanism::tcp_user_timeout;
      return Mechanism::keepalive;
    }
    if (user_timeout_ns > 0) return Mechanism::tcp_user_timeout;
    return Mechanism::tcp_retries2;
  }
  if (error.rfind("exit:", 0) == 0) return Mechanism::exit;
  return Mechanism::other;
}

}  // namespace sockchaos::harness
