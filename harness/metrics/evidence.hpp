// What a run observed besides the stopwatch, gathered for the mechanism and the kernel model:
// each host's packets classified (harness/metrics/packet_events.hpp), the client's workload
// connection picked out, and from it and from tcp_info the facts the rules are about — when
// the head segment was retransmitted, how many keep-alive or zero-window probes went out
// unanswered, when a RST or FIN arrived, the RTO the connection had before the fault.
//
// Times are ms after the first fault (negative: before it), like detection_ms.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/metrics/kernel_model.hpp"
#include "harness/metrics/mechanism_evidence.hpp"
#include "harness/metrics/packet_events.hpp"
#include "harness/metrics/record.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

struct RunEvidence {
  std::vector<std::pair<std::string, PacketAnalysis>> hosts;  // per captured host
  // The client's connection the detection is about (its host's analysis and flow id).
  std::optional<std::pair<size_t, uint32_t>> workload_flow;
  // Per captured host: arriving packets a fault dropped at its ingress (left out of the
  // analysis: the host's TCP never saw them; they stay in the pcap files).
  std::vector<std::pair<std::string, size_t>> dropped_at_ingress;
  ObservedEvidence observed;
  MeasuredInputs measured;
  KernelEnvironment environment;
};

// `failure_t`: when the failing call returned (-1: none).
RunEvidence gather_evidence(const RunRecord& record, const Scenario& scenario, int64_t failure_t);

}  // namespace sockchaos::harness
