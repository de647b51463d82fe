// Up-front resource check: what the cells of a session need from the machine (open files of
// the orchestrator and of each agent, memory), against what it gives (RLIMIT_NOFILE's hard
// limit, which every sockchaos process raises its soft limit to; MemAvailable). A cell that
// cannot fit even alone is refused before anything runs (EnvironmentError: exit 3, naming the
// cell, the numbers and what to change); otherwise parallel cells are limited to what fits.
// Estimates, rounded up: the point is a clear refusal instead of EMFILE or the OOM killer
// half-way through a run, not an exact account.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/session/scheduler.hpp"

namespace sockchaos::harness {

struct CellNeeds {
  int64_t orchestrator_fds = 0;  // namespaces, census and capture sockets, pipes, pidfds
  int64_t client_fds = 0;        // in the client agent (its connections at once)
  int64_t server_fds = 0;        // in the server agent (what it holds at once; `hold` keeps all)
  int64_t memory_bytes = 0;      // packet captures held in memory + socket buffers + baseline
};
CellNeeds estimate_needs(const Cell& cell);

struct MachineLimits {
  int64_t open_files = 0;      // RLIMIT_NOFILE hard limit (soft is raised to it)
  int64_t memory_bytes = 0;    // MemAvailable
  static MachineLimits current();
};

struct ResourcePlan {
  int jobs = 1;                        // parallel cells that fit (<= the jobs asked for)
  std::vector<std::string> problems;   // one per cell that cannot run at all; empty = fine
  std::string advice;                  // what to change, when there are problems
};
ResourcePlan plan_resources(const std::vector<PlannedCell>& cells, int jobs, const MachineLimits& limits);

}  // namespace sockchaos::harness
