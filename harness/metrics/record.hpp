// The raw record of one run of a cell: what the I/O loop saw, with CLOCK_MONOTONIC stamps and
// nothing computed. harness/metrics/metrics.hpp turns it into the run's results; keeping the two
// apart lets unit tests feed synthetic records to the measurement math (no root, no kernel).
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tcp_info.hpp"
#include "common/json.hpp"
#include "common/tcp_state.hpp"
#include "harness/metrics/tcp_packet.hpp"
#include "harness/protocol/events.hpp"

namespace sockchaos::harness {

// One census pass: the counts of every host whose dump succeeded (in topology order).
struct CensusSample {
  int64_t t = 0;
  std::vector<std::pair<std::string, StateCounts>> hosts;
  std::vector<std::pair<std::string, SocketSample>> sockets;  // the workload's sockets: host, socket
  const StateCounts* find(const std::string& host) const;
};

struct CensusFailure {
  int64_t t = 0;
  std::string host, message;
};

struct RecordedEvent {
  int64_t t = 0;
  std::string event, detail;  // "fault", "heal", "client-error", "server-listening", ...
};

struct FailureCall {  // the first failing call of a workload
  int64_t t = -1;     // when it returned; -1 = none
  std::string syscall, error;
  std::optional<TcpInfo> tcp_info;  // the socket right after it (agent clients)
  bool present() const { return t >= 0; }
};

struct FaultWindow {
  std::string label;
  int64_t installed = -1, healed = -1;
  int index = -1;  // in the scenario's faults
  // Packet faults: where they filter arriving packets (host, interface): a packet captured
  // there while the fault was in force and matching it never reached that host's TCP.
  std::vector<std::pair<std::string, std::string>> ingress;
};

struct CommandOutput {
  std::vector<std::string> argv;  // as the user wrote it, placeholders expanded
  int exit_code = -1;             // -1 for a server still running at the end
  std::string out, err;           // captured, bounded
};

// One host's packet capture, parsed (the classification is the metrics step's).
struct HostPackets {
  std::string host;
  std::vector<IpAddress> own;     // the host's addresses (they decide sent / received)
  std::vector<TcpPacket> packets; // frame = 1, 2 ... in capture order (first part, then last part)
  uint64_t seen = 0, kept = 0, dropped_by_cap = 0, dropped_by_kernel = 0;
  bool truncated = false;
  std::string file;               // the pcap written, relative to the results (empty: none)
  std::string error;              // the capture or the file failed
};

// A link of the run as built: its backend, seed, impairments and (emulated) counters.
struct LinkRecord {
  std::string a, b;
  std::string backend;  // veth | builtin | netem
  uint64_t seed = 0;
  json a_to_b = json::object(), b_to_a = json::object();  // the scenario's impairments (linkemu::to_json)
  json stats;  // the emulator's counters (netns::to_json(LinkStats)), null for veth / netem
};

struct RunRecord {
  std::vector<std::string> hosts;  // topology order
  int64_t t_start = -1;            // the client was started
  int64_t base = -1;               // "workload ready": t_ms 0 of the timeline, faults' `at` origin
  int64_t first_fault = -1;        // the first fault's install time (after its first commit)
  int64_t first_fault_began = -1;  // that commit's start (-1: same as first_fault); an error
                                   // between the two came after the fault, see fault_origin()
  int64_t workload_end = -1;       // error, done, exit or deadline
  int64_t t_end = -1;              // the last census sample
  bool deadline_hit = false;
  FailureCall client_error;        // from the client agent or the command's exit
  std::vector<CensusSample> samples;
  std::vector<CensusFailure> census_failures;
  std::vector<RecordedEvent> events;
  std::vector<WorkItem> probes, requests;
  std::vector<AgentEvent> server_errors;  // conn-error events of the server agents
  std::vector<std::pair<int64_t, int64_t>> accepts;  // server agents' accept events: time, count
  std::vector<FaultWindow> faults;
  std::optional<CommandOutput> client_command, server_command;
  std::map<std::string, std::map<std::string, int64_t>> counters;  // host -> TCP counters at the end
  std::vector<LinkRecord> links;
  bool capture_enabled = false;
  std::string capture_error;           // the capture could not start (the run went on without it)
  std::vector<HostPackets> captures;   // per host, topology order
  // The sysctls of a fresh namespace on this kernel (the kernel model's defaults) and HZ.
  std::map<std::string, std::string> kernel_sysctl;
  int kernel_hz = 250;
  // Set when the run could not be carried out (the network could not be built, an agent died,
  // a protocol error, interrupted): the run's outcome is "error" with this as its detail.
  std::optional<std::string> failure;

  // Whether an event at t came after the first fault (false in a run without one). An event
  // inside the first commit's window (first_fault_began..first_fault) did: the rule was
  // already acting, the orchestrator had not read the clock yet.
  bool after_fault(int64_t t) const {
    return first_fault >= 0 && t >= (first_fault_began >= 0 ? std::min(first_fault_began, first_fault) : first_fault);
  }
  // Where a detection at t (after the fault) is measured from: the install time, or the
  // commit's start for an event inside the commit window (an upper bound of its delay).
  int64_t fault_origin(int64_t t) const {
    return t >= first_fault || first_fault_began < 0 ? first_fault : first_fault_began;
  }
};

}  // namespace sockchaos::harness
