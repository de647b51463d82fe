// Runs one cell: builds its namespaces, starts the agents, injects the faults on schedule,
// samples the socket census, and records what happened (harness/metrics/record.hpp); the pure
// metrics step turns each record into the run's results.
//
// Timing: every timestamp is CLOCK_MONOTONIC. A fault's time is taken right after its rule
// commit returns (or its signal is sent); the client's error time is taken by the agent right
// after the failing syscall returns. The loop sleeps in ppoll() until the next event, sample or
// scheduled action: no spin.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/phases.hpp"
#include "harness/metrics/record.hpp"
#include "harness/metrics/run_result.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

struct RunOptions {
  std::string agent_path;  // sockchaos-agent
  // Read end of a pipe whose write end is closed on SIGINT/SIGTERM: every waiting cell
  // wakes at once and cleans up. -1 = not cancellable.
  int cancel_fd = -1;
  // Called once per run when its workload ends (before observation), from the cell's thread.
  std::function<void()> on_workload_end;
  // Where the results go: packet captures are written under <results_dir>/captures/ and
  // named in the results relative to it. "" = captures are classified but not written.
  std::string results_dir;
  // Benchmarks only: marks at the end of each phase of the run (topology steps, agents'
  // start-up, workload, settle, capture...). nullptr in the product.
  PhaseLog* phases = nullptr;
};

// One run. Throws EnvironmentError when the machine cannot run cells at all (no privilege).
RunRecord record_run(const Cell& cell, const RunOptions& options, int run_number = 1);

// Every run of the cell (scenario.repeat; an interrupted run ends the series), measured.
std::vector<RunResult> run_cell(const Cell& cell, const RunOptions& options);

}  // namespace sockchaos::harness
