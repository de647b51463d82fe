// Socket census of a namespace through inet_diag (libnl-idiag): how many TCP sockets sit
// in each state, IPv4 and IPv6, TIME_WAIT included (the kernel dumps timewait sockets).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/tcp_info.hpp"
#include "common/tcp_state.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

class Census {
 public:
  // The diag socket is opened inside `ns`, so it sees that namespace's sockets only.
  static Result<Census> open(const NetNs& ns);
  Census(Census&&) noexcept;
  Census& operator=(Census&&) noexcept;
  ~Census();
  Result<StateCounts> count();
  // The counts, and the sockets with a local or remote port in `ports` (not TIME_WAIT or
  // LISTEN) with their tcp_info (INET_DIAG_INFO), at most `max_sockets` of them.
  Result<StateCounts> count(const std::vector<uint16_t>& ports, std::vector<SocketSample>& sockets,
                            size_t max_sockets = 16);

 private:
  struct Impl;
  explicit Census(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockchaos::netns

namespace sockchaos::netns {

// Destroys every TCP socket of a namespace (SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY): what a
// host that lost power and came back holds afterwards — nothing. Returns how many went.
Result<int> destroy_all_tcp_sockets(const NetNs& ns);

}  // namespace sockchaos::netns

namespace sockchaos::netns {

// The namespace's TCP counters (/proc/net/netstat "TcpExt" and /proc/net/snmp "Tcp"), by
// name, e.g. "TcpExt.TCPAbortOnData", "Tcp.AttemptFails": how the kernel itself saw the run.
Result<std::map<std::string, int64_t>> tcp_counters(const NetNs& ns);

// The parser tcp_counters uses: adds the "TcpExt:" and "Tcp:" rows of a /proc/net/netstat or
// /proc/net/snmp text (a line of names, then a line of values, both starting "Prefix:") to `out`
// as "Prefix.Name"; other rows are skipped.
void parse_tcp_counter_rows(std::string_view text, std::map<std::string, int64_t>& out);

}  // namespace sockchaos::netns
