// Which kernel mechanism ended a connection, decided from what was observed (packets,
// tcp_info, per-namespace TCP counters) rather than guessed from the configuration. The
// configured guess is the kernel model's mechanism (harness/metrics/kernel_model.hpp); where
// the evidence contradicts it, the evidence wins, and the basis says what was seen. Where
// nothing was observed, the guess stands and the basis says so.
//
// Times are ms after the first fault, like detection_ms. Every field may be absent.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/metrics/kernel_model.hpp"

namespace sockchaos::harness {

struct ObservedEvidence {
  // From a capture on the client's side.
  std::optional<int> keepalive_probes_sent;      // keepalive probes after the last answer
  std::optional<int> keepalive_probes_answered;  // of those, answered (before the fault)
  std::vector<double> data_retransmissions_ms;   // each retransmission of the head segment
  std::optional<int64_t> retransmitted_seq;      // its relative sequence number
  std::optional<int> zero_window_probes;
  std::optional<int> zero_window_probes_answered;
  std::optional<double> first_window_probe_ms;
  std::optional<double> rst_received_ms;
  std::optional<double> fin_received_ms;
  std::vector<std::string> icmp_errors;  // "host-unreachable", "port-unreachable", "admin-prohibited", ...
  std::optional<int> syn_retransmissions;
  std::optional<double> last_answered_ms;  // the last packet the peer sent (negative: before the fault)
  std::optional<double> heal_ms;           // when the fault healed, if it did

  // struct tcp_info at (or just before) the failure: tcpi_retransmits, tcpi_probes,
  // tcpi_backoff, tcpi_unacked, tcpi_rto, tcpi_last_data_recv, tcpi_last_data_sent,
  // tcpi_last_ack_recv (the last three: ms before the sample).
  struct TcpInfo {
    std::optional<int> retransmits, probes, backoff, unacked;
    std::optional<double> rto_ms, last_data_recv_ms, last_data_sent_ms, last_ack_recv_ms;
  } tcp_info;

  // Per-namespace counter deltas over the run, nstat names: "TcpExt.TCPKeepAlive",
  // "TcpExt.TCPTimeouts", "TcpExt.TCPAbortOnTimeout", "TcpExt.TCPSynRetrans",
  // "TcpExt.TCPWinProbe", "TcpExt.TCPLossProbes", "Tcp.RetransSegs".
  std::map<std::string, int64_t> counters;

  bool any() const;  // anything observed at all
};

struct MechanismEvidence {
  std::string mechanism;  // infer_mechanism's vocabulary
  std::string basis;      // one sentence: what was observed and which rule it shows
  bool agrees_with_configuration = true;
  bool evidence_available = false;
};

// error: errno name / "app_timeout" / "EOF" / "exit:N"; syscall: the failing call;
// detection_ms: the failure's time after the first fault (for "counted from the first
// retransmission" checks); model: the kernel model of the cell (its mechanism is the
// configured guess; its inputs give TCP_USER_TIMEOUT, KEEPCNT, tcp_retries2, the RTO).
MechanismEvidence mechanism_from_evidence(const std::string& error, const std::string& syscall,
                                          std::optional<double> detection_ms, const Model& model,
                                          const ObservedEvidence& evidence);

// The basis of a run where no call failed: what was observed and what the model says would
// (or would never) have fired.
std::string undetected_basis(const Model& model, const ObservedEvidence& evidence, double deadline_ms);

// The mechanism an errno alone implies (no options, no evidence).
std::string mechanism_from_errno(const std::string& error, const std::string& syscall);

}  // namespace sockchaos::harness
