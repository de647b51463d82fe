// The results of one run of a cell: results.json's "run" object as a type. The JSON mapping
// (one to_json, one from_json) is harness/verdict/results_json.cpp; the keys are the contract
// (../shared/spec/scenario-format.md, docs/scenarios.md). Times are milliseconds, 0.1 ms
// resolution, relative to the run's base ("t_ms 0": the workload was ready) unless the name
// says otherwise.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tcp_info.hpp"
#include "harness/metrics/kernel_model.hpp"
#include "harness/model/enums.hpp"

namespace sockchaos::harness {

// error_detail of a run that SIGINT/SIGTERM stopped midway (outcome "error"), and of a cell's
// run that never started because of it (outcome "skipped").
inline constexpr const char* kInterruptedDetail = "interrupted";
inline constexpr const char* kNotStartedDetail = "interrupted before it started";

// An object whose key order is part of the output (hosts in topology order, states in kernel
// order, errno names as they first appeared).
template <class V>
using Ordered = std::vector<std::pair<std::string, V>>;

template <class V>
const V* find_in(const Ordered<V>& map, const std::string& key) {
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

struct CensusHealth {
  int64_t samples = 0;      // census passes that succeeded for this host
  int64_t errors = 0;       // passes that failed
  std::string first_error;  // the first failure's message
};

struct HostSockets {
  Ordered<int64_t> peak;                       // state -> highest count seen
  Ordered<std::optional<double>> cleared_ms;   // state -> when it first returned to 0 after its peak
                                               // (ms after the workload ended); null: never
  std::optional<double> time_wait_cleared_ms;  // = cleared_ms["TIME_WAIT"]
  CensusHealth census;
  int64_t peak_of(const std::string& state) const {
    const int64_t* v = find_in(peak, state);
    return v ? *v : 0;
  }
};

struct ConnectLatency {
  double p50 = 0, p99 = 0, max = 0;
};

struct ProbeWindow {  // one census interval of a probe loop
  double t_ms = 0;
  int64_t attempted = 0, failed = 0;
  std::optional<double> connect_p50_ms, connect_p99_ms;
  int64_t time_wait = 0;
};

struct ProbeStats {
  int64_t attempted = 0, succeeded = 0;
  Ordered<int64_t> failed;                    // errno name -> count
  bool has_rate = false;                      // per_second is present (more than one probe)
  std::optional<double> per_second;
  std::optional<ConnectLatency> connect_ms;
  std::optional<std::vector<ProbeWindow>> series;
  int64_t failures() const {
    int64_t n = 0;
    for (const auto& [name, count] : failed) n += count;
    return n;
  }
};

struct RequestPhase {
  std::string phase;  // before | during | after | all
  double start_ms = 0, end_ms = 0;
  int64_t requests = 0, errors = 0;
  double tps = 0;
  std::optional<double> p50_ms, p90_ms, p99_ms, max_ms, mean_ms;
};

struct ClientCommandResult {
  std::vector<std::string> argv;
  int exit = -1;
  std::string stdout_text, stderr_text;
};
struct ServerCommandResult {
  std::string stdout_text, stderr_text;
  std::vector<std::string> argv;
};
struct CommandResults {
  std::optional<ClientCommandResult> client;
  std::optional<ServerCommandResult> server;
};

struct FaultResult {
  std::string label;
  std::optional<double> installed_ms, healed_ms;
};

// A failure on the server's side: one of its accepted connections ended by the kernel.
struct ServerFailure {
  double t_ms = 0;
  std::string syscall, error;
};

// Who else noticed: the server agents' own view of the run.
struct ServerSide {
  std::optional<double> detection_ms;  // first fault -> the server's first failing call
  std::optional<std::string> error, syscall;
  std::vector<ServerFailure> errors;   // every failure reported (the agent caps them at 100)
  int64_t accepted = 0;                // connections accepted
  std::optional<double> first_accept_ms, last_accept_ms;
};

// A workload socket's tcp_info at one census pass (kept when something the kernel's timers act
// on changed: state, retransmits, backoff, probes, RTO, unacked, total_retrans).
struct TcpInfoSample {
  double t_ms = 0;
  std::string host, local, remote;
  std::string state;
  TcpInfo info;
};

// A classified packet in the timeline (event "packet"): what the capturing host saw.
struct PacketMark {
  std::string host;       // whose capture
  std::string kind;       // harness/metrics/packet_events.hpp's names: "syn", "retransmission", "tail_loss_probe" ...
  std::string direction;  // sent | received | forwarded
  uint32_t flow = 0;      // the host's flow id (Wireshark's tcp.stream)
  uint32_t seq = 0, ack = 0, len = 0, window = 0;
  uint32_t ordinal = 0;             // retransmissions: 1 = the first of this sequence
  std::optional<double> gap_ms;     // retransmissions: since the previous transmission of it
};

struct TimelineEntry {
  double t_ms = 0;
  // A census sample (hosts -> state -> count, non-zero states only) or an event.
  std::optional<Ordered<Ordered<int64_t>>> sockets;
  std::string event, detail;
  std::optional<PacketMark> packet;  // event "packet"
  bool is_sample() const { return sockets.has_value(); }
};

// One host's capture: where the file is and what it holds.
struct HostCaptureResult {
  std::string file;  // relative to the results (empty: not written)
  uint64_t seen = 0, kept = 0, dropped_by_cap = 0, dropped_by_kernel = 0;
  bool truncated = false;  // the cap was hit: the first and the last part were kept
  int64_t flows = 0;
  uint64_t dropped_at_ingress = 0;  // arriving packets a fault dropped at this host (not analysed)
  std::string error;
};

struct CaptureResult {
  bool enabled = false;
  std::string error;  // the capture could not start
  Ordered<HostCaptureResult> hosts;
};

// The client's workload connection as its capture shows it.
struct FlowCounts {
  uint64_t packets = 0, retransmissions = 0, tail_loss_probes = 0, syn_retransmissions = 0, keep_alives = 0,
           keep_alive_acks = 0, zero_window_probes = 0, zero_window_probe_acks = 0, zero_windows = 0, rsts = 0, fins = 0;
};
struct WorkloadFlow {
  std::string host, local, remote;
  FlowCounts sent, received;
};

// The kernel's model beside the measurement, and whether the measurement agrees.
struct ModelResult {
  Model model;
  ModelCheck check;
  std::optional<double> measured;  // what was compared (ms, or a count)
};

enum class DetectionOrigin { fault, start };
template <>
struct NameTable<DetectionOrigin> {
  static constexpr Names<DetectionOrigin, 2> entries{{{DetectionOrigin::fault, "fault"}, {DetectionOrigin::start, "start"}}};
};

struct LinkResult {
  std::string a, b, backend;
  uint64_t seed = 0;
  json a_to_b = json::object(), b_to_a = json::object();
  json stats;
};

struct RunResult {
  Outcome outcome = Outcome::error;
  std::optional<double> detection_ms;  // fault (or workload start) -> the failing call's return
  // What detection_ms counts from: the first fault, or the workload's start when no fault was
  // in yet (a cell without faults, or an error before the first fault: before_fault).
  std::optional<DetectionOrigin> detection_origin;
  bool before_fault = false;
  std::optional<std::string> error;    // errno name, "app_timeout", "exit:N"
  std::optional<std::string> syscall;
  std::optional<Mechanism> mechanism;
  std::optional<std::string> error_detail;  // why the run errored or was skipped
  std::optional<double> fault_ms, workload_end_ms;
  double deadline_ms = 0;
  double duration_ms = 0;
  Ordered<HostSockets> sockets;
  ProbeStats probes;
  std::optional<std::vector<RequestPhase>> requests;
  std::optional<CommandResults> command;
  ServerSide server;
  std::vector<TcpInfoSample> tcp_info;
  std::optional<std::string> mechanism_basis;  // what was observed that says so
  bool mechanism_from_evidence = false;        // packets / tcp_info / counters decided, not the configuration
  std::optional<ModelResult> model;            // the detection
  std::vector<ModelResult> lifetime_models;    // TIME_WAIT, FIN_WAIT2 ... lifetimes
  CaptureResult capture;
  std::vector<LinkResult> links;
  std::optional<WorkloadFlow> workload_flow;
  std::optional<TcpInfo> tcp_info_at_error;  // the client's socket right after its failing call
  Ordered<Ordered<int64_t>> tcp_counters;
  std::vector<FaultResult> faults;
  std::vector<TimelineEntry> timeline;

  const HostSockets* host_sockets(const std::string& host) const { return find_in(sockets, host); }
};

}  // namespace sockchaos::harness
