// Runs one cell: builds its namespaces, starts the agents, injects the faults on schedule,
// samples the socket census, and turns what happened into the results.json "run" object.
//
// Timing: every timestamp is CLOCK_MONOTONIC. A fault's time is taken right after its rule
// commit returns (or its signal is sent); the client's error time is taken by the agent right
// after the failing syscall returns. detection_ms = error - first fault, in milliseconds.
// The run loop sleeps in ppoll() until the next event, sample or scheduled action: no spin.
#pragma once
#include <atomic>
#include <functional>
#include <string>

#include "harness/model/load.hpp"

namespace sockchaos::harness {

struct RunOptions {
  std::string agent_path;                  // sockchaos-agent
  // Read end of a pipe whose write end is closed on SIGINT/SIGTERM: every waiting cell
  // wakes at once and cleans up. -1 = not cancellable.
  int cancel_fd = -1;
  // Called once per run when its workload ends (before observation), from the cell's thread.
  std::function<void()> on_workload_end;
};


json run_cell_once(const Cell& cell, const RunOptions& options);

// All runs of a cell (scenario.repeat), expectations evaluated, summary of detection times.
json run_cell(const Cell& cell, const RunOptions& options);

// Which kernel mechanism ended the connection, from the errno, the syscall and the options.
std::string infer_mechanism(const std::string& error, const std::string& syscall,
                            const Scenario& scenario);

}  // namespace sockchaos::harness
