// TCP states by the kernel's numbers (include/net/tcp_states.h): TCP_ESTABLISHED = 1 ...
// TCP_CLOSING = 11, TCP_NEW_SYN_RECV = 12, and a count of sockets per state. Pure data: the
// census (netns/) fills it, metrics and reports read it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sockchaos {

inline constexpr int kTcpStateCount = 13;  // index 0 unused
inline constexpr int kTcpTimeWait = 6;
inline constexpr int kTcpListen = 10;

const char* tcp_state_name(int state);             // 1 -> "ESTABLISHED"; nullptr if out of range
int tcp_state_from_name(const std::string& name);  // -1 if unknown
// States a socket passes through on its way in or out (handshake, close): counts that are
// not yet where the socket comes to rest.
bool is_transient_tcp_state(int state);

struct StateCounts {
  std::array<int64_t, kTcpStateCount> by_state{};
  std::vector<uint16_t> listening_ports;  // local ports of LISTEN sockets
  // Milliseconds until the soonest / the latest TIME_WAIT or orphaned-FIN_WAIT2 timer fires
  // (-1: none): when these counts will next change without any packet.
  int64_t next_expiry_ms = -1, last_expiry_ms = -1;
  int64_t total() const;
  int64_t get(const std::string& state_name) const;  // "TIME_WAIT" -> count, unknown -> 0
  bool same_states(const StateCounts& other) const { return by_state == other.by_state; }
  // Nothing but listeners and TIME_WAIT: no connection open, or half-way through a handshake or a
  // close, on this host. Such counts change only on a timer (TIME_WAIT's expiry) or when a process
  // opens a new connection — no segment still in flight can change them (the settle, runner.cpp).
  bool only_listening_or_time_wait() const;
};

}  // namespace sockchaos
