// struct tcp_info as sockchaos reads it: from getsockopt(TCP_INFO) in the agent right after a
// failing call, and from inet_diag's INET_DIAG_INFO attribute with each census. The kernel's
// struct grows at its end; decode_tcp_info reads what the kernel gave (its length says which
// fields exist) and leaves newer fields absent. Times are converted to milliseconds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/json.hpp"

namespace sockchaos {

struct TcpInfo {
  int state = 0;        // tcpi_state (TCP state number)
  int ca_state = 0;     // tcpi_ca_state: 0 open, 1 disorder, 2 cwr, 3 recovery, 4 loss
  int retransmits = 0;  // tcpi_retransmits: retransmissions of the head since the last ACK (icsk_retransmits)
  int probes = 0;       // tcpi_probes: unanswered zero-window / keepalive probes
  int backoff = 0;      // tcpi_backoff: exponential backoff of the RTO
  double rto_ms = 0, ato_ms = 0;
  int64_t snd_mss = 0, rcv_mss = 0;
  int64_t unacked = 0, sacked = 0, lost = 0, retrans = 0;
  double last_data_sent_ms = 0, last_data_recv_ms = 0, last_ack_recv_ms = 0;
  double rtt_ms = 0, rttvar_ms = 0;
  int64_t snd_cwnd = 0;
  int64_t total_retrans = 0;
  std::optional<int64_t> snd_wnd;         // Linux 5.19+: the peer's advertised window (bytes)
  std::optional<int64_t> rcv_wnd;         // Linux 6.7+: our advertised window (bytes)
  std::optional<int64_t> total_rto;       // Linux 6.7+: RTO timeouts so far
  std::optional<double> total_rto_time_ms;  // Linux 6.7+
};

// One socket of the workload as a census saw it.
struct SocketSample {
  std::string local, remote;  // "198.18.0.1:40312"
  int state = 0;
  std::optional<TcpInfo> info;
};

// Reads a kernel struct tcp_info of `len` bytes; nullopt when it is too short to be one.
std::optional<TcpInfo> decode_tcp_info(const void* data, size_t len);

// The one JSON form (agent events and results share it).
json to_json(const TcpInfo& info);
// Lenient: missing keys keep their defaults; a value of the wrong type is an error message.
std::optional<TcpInfo> tcp_info_from_json(const json& value, std::string* why = nullptr);

}  // namespace sockchaos
